"""Security headers on every page, no inline code in any template, and stored files that never
render as a page of the portal.

The pages: a representative set as an anonymous visitor, a partner and a customer user, each
with the Content-Security-Policy (no 'unsafe-inline', frame-ancestors 'none'), Referrer-Policy
same-origin and a Permissions-Policy. The templates: scanned for inline <script>/<style> without
a nonce, style="" attributes and on*="" handlers. The files: a PDF opens inline without the
pages' policy (the browser's PDF viewer), an uploaded HTML page only downloads, sandboxed, as a
non-HTML type.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from deploy import check_deploy
from documents import services
from documents.models import CustomerAccess, Folder
from tests.conftest import World

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
HTML_PAGE = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"


def directives(response: Any) -> dict[str, str]:
    """The Content-Security-Policy of `response` as {directive: sources}."""
    policy = response["Content-Security-Policy"]
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_page_headers(response: Any, url: str) -> None:
    assert response.status_code == 200, url
    policy = directives(response)
    assert "unsafe-inline" not in response["Content-Security-Policy"], url
    assert "unsafe-eval" not in response["Content-Security-Policy"], url
    assert policy["default-src"] == "'self'", url
    assert policy["frame-ancestors"] == "'none'", url
    assert policy["object-src"] == "'none'", url
    assert policy["script-src"].startswith("'self'"), url
    assert policy["style-src"].startswith("'self'"), url
    assert response["Referrer-Policy"] == "same-origin", url
    assert response["X-Frame-Options"] == "DENY", url
    assert response["X-Content-Type-Options"] == "nosniff", url
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in permissions, url


@pytest.fixture
def folder(world: World) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )


@pytest.fixture
def pdf_document_id(world: World, folder: Folder) -> int:
    version = services.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[PDF], by_customer=False
    )
    return int(version.document_id)


# --- Every page carries the headers -----------------------------------------------------------


def test_anonymous_pages_carry_the_security_headers(client: Client) -> None:
    for url in (reverse("login"), reverse("password_reset"), reverse("admin:login")):
        assert_page_headers(client.get(url), url)


def test_partner_pages_carry_the_security_headers(
    world: World, login: Any, folder: Folder, pdf_document_id: int
) -> None:
    client = login(world.admin)
    collaboration = world.collaboration.pk
    urls = [
        reverse("customers:customer_list"),
        reverse("customers:customer_detail", args=[collaboration]),
        reverse("customers:customer_settings", args=[collaboration]),
        reverse("documents:partner_root", args=[collaboration]),
        reverse("documents:partner_folder", args=[collaboration, folder.pk]),
        reverse("documents:document_detail", args=[pdf_document_id]),
        reverse("signing:partner_list", args=[collaboration]),
        reverse("partners:settings"),
        reverse("partners:staff_list"),
        reverse("billing:storage"),
        reverse("notifications:inbox"),
        reverse("profile"),
        reverse("password_change"),
    ]
    for url in urls:
        assert_page_headers(client.get(url), url)


def test_customer_pages_carry_the_security_headers(
    world: World, login: Any, folder: Folder, pdf_document_id: int
) -> None:
    client = login(world.primary)
    collaboration = world.collaboration.pk
    urls = [
        reverse("customers:collaboration_list"),
        reverse("customers:org_users"),
        reverse("documents:customer_root", args=[collaboration]),
        reverse("documents:customer_folder", args=[collaboration, folder.pk]),
        reverse("documents:document_detail", args=[pdf_document_id]),
        reverse("notifications:inbox"),
        reverse("profile"),
    ]
    for url in urls:
        assert_page_headers(client.get(url), url)


def test_a_refusal_page_carries_the_headers_too(world: World, login: Any) -> None:
    response = login(world.outsider).get(reverse("customers:customer_detail", args=[world.collaboration.pk]))
    assert response.status_code == 404
    assert directives(response)["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_a_nonce_used_by_a_page_is_in_its_policy(rf: Any) -> None:
    """A tag that must be inline carries request.csp_nonce; the policy then allows that nonce only."""
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse

    request = rf.get("/")
    middleware = CSPMiddleware(lambda request: HttpResponse())
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    response = middleware.process_response(request, HttpResponse())
    assert f"'nonce-{nonce}'" in directives(response)["script-src"]
    assert f"'nonce-{nonce}'" in directives(response)["style-src"]


def test_hsts_and_secure_cookies_follow_the_production_variables(settings: Any, client: Client) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = client.get(reverse("login"))
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    secure = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


# --- No inline code in any template -------------------------------------------------------------


def page_templates() -> list[Path]:
    """Every page template of the portal (emails are not pages: mail clients need inline styles)."""
    found = list((BASE_DIR / "templates").rglob("*.html"))
    for app in ("portal", "partners", "customers", "documents", "signing", "billing", "notifications"):
        found += (BASE_DIR / app / "templates").rglob("*.html")
    return [path for path in found if "emails" not in path.relative_to(BASE_DIR).parts]


INLINE_CODE = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.I), "inline <script> without a nonce"),
    (re.compile(r"<style\b(?![^>]*\bnonce=)[^>]*>", re.I), "<style> without a nonce"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\shx-on", re.I), "hx-on attribute (needs eval)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_page_template_has_inline_code() -> None:
    templates = page_templates()
    assert len(templates) > 40  # the scan really reads the portal's templates
    problems = [
        f"{path.relative_to(BASE_DIR)}: {what}: {match.group(0)!r}"
        for path in templates
        for pattern, what in INLINE_CODE
        for match in pattern.finditer(path.read_text())
    ]
    assert problems == []


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        '<div style="margin:0">',
        '<button onclick="go()">',
        "<style>p{}</style>",
        '<a hx-on:click="x">',
    ],
)
def test_the_template_scan_finds_inline_code(snippet: str) -> None:
    assert any(pattern.search(snippet) for pattern, _what in INLINE_CODE)


@pytest.mark.parametrize(
    "snippet",
    [
        "<script src=\"{% static 'js/upload.js' %}\" defer></script>",
        '<script nonce="{{ request.csp_nonce }}">init()</script>',
        '<div class="actions flush">',
    ],
)
def test_the_template_scan_allows_scripts_from_files_and_nonces(snippet: str) -> None:
    assert not any(pattern.search(snippet) for pattern, _what in INLINE_CODE)


# --- Stored files never render as a page of the portal ------------------------------------------


def test_a_pdf_opens_inline_sandboxed_without_the_pages_policy(
    world: World, login: Any, pdf_document_id: int
) -> None:
    """A PDF runs in a sandbox (no scripts, no access to the portal's origin) but not under the
    pages' default-src/object-src, which the browser's viewer would trip on. The file keeps
    nosniff, no-store and X-Frame-Options."""
    url = reverse("documents:document_download", args=[pdf_document_id]) + "?inline=1"
    response = login(world.customer_user).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert b"".join(response.streaming_content) == PDF


def test_an_uploaded_html_page_only_downloads_sandboxed_as_non_html(
    world: World, login: Any, folder: Folder
) -> None:
    client = login(world.customer_user)
    upload = client.post(
        reverse("documents:upload", args=[folder.pk]),
        data=HTML_PAGE,
        content_type="application/octet-stream",
        headers={"X-File-Name": quote("sida.html", safe="")},
    )
    assert upload.status_code == 201
    document = folder.documents.get(name="sida.html")
    response = client.get(reverse("documents:document_download", args=[document.pk]) + "?inline=1")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "html" not in response["Content-Type"]
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = directives(response)
    # The file's own policy, not replaced by the pages' one: no scripts, an opaque origin.
    assert "sandbox" in policy
    assert policy["default-src"] == "'none'"
    assert b"".join(response.streaming_content) == HTML_PAGE


@pytest.mark.parametrize(
    ("content_type", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("application/zip", "application/zip"),
    ],
)
def test_active_types_are_served_as_opaque_downloads(content_type: str, served: str) -> None:
    from documents.delivery import _served_type

    assert _served_type(content_type) == served


# --- check --deploy with the README's production variables, as make test runs it ----------------


def test_check_deploy_passes_at_fail_level_warning_with_the_readme_variables() -> None:
    result = subprocess.run(
        [sys.executable, "deploy/check_deploy.py"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output


def test_check_deploy_fails_on_a_deployment_warning(tmp_path: Path) -> None:
    """The same run without HSTS on subdomains: the warning fails it (the level is WARNING)."""
    env = check_deploy.production_env(tmp_path)
    assert env["PORTAL_DEBUG"] == "false"
    env["PORTAL_HSTS_INCLUDE_SUBDOMAINS"] = "false"
    result = subprocess.run(
        [sys.executable, *check_deploy.COMMAND],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode != 0
    assert "security.W005" in result.stderr
