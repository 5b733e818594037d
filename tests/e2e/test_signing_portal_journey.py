"""The signed document in the portal, in a real browser: the firm sends a PDF from its own folder
(no customer access) to Karin, a user of the customer, and to Erik, who has no account, both
signing by email code; each signs by the personal link from the email in a browser of their own.
Karin then logs in and finds it under Samarbeten > the firm > Signings, opens its page and
downloads the sealed PDF (the stored sealed bytes); the folder itself stays out of her reach. Erik
downloads it by the link in his completion email, and that link answers 410 once 30 days have
passed (the request's finished_at moved back 31 days), while Karin still has it in the portal.

The request is sent by the service (the wizard's own journey is test_signing_journey.py). Everyone
uses English. Screenshots: test-artifacts/screenshots/signing-portal-NN-*.png; the list and the
page at desktop and phone widths, where nothing may scroll sideways.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Error, Page, expect

from documents import services as documents
from documents.models import CustomerAccess
from documents.storage import document_storage
from signing import selectors, services
from signing.models import SigningRequest, Status
from signing.services import PartyInput
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.e2e.test_documents_journey import _log_in as log_in
from tests.e2e.test_signing_journey import (
    DESKTOP,
    MESSAGE,
    PARTNER_NAME,
    PDF_NAME,
    PHONE,
    SEALED_NAME,
    _emails_to,
    _personal_link,
    _seed,
    _sign_as,
    _two_page_pdf,
)

pytestmark = [pytest.mark.e2e]

ERIK = "erik@extern.example"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "signing-portal-")


def _completion_to(address: str) -> Any:
    sent = _emails_to(address, lambda s: s == f"Signed by everyone: {PDF_NAME}")
    assert len(sent) == 1, f"{len(sent)} completion emails to {address}"
    return sent[0]


def _download(page: Page, start: Any) -> bytes:
    """What the browser saves when `start()` leads to a download."""
    with page.expect_download() as info:
        try:
            start()
        except Error as error:  # page.goto to a file that downloads ends the navigation so
            if "Download is starting" not in str(error):
                raise
    path = info.value.path()
    assert info.value.suggested_filename == SEALED_NAME
    return Path(path).read_bytes()


def _both_widths(page: Page, shots: Shots, name: str) -> None:
    shots.take(page, name)
    page.set_viewport_size(PHONE)
    page.reload()
    shots.take(page, f"{name}-phone")
    assert no_horizontal_scroll(page), f"{name} scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)
    page.reload()


def test_karin_downloads_the_sealed_pdf_from_signeringar_and_the_outside_party_by_the_email_link(
    page: Page,
    browser: Browser,
    live_server: Any,
    transactional_db: None,
    settings: Any,
    tmp_path: Path,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    settings.PORTAL_BASE_URL = live_server.url
    settings.NOTIFICATION_BATCH_SECONDS = 0
    base = live_server.url
    staff, collaboration, karin, _olle, _shared = _seed(settings, tmp_path)
    internal = documents.folder_create(
        collaboration=collaboration, actor=staff, name="Internt 2026", customer_access=CustomerAccess.NONE
    )
    version = documents.document_upload(
        folder=internal, actor=staff, name=PDF_NAME, chunks=[_two_page_pdf()], by_customer=False
    )
    mail.outbox.clear()

    # --- The firm sends it to Karin and Erik, both at once, by email code --------------------------
    signing = services.signing_send(
        collaboration=collaboration,
        actor=staff,
        document=version.document,
        parties=[PartyInput("Karin Lund", karin.email), PartyInput("Erik Extern", ERIK)],
        deadline=timezone.now() + dt.timedelta(days=14),
        language="en",
        message=MESSAGE,
    )
    karin_link = _personal_link(karin.email, base)
    erik_link = _personal_link(ERIK, base)
    list_path = reverse("signing:customer_list", args=[collaboration.pk])
    detail_path = reverse("signing:customer_detail", args=[collaboration.pk, signing.pk])

    # --- Karin logs in: Collaborations > the firm > Signings, while it waits on both ---------------
    page.set_viewport_size(DESKTOP)
    log_in(page, base, karin.email)
    expect(page).to_have_url(base + reverse("customers:collaboration_list"))
    page.get_by_role("link", name=re.compile(re.escape(PARTNER_NAME))).click()
    expect(page).to_have_url(base + reverse("documents:customer_root", args=[collaboration.pk]))
    # The firm's own folder is not hers to see.
    expect(page.get_by_role("main")).not_to_contain_text("Internt 2026")
    page.get_by_role("navigation", name="Partner").get_by_role("link", name="Signings").click()
    expect(page).to_have_url(base + list_path)
    expect(page.get_by_role("heading", level=1)).to_have_text(PARTNER_NAME)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=PDF_NAME, exact=True))
    expect(row).to_contain_text("Waiting for signatures")
    expect(row).to_contain_text("Waiting for Karin Lund, Erik Extern")
    expect(row).to_contain_text(timezone.localtime(signing.deadline).strftime("%m/%d/%Y"))
    expect(row.get_by_role("link", name=f"Sign now {PDF_NAME}")).to_be_visible()
    shots.take(page, "karin-signings-pending")

    # --- Each signs by the link in the email, in a browser of their own, not logged in ------------
    for who, link, address in (("karin", karin_link, karin.email), ("erik", erik_link, ERIK)):
        context = browser.new_context(viewport=DESKTOP)
        try:
            _sign_as(context, link, who, address, shots, browser_errors)
        finally:
            context.close()
    signing.refresh_from_db()
    assert signing.status == Status.COMPLETED and signing.sealed_version is not None
    assert signing.sealed_version.document.folder_id == internal.pk
    with document_storage().open(signing.sealed_version.storage_key, "rb") as handle:
        sealed = bytes(handle.read())
    assert sealed.startswith(b"%PDF")

    # --- The completion emails: attached, by link, and for Karin the portal page too ----------------
    karin_mail, erik_mail = _completion_to(karin.email), _completion_to(ERIK)
    for message in (karin_mail, erik_mail):
        assert [(name, data) for name, data, _type in message.attachments] == [(SEALED_NAME, sealed)]
    assert f"{base}{detail_path}" in str(karin_mail.body)
    assert "/collaborations/" not in str(erik_mail.body)
    match = re.search(rf"{re.escape(base)}/sign/[0-9a-f]+/signed\.pdf", str(erik_mail.body))
    assert match, erik_mail.body
    erik_sealed_link = match.group(0)

    # --- Karin's Signings: signed, the sealed PDF to download ----------------------------------------
    page.reload()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=PDF_NAME, exact=True))
    expect(row).to_contain_text("Signed")
    expect(row).to_contain_text("2 of 2 signed")
    expect(row.get_by_role("link", name=f"Download PDF {PDF_NAME}")).to_be_visible()
    _both_widths(page, shots, "karin-signings")

    # The filter: nothing declined; everything again.
    page.get_by_role("navigation", name="Show signings").get_by_role("link", name="Declined").click()
    expect(page).to_have_url(base + list_path + "?status=declined")
    expect(page.get_by_role("main")).to_contain_text("No signings with this status.")
    page.get_by_role("navigation", name="Show signings").get_by_role("link", name="All").click()

    page.get_by_role("link", name=PDF_NAME, exact=True).click()
    expect(page).to_have_url(base + detail_path)
    expect(page.get_by_role("heading", name=PDF_NAME)).to_contain_text("Signed")
    parties = page.locator("section[aria-labelledby=parties-h] tbody tr")
    expect(parties).to_have_count(2)
    expect(parties.filter(has_text="Karin Lund")).to_contain_text("Signed")
    expect(parties.filter(has_text="Erik Extern")).to_contain_text("Signed")
    expect(page.locator("ol.timeline")).to_contain_text("Everyone has signed")
    expect(page.locator("ol.timeline")).to_contain_text("The sealed PDF was stored")
    _both_widths(page, shots, "karin-signing")

    download = page.get_by_role("link", name="Download the signed PDF")
    assert _download(page, download.click) == sealed

    # --- Erik: the link in his email, in a browser of his own --------------------------------------
    erik = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    try:
        erik_page = erik.new_page()
        assert _download(erik_page, lambda: erik_page.goto(erik_sealed_link)) == sealed

        # --- 31 days later: the link is gone, the portal keeps it ----------------------------------
        SigningRequest.objects.filter(pk=signing.pk).update(
            finished_at=timezone.now() - dt.timedelta(days=selectors.SEALED_DAYS + 1)
        )
        response = erik_page.goto(erik_sealed_link)
        assert response is not None and response.status == 410
        expect(erik_page.get_by_role("main")).to_contain_text("no longer available by this link")
        shots.take(erik_page, "erik-link-gone")
    finally:
        erik.close()
    page.reload()
    assert _download(page, page.get_by_role("link", name="Download the signed PDF").click) == sealed

    assert browser_errors == []
