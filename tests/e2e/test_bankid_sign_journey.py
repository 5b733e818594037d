"""A party signs with BankID in a real browser, on a phone-sized screen: Karin opens her signing
link, chooses BankID on another device, the QR code changes every second, she approves in the
simulator (standing in for the BankID app) in a second tab, and the signing page moves on by
itself to the done page; the request completes and is sealed. No console errors (the page's
script is a static file under the CSP), no sideways scrolling at 390 px.

Screenshots: test-artifacts/screenshots/bankid-sign-* (and bankid-sign-device-*).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from documents.models import Document
from documents.storage import document_storage
from portal import pdfium
from portal.bankid.simulator import SimulatorServer
from signing import selectors, services
from signing.models import Method, Party, SigningRequest, Status
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll, watch_errors
from tests.e2e.test_bankid_login_journey import KARIN, PHONE, approve_in_app, assert_qr_changes_each_second
from tests.e2e.test_bankid_login_journey import sim as sim  # the simulator fixture
from tests.e2e.test_signing_journey import _seed

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "bankid-sign-")


@pytest.fixture
def device_shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "bankid-sign-device-")


def karin_s_signing(settings: Any, tmp_path: Path) -> SigningRequest:
    """Karin's signing of the folder's PDF with BankID, in English."""
    staff, collaboration, karin, _olle, folder = _seed(settings, tmp_path)
    return services.signing_send(
        collaboration=collaboration,
        actor=staff,
        document=Document.objects.get(folder=folder),
        parties=[services.PartyInput(karin.name, karin.email, method=Method.BANKID, personnummer=KARIN)],
        deadline=timezone.now() + dt.timedelta(days=7),
        language="en",
    )


def on_phone(page: Page, link: str, errors: list[str]) -> Page:
    watch_errors(page, errors)
    page.goto(link)
    return page


def test_karin_signs_with_bankid_on_another_device(
    browser: Browser,
    live_server: Any,
    transactional_db: None,
    sim: SimulatorServer,
    settings: Any,
    tmp_path: Path,
    shots: Shots,
) -> None:
    signing = karin_s_signing(settings, tmp_path)
    party = Party.objects.get(request=signing)
    link = f"{live_server.url}/sign/{selectors.party_token(party)}/"

    errors: list[str] = []
    context = browser.new_context(viewport=PHONE)
    page = on_phone(context.new_page(), link, errors)
    expect(page.get_by_role("button", name="BankID on another device", exact=True)).to_be_visible()
    expect(page.get_by_label("Code from the email")).to_have_count(0)
    assert no_horizontal_scroll(page)
    shots.take(page, "choice")
    page.get_by_role("button", name="BankID on another device", exact=True).click()
    page.wait_for_load_state()
    assert_qr_changes_each_second(page)
    assert no_horizontal_scroll(page)
    shots.take(page, "qr")
    approve_in_app(page, sim, errors, shots)

    # Back on the signing tab, nobody touches anything: it moves on to the done page.
    expect(page.get_by_text("Thank you: you have signed.")).to_be_visible(timeout=20_000)
    assert page.url == link
    assert no_horizontal_scroll(page)
    shots.take(page, "done")
    signing = SigningRequest.objects.get(pk=signing.pk)
    assert signing.status == Status.COMPLETED
    deadline = time.monotonic() + 20
    while signing.sealed_version_id is None and time.monotonic() < deadline:
        time.sleep(0.5)
        signing.refresh_from_db()
    assert signing.sealed_version_id is not None
    party.refresh_from_db()
    assert party.bankid_evidence["user"]["personalNumber"] == KARIN
    # The sealed PDF's audit trail page shows the BankID evidence, the number only to the birth date.
    assert signing.sealed_version is not None
    with document_storage().open(signing.sealed_version.storage_key, "rb") as handle:
        sealed = handle.read()
    reader = PdfReader(io.BytesIO(sealed))
    audit = reader.pages[-1].extract_text()
    assert "BankID" in audit and "19850312-XXXX" in audit and KARIN not in audit
    picture = pdfium.render_page(io.BytesIO(sealed), page_index=len(reader.pages) - 1, width=900)
    picture.save(shots.directory / f"{shots.prefix}90-sealed-audit-page.png")
    context.close()
    assert errors == []


def test_bankid_on_this_device_link(
    browser: Browser,
    live_server: Any,
    transactional_db: None,
    sim: SimulatorServer,
    settings: Any,
    tmp_path: Path,
    device_shots: Shots,
) -> None:
    shots = device_shots
    signing = karin_s_signing(settings, tmp_path)
    link = f"{live_server.url}/sign/{selectors.party_token(Party.objects.get(request=signing))}/"
    errors: list[str] = []
    context = browser.new_context(viewport=PHONE)
    page = on_phone(context.new_page(), link, errors)
    page.get_by_role("button", name="BankID on this device", exact=True).click()
    page.wait_for_load_state()
    autostart = page.locator("a[href^='bankid:///?autostarttoken=']")
    expect(autostart).to_be_visible()
    assert (autostart.get_attribute("href") or "").endswith("&redirect=null")
    assert no_horizontal_scroll(page)
    shots.take(page, "this-device")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_load_state()
    expect(page.get_by_role("button", name="BankID on another device", exact=True)).to_be_visible()
    assert re.search(r"/sign/[^/]+/$", page.url)
    # Declining on the phone itself: the reason, then BankID on this device.
    page.get_by_label(re.compile("Or decline")).fill("Fel belopp")
    assert no_horizontal_scroll(page)
    shots.take(page, "decline")
    page.get_by_role("button", name="Decline with BankID on this device").click()
    page.wait_for_load_state()
    expect(page.get_by_text("To decline, confirm with BankID.")).to_be_visible()
    expect(page.locator("a[href^='bankid:///?autostarttoken=']")).to_be_visible()
    shots.take(page, "decline-wait")
    context.close()
    assert errors == []
