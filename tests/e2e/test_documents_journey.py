"""The documents journey in a real browser: a partner admin creates a folder shared read-only with
one selected customer user and uploads a PDF through the page's uploader; that user finds the
folder under Samarbeten and downloads the same bytes; another user of the same customer does not
see the folder, and its address is a 404 for them.

Every page visited is saved as a full-page screenshot test-artifacts/screenshots/docs-NN-*.png.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Error, Page, ViewportSize, expect
from pypdf import PdfWriter

from customers.models import Collaboration
from documents.models import Audience, CustomerAccess, Document, Folder, FolderUserObjectPermission
from partners.models import PartnerMembership, PartnerRole
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.factories import (
    PASSWORD,
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerMembershipFactory,
)

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PARTNER_NAME = "Ekonomibyrån Norrsken AB"
CUSTOMER_NAME = "Fjällstugan Snickeri AB"
FOLDER_NAME = "Bokslut 2026"
PDF_NAME = "Årsbesked 2026.pdf"
SELECTED_NAME = "Olle Ek"
OTHER_NAME = "Maja Berg"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "docs-")


@dataclass
class BrowserErrors:
    """Console errors and uncaught exceptions; a 404 the test asks for on purpose is expected."""

    errors: list[str] = field(default_factory=list)
    expected_404_urls: set[str] = field(default_factory=set)

    def unexpected(self) -> list[str]:
        return [
            e
            for e in self.errors
            if not ("status of 404" in e and any(e.endswith(f"({url})") for url in self.expected_404_urls))
        ]


@pytest.fixture
def browser_errors(page: Page) -> Iterator[BrowserErrors]:
    found = BrowserErrors()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_page_error(error: Error) -> None:
        found.errors.append(f"pageerror: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield found


def _blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # A4 in points
    writer.add_metadata({"/Title": "Årsbesked 2026"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def _log_out(page: Page, shots: Shots, who: str) -> None:
    page.locator("details.menu summary").click()
    expect(page.locator("details.menu .menu-panel")).to_be_visible()
    shots.take(page, f"{who}-user-menu")
    page.locator("details.menu .menu-panel form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def _check_phone_layout(page: Page, shots: Shots, name: str) -> None:
    page.set_viewport_size(PHONE)
    page.reload()
    shots.take(page, f"{name}-phone")
    assert no_horizontal_scroll(page), f"{name} scrolls sideways at 390 px"
    page.set_viewport_size(DESKTOP)
    page.reload()


def test_partner_shares_a_folder_with_one_customer_user_who_downloads_the_pdf(
    page: Page,
    live_server: Any,
    transactional_db: None,
    settings: Any,
    tmp_path: Path,
    shots: Shots,
    browser_errors: BrowserErrors,
) -> None:
    settings.PORTAL_BASE_URL = live_server.url
    base = live_server.url
    membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name=PARTNER_NAME, role=PartnerRole.ADMIN, user__name="Anna Admin"
    )
    admin, partner = membership.user, membership.partner
    collaboration: Collaboration = CollaborationFactory.create(partner=partner, customer__name=CUSTOMER_NAME)
    CustomerMembershipFactory.create(
        customer=collaboration.customer, is_primary_contact=True, is_admin=True, user__name="Lena Lind"
    )
    selected = CustomerMembershipFactory.create(
        customer=collaboration.customer, user__name=SELECTED_NAME
    ).user
    other = CustomerMembershipFactory.create(customer=collaboration.customer, user__name=OTHER_NAME).user
    pdf = _blank_pdf()
    pdf_path = tmp_path / PDF_NAME
    pdf_path.write_bytes(pdf)
    page.set_viewport_size(DESKTOP)
    customer_root_url = base + reverse("documents:customer_root", args=[collaboration.pk])

    # --- The partner admin: Mina samarbeten -> the customer -> Documents -------------------------
    page.goto(f"{base}/accounts/login/")
    shots.take(page, "login")
    _log_in(page, base, admin.email)
    expect(page).to_have_url(f"{base}/customers/")
    page.get_by_role("navigation").get_by_role(
        "link", name=re.compile(r"^(Mina samarbeten|My collaborations)$")
    ).click()
    page.get_by_role("link", name=CUSTOMER_NAME).click()
    expect(page).to_have_url(f"{base}/customers/{collaboration.pk}/")
    shots.take(page, "partner-customer")
    page.get_by_role("navigation", name=re.compile(r"^(Kund|Customer)$")).get_by_role(
        "link", name=re.compile(r"^(Dokument|Documents)$")
    ).click()
    expect(page).to_have_url(base + reverse("documents:partner_root", args=[collaboration.pk]))
    shots.take(page, "partner-documents")

    # A new top-level folder, read-only for the one selected user, through the form.
    page.get_by_role("link", name=re.compile(r"^(Ny mapp|New folder)$")).first.click()
    expect(page).to_have_url(base + reverse("documents:partner_folder_create", args=[collaboration.pk]))
    shots.take(page, "partner-folder-new")
    page.get_by_label(re.compile(r"^(Mappnamn|Folder name)")).fill(FOLDER_NAME)
    page.locator("input[name=customer_access][value=read]").check()
    page.locator("input[name=audience][value=selected]").check()
    page.get_by_role("checkbox", name=SELECTED_NAME).check()
    shots.take(page, "partner-folder-new-filled")
    page.locator("main form button[type=submit]").last.click()
    folder_page = re.compile(rf"^{re.escape(base)}/customers/{collaboration.pk}/documents/folders/(\d+)/$")
    expect(page).to_have_url(folder_page)
    match = folder_page.match(page.url)
    assert match
    folder = Folder.objects.get(pk=int(match.group(1)))
    assert (folder.name, folder.customer_access, folder.audience) == (
        FOLDER_NAME,
        CustomerAccess.READ,
        Audience.SELECTED,
    )
    assert set(
        FolderUserObjectPermission.objects.filter(content_object=folder).values_list(
            "user_id", "permission__codename"
        )
    ) == {(selected.pk, "view_folder")}
    expect(page.get_by_role("heading", name=FOLDER_NAME, exact=True)).to_be_visible()
    shots.take(page, "partner-folder-created")

    # The folder from the documents page, as a partner finds it later.
    page.goto(base + reverse("documents:partner_root", args=[collaboration.pk]))
    shots.take(page, "partner-documents-with-folder")
    page.get_by_role("main").get_by_role("link", name=re.compile(re.escape(FOLDER_NAME))).first.click()
    expect(page).to_have_url(folder_page)
    expect(page.get_by_role("heading", name=FOLDER_NAME, exact=True)).to_be_visible()

    # Upload through the page's file input: upload.js posts it as the raw body and reloads the list.
    upload_url = base + reverse("documents:upload", args=[folder.pk])
    with page.expect_response(lambda r: r.url == upload_url) as upload_info:
        page.locator("form[data-uploader] input[type=file]").set_input_files(pdf_path)
    upload = upload_info.value
    # (Its body is gone once upload.js reloads the page; the row below shows what was stored.)
    assert upload.status == 201
    assert upload.request.headers.get("x-file-name"), "not sent by upload.js (no X-File-Name)"
    file_link = page.get_by_role("link", name=PDF_NAME, exact=True)
    expect(file_link).to_be_visible(timeout=15_000)
    document = Document.objects.get(folder=folder, deleted_at__isnull=True)
    assert document.name == PDF_NAME and document.uploaded_by_customer is False
    assert document.current_version is not None and document.current_version.size == len(pdf)
    assert document.current_version.content_type == "application/pdf"
    shots.take(page, "partner-folder-uploaded")
    _check_phone_layout(page, shots, "partner-folder")
    _log_out(page, shots, "partner")
    shots.take(page, "partner-logged-out")

    # --- The selected customer user: Samarbeten -> the partner -> the folder ---------------------
    _log_in(page, base, selected.email)
    expect(page).to_have_url(f"{base}/collaborations/")
    shots.take(page, "selected-collaborations")
    page.get_by_role("link", name=re.compile(re.escape(PARTNER_NAME))).first.click()
    # The partner's page under Samarbeten is its documents (customers:collaboration_detail sends it on).
    expect(page).to_have_url(customer_root_url)
    shots.take(page, "selected-partner")
    customer_folder_url = base + reverse("documents:customer_folder", args=[collaboration.pk, folder.pk])
    page.get_by_role("main").get_by_role("link", name=re.compile(re.escape(FOLDER_NAME))).first.click()
    expect(page).to_have_url(customer_folder_url)
    expect(page.get_by_role("heading", name=FOLDER_NAME, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=PDF_NAME, exact=True)).to_be_visible()
    # Read access: no uploader.
    expect(page.locator("form[data-uploader]")).to_have_count(0)
    shots.take(page, "selected-folder")
    _check_phone_layout(page, shots, "selected-folder")

    # The file's own page, and its download button.
    page.get_by_role("link", name=PDF_NAME, exact=True).click()
    expect(page).to_have_url(base + reverse("documents:document_detail", args=[document.pk]))
    expect(page.get_by_role("heading", level=1)).to_have_text(PDF_NAME)
    shots.take(page, "selected-document")
    with page.expect_download() as download_info:
        page.get_by_role("main").get_by_role(
            "link", name=re.compile(r"^(Ladda ned|Download)$"), exact=True
        ).click()
    download = download_info.value
    assert download.suggested_filename == PDF_NAME
    downloaded = download.path()
    assert downloaded.read_bytes() == pdf, "the downloaded file differs from the uploaded one"
    shots.take(page, "selected-after-download")
    _log_out(page, shots, "selected")

    # --- Another user of the same customer: no folder, and its address is a 404 -----------------
    _log_in(page, base, other.email)
    expect(page).to_have_url(f"{base}/collaborations/")
    page.get_by_role("link", name=re.compile(re.escape(PARTNER_NAME))).first.click()
    expect(page).to_have_url(customer_root_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(PARTNER_NAME)
    expect(page.get_by_text(FOLDER_NAME)).to_have_count(0)
    shots.take(page, "other-partner")
    browser_errors.expected_404_urls.add(customer_folder_url)
    response = page.goto(customer_folder_url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^(Sidan finns inte|Page not found)$")
    )
    expect(page.get_by_text(FOLDER_NAME)).to_have_count(0)
    expect(page.get_by_text(PDF_NAME)).to_have_count(0)
    shots.take(page, "other-folder-404")
    download_url = base + reverse("documents:document_download", args=[document.pk])
    browser_errors.expected_404_urls.add(download_url)
    response = page.goto(download_url)
    assert response is not None and response.status == 404
    _log_out(page, shots, "other")

    assert browser_errors.unexpected() == []
