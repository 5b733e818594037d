"""The Verify page in a real browser, without logging in: from the footer link to the page, a PDF
sealed by the portal uploaded and answered yes with its parties, then the same file with one byte
changed answered no; on a phone too, where nothing may scroll sideways; no console errors.

Screenshots test-artifacts/screenshots/verify-NN-*.png.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, ViewportSize, expect
from pypdf import PdfWriter

from signing import devkeys
from signing.sealing import AuditTrail, InputFile, PartyEvidence, build_sealed_pdf
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "verify-")


def _sealed(settings: Any, folder: Path) -> bytes:
    settings.SIGNING_SEAL_KEY_FILE = folder / "seal-key.pem"
    settings.SIGNING_SEAL_CERT_FILE = folder / "seal-cert.pem"
    settings.SIGNING_SEAL_CA_FILE = folder / "seal-ca.pem"
    devkeys.ensure_dev_sealing_key()
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    blank = io.BytesIO()
    writer.write(blank)
    parties = [
        PartyEvidence("Karin Lindqvist", "karin@example.se", "signer", "bankid", T0 + timedelta(hours=1),
                      "signed", "192.0.2.1", "Firefox"),
        PartyEvidence("Östen Ågren", "osten@example.se", "signer", "email_code", T0 + timedelta(hours=3),
                      "signed", "192.0.2.2", "Safari"),
    ]  # fmt: skip
    audit = AuditTrail(
        "Uppdragsavtal 2026", "SR-4711", "sv", "Anna Admin", T0, T0 + timedelta(hours=3), parties, []
    )
    return build_sealed_pdf(
        inputs=[InputFile("Uppdragsavtal 2026.pdf", blank.getvalue())],
        audit=audit,
        key=devkeys.load_sealing_key(),
    )


def _upload(page: Page, name: str, data: bytes) -> None:
    payload: FilePayload = {"name": name, "mimeType": "application/pdf", "buffer": data}
    page.get_by_label("PDF file").set_input_files(payload)
    page.get_by_role("button", name="Verify", exact=True).press("Enter")  # the keyboard works
    page.wait_for_load_state()


def test_anyone_verifies_a_sealed_pdf_and_a_changed_copy(
    page: Page, live_server: Any, transactional_db: None, settings: Any, tmp_path: Path, shots: Shots,
    browser_errors: list[str],
) -> None:  # fmt: skip
    sealed = _sealed(settings, tmp_path)
    at = sealed.index(b"/Title") + 8
    changed = sealed[:at] + bytes([sealed[at] ^ 1]) + sealed[at + 1 :]

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Verify a signed PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify a signed PDF")
    shots.take(page, "form")

    _upload(page, "Uppdragsavtal 2026 (signed).pdf", sealed)
    verdict = page.locator("#verdict")
    expect(verdict.get_by_role("heading", level=2)).to_contain_text(
        "Yes: sealed by Partner portal and unchanged"
    )
    expect(verdict).to_contain_text("Karin Lindqvist")
    expect(verdict).to_contain_text("Östen Ågren")
    expect(verdict).to_contain_text("BankID")
    expect(verdict).to_contain_text("SR-4711")
    shots.take(page, "intact")

    _upload(page, "Uppdragsavtal 2026 (edited).pdf", changed)
    expect(page.locator("#verdict h2")).to_contain_text("No: the file has been changed after it was sealed")
    expect(page.locator("#verdict")).not_to_contain_text("Karin Lindqvist")
    shots.take(page, "changed")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/verify/")
    assert no_horizontal_scroll(page)
    shots.take(page, "phone-form")
    _upload(page, "Uppdragsavtal 2026 (signed).pdf", sealed)
    expect(page.locator("#verdict h2")).to_contain_text("Yes: sealed by Partner portal and unchanged")
    assert no_horizontal_scroll(page)
    shots.take(page, "phone-intact")
    _upload(page, "Uppdragsavtal 2026 (edited).pdf", changed)
    assert no_horizontal_scroll(page)
    shots.take(page, "phone-changed")
    assert browser_errors == []
