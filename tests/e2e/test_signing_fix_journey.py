"""Fixing a sent signing in a real browser: Sara sends the engagement letter to Karin at a mistyped
address (karin@fjallstugan.exmaple), sees it on the signing's page and corrects the address there.
The link sent to the wrong address now answers 410 with a page saying it was replaced; the right
address receives a new link, and Karin signs with the code from her email. The signing's history
and the sealed PDF's audit trail page both show the change.

Screenshots: test-artifacts/screenshots/signing-fix-* (the signing page with its fix forms at
desktop and phone width, where nothing may scroll sideways).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from documents.models import Document
from documents.storage import document_storage
from portal import pdfium
from signing import services
from signing.models import Party, SigningRequest, Status
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll, watch_errors
from tests.e2e.test_signing_journey import (
    DESKTOP,
    MESSAGE,
    PDF_NAME,
    PHONE,
    _log_in,
    _personal_link,
    _seed,
    _sign_as,
)

pytestmark = [pytest.mark.e2e]

MISTYPED = "karin@fjallstugan.exmaple"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "signing-fix-")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_sender_corrects_a_mistyped_address_and_karin_signs_with_the_new_link(
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
    staff, collaboration, karin, _olle, folder = _seed(settings, tmp_path)
    mail.outbox.clear()
    signing = services.signing_send(
        collaboration=collaboration,
        actor=staff,
        document=Document.objects.get(folder=folder, name=PDF_NAME),
        parties=[services.PartyInput(karin.name, MISTYPED)],
        deadline=timezone.now() + dt.timedelta(days=14),
        language="en",
        message=MESSAGE,
    )
    wrong_link = _personal_link(MISTYPED, base)
    detail_url = base + reverse("signing:partner_detail", args=[collaboration.pk, signing.pk])

    # --- Sara, on the signing's page: the fix forms --------------------------------------------------
    page.set_viewport_size(DESKTOP)
    _log_in(page, base, staff.email)
    page.goto(detail_url)
    parties = page.locator("section[aria-labelledby=parties-h]")
    expect(parties).to_contain_text(MISTYPED)
    expect(parties.get_by_role("button", name="Remind now")).to_be_visible()
    expect(parties.get_by_text("Add a party")).to_be_visible()
    expect(page.get_by_text("Extend the deadline").first).to_be_visible()
    shots.take(page, "signing-page")
    change = parties.locator("details", has_text=f"Change the name or email of {karin.name}")
    change.locator("summary").click()
    email = change.get_by_label("Email")
    expect(email).to_have_value(MISTYPED)
    email.fill(karin.email)
    shots.take(page, "change-form")
    page.set_viewport_size(PHONE)
    parties.get_by_text("Add a party").click()  # every fix form open at once, at 375 px
    page.locator("details.fix summary", has_text="Extend the deadline").click()
    shots.take(page, "change-form-phone")
    assert no_horizontal_scroll(page), "the signing page with its fix forms scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)

    change.get_by_role("button", name="Save the change").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"{karin.name} was changed and sent a new link at {karin.email}."
    )
    expect(parties).to_contain_text(karin.email)
    expect(parties).not_to_contain_text(MISTYPED)
    history = page.locator("section[aria-labelledby=timeline-h]")
    expect(history).to_contain_text(
        f"Sara Staff changed {karin.name} <{MISTYPED}> to {karin.name} <{karin.email}>; "
        "the old link no longer works"
    )
    shots.take(page, "changed")

    # --- The link sent to the wrong address: 410, replaced --------------------------------------------
    stranger = browser.new_context(viewport=DESKTOP)
    try:
        old_page = stranger.new_page()
        old_errors: list[str] = []
        watch_errors(old_page, old_errors)
        response = old_page.goto(wrong_link)
        assert response is not None and response.status == 410
        expect(old_page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
        expect(old_page.get_by_role("main")).to_contain_text("replaced this link with a new one")
        expect(old_page.get_by_role("button", name="Send me a code")).to_have_count(0)
        shots.take(old_page, "old-link-410")
        # The browser logs the page's own status; nothing else may go wrong on it.
        assert [e for e in old_errors if "status of 410" not in e] == []
    finally:
        stranger.close()

    # --- Karin, with the link sent to the right address -----------------------------------------------
    right_link = _personal_link(karin.email, base)
    assert right_link != wrong_link
    karin_context = browser.new_context(viewport=DESKTOP)
    try:
        _sign_as(karin_context, right_link, "karin", karin.email, shots, browser_errors)
    finally:
        karin_context.close()
    party = Party.objects.get(request=signing)
    assert (party.email, party.user_id, party.action) == (karin.email, karin.pk, "signed")

    # Completed, and sealed after the commit of her signature.
    signing = SigningRequest.objects.get(pk=signing.pk)
    assert signing.status == Status.COMPLETED
    deadline = time.monotonic() + 20
    while signing.sealed_version_id is None and time.monotonic() < deadline:
        time.sleep(0.5)
        signing.refresh_from_db()
    assert signing.sealed_version is not None

    # --- The partner's page and the sealed PDF's audit trail show the change -------------------------
    page.goto(detail_url)
    expect(page.get_by_role("heading", name=PDF_NAME)).to_contain_text("Signed")
    expect(history).to_contain_text(f"to {karin.name} <{karin.email}>")
    expect(page.get_by_text("Change the name or email of")).to_have_count(0)  # nothing to fix now
    shots.take(page, "signed")
    with document_storage().open(signing.sealed_version.storage_key, "rb") as handle:
        sealed = handle.read()
    reader = PdfReader(io.BytesIO(sealed))
    audit = _one_line(reader.pages[-1].extract_text())
    assert "Audit trail" in audit
    assert re.search(rf"Sara Staff changed {karin.name} <{re.escape(MISTYPED)}> to", audit), audit
    assert "the old link no longer works" in audit
    picture = pdfium.render_page(io.BytesIO(sealed), page_index=len(reader.pages) - 1, width=900)
    picture.save(shots.directory / f"{shots.prefix}90-sealed-audit-page.png")
    assert browser_errors == []
