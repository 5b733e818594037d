"""The Content-Security-Policy in a real browser: the portal's pages work under it without one
console error, while an inline handler or style attribute slipped into a page is refused, and
the journeys' error watcher (tests/e2e/conftest.py) reports the refusal as an error.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect
from pypdf import PdfWriter

from documents import services
from documents.models import CustomerAccess
from partners.models import PartnerRole
from tests.factories import PASSWORD, CollaborationFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]


def test_pages_work_under_the_policy_and_inline_code_is_refused(
    page: Page, live_server: Any, transactional_db: None, browser_errors: list[str]
) -> None:
    base = live_server.url
    membership = PartnerMembershipFactory.create(
        role=PartnerRole.ADMIN, user__name="Anna Admin", user__language="en"
    )
    response = page.goto(f"{base}/accounts/login/")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(membership.user.email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/customers/")
    page.goto(f"{base}/settings/storage/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert browser_errors == []  # a normal user's pages: nothing refused, nothing broken

    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
            '<button id="injected" onclick="window.injectedRan = true">x</button>'
            + '<p id="styled" style="color: rgb(255, 0, 0)">x</p>')"""
    )
    page.locator("#injected").click()
    assert page.evaluate("() => window.injectedRan === undefined")
    assert (
        page.evaluate("() => getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    )
    refusals = [error for error in browser_errors if "Content Security Policy" in error]
    assert any("inline event handler" in error for error in refusals), browser_errors
    assert any("inline style" in error for error in refusals), browser_errors


def test_a_pdf_opens_in_the_browsers_viewer_under_its_sandbox(
    page: Page, live_server: Any, transactional_db: None, browser_errors: list[str], screenshot_dir: Path
) -> None:
    """The inline PDF is sent with `Content-Security-Policy: sandbox`, and Chromium's viewer still
    shows it (a sandboxed frame would be refused; a sandboxed top-level document is not).
    Chromium keeps a PDF's policy from its viewer, so the sandbox guards other browsers."""
    membership = PartnerMembershipFactory.create(role=PartnerRole.ADMIN, user__language="en")
    collaboration = CollaborationFactory.create(partner=membership.partner)
    folder = services.folder_create(
        collaboration=collaboration,
        actor=membership.user,
        name="Bokslut",
        customer_access=CustomerAccess.READ,
    )
    version = services.document_upload(
        folder=folder, actor=membership.user, name="Avtal.pdf", chunks=[_pdf()], by_customer=False
    )
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(membership.user.email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/customers/")

    url = f"{base}{reverse('documents:document_download', args=[version.document_id])}?inline=1"
    # What the portal sends (Chromium hands a PDF's headers to its viewer, not to the page).
    sent = page.request.get(url)
    assert sent.status == 200
    assert sent.headers["content-security-policy"] == "sandbox"
    assert sent.headers["content-type"] == "application/pdf"
    assert sent.headers["content-disposition"].startswith("inline;")
    response = page.goto(url)
    assert response is not None and response.status == 200
    # The viewer is an extension frame inside the document; a refused viewer shows an error page.
    assert _wait_for_viewer(page), [frame.url for frame in page.frames]
    viewer = next(frame for frame in page.frames if frame.url.startswith("chrome-extension://"))
    # The viewer has laid out the document's one page (its toolbar counts the pages).
    expect(viewer.get_by_role("textbox", name="Page number")).to_have_value("1", timeout=10_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshot_dir / "csp-pdf-sandboxed-viewer.png"))
    assert browser_errors == []


def _wait_for_viewer(page: Page) -> bool:
    for _ in range(50):
        if any(frame.url.startswith("chrome-extension://") for frame in page.frames):
            return True
        page.wait_for_timeout(100)
    return False


def _pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
