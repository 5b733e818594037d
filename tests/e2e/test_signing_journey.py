"""The e-signing journey in a real browser: a staff member of the firm ticks a two-page PDF in a
folder shared with the customer, sends it for e-signing to Karin (first) and Olle (second) through
the wizard and its review; Karin opens her personal link from the email in a browser of her own
(not logged in), asks for a code, types it and signs; only then does Olle get his link, and he does
the same. His signature completes the request: the sealed PDF "… (signed).pdf" lands in the folder,
its seal validates against the CA, and both parties get it by email. My collaborations shows
"1 waiting" for the customer while the request is pending, and nothing once it is signed.

Everyone uses the portal in English, and the request is sent in English. Every page visited is
saved as a full-page screenshot test-artifacts/screenshots/signing-NN-*.png; the wizard and the
signing page also at 375 px, where nothing may scroll sideways.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from guardian.shortcuts import assign_perm
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from pypdf import PdfReader, PdfWriter

from billing import services as billing
from customers.models import Collaboration
from customers.services import WORK_WITH_CUSTOMER
from documents import services as documents
from documents.models import Audience, CustomerAccess, Document, DocumentSource, Folder
from documents.storage import document_storage
from partners.models import Partner, PartnerRole
from portal.models import User
from signing import devkeys, sealing
from signing.models import Party, SigningRequest, Status
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll, watch_errors
from tests.factories import (
    PASSWORD,
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerMembershipFactory,
)

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PARTNER_NAME = "Ekonomibyrån Norrsken AB"
CUSTOMER_NAME = "Fjällstugan Snickeri AB"
FOLDER_NAME = "Avtal 2026"
PDF_NAME = "Uppdragsavtal 2026.pdf"
SEALED_NAME = "Uppdragsavtal 2026 (signed).pdf"
MESSAGE = "Hello! Here is our engagement letter for 2026.\nPlease sign it before the end of the month."
GRANTED = 5


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "signing-")


def _two_page_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "Uppdragsavtal 2026"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _emails_to(address: str, subject: Callable[[str], bool] = lambda s: True) -> list[Any]:
    return [m for m in mail.outbox if m.to == [address] and subject(str(m.subject))]


def _requests_to(address: str) -> list[Any]:
    return _emails_to(address, lambda s: "asks you to sign" in s)


def _personal_link(address: str, base: str) -> str:
    sent = _requests_to(address)
    assert len(sent) == 1, f"expected one signing request to {address}, got {len(sent)}"
    match = re.search(rf"{re.escape(base)}/sign/[0-9a-f]+/", str(sent[0].body))
    assert match, f"no absolute personal link in the email to {address}:\n{sent[0].body}"
    return match.group(0)


def _newest_code(address: str) -> str:
    codes = _emails_to(address, lambda s: s.startswith("Your signing code"))
    assert codes, f"no code emailed to {address}"
    match = re.search(r"is (\d{6})\.", str(codes[-1].body))
    assert match, codes[-1].body
    return match.group(1)


def _seed(settings: Any, tmp_path: Path) -> tuple[User, Collaboration, User, User, Folder]:
    """The firm (an account admin and a staff member assigned to the customer), the customer with
    Karin (primary contact) and Olle, a folder shared with both holding the PDF, five signatures,
    and a development sealing key in tmp_path."""
    admin = PartnerMembershipFactory.create(
        partner__name=PARTNER_NAME, role=PartnerRole.ADMIN, user__name="Anna Admin", user__language="en"
    ).user
    partner = Partner.objects.get(name=PARTNER_NAME)
    staff = PartnerMembershipFactory.create(
        partner=partner, role=PartnerRole.STAFF, user__name="Sara Staff", user__language="en"
    ).user
    collaboration: Collaboration = CollaborationFactory.create(partner=partner, customer__name=CUSTOMER_NAME)
    assign_perm(WORK_WITH_CUSTOMER, staff, collaboration)
    karin = CustomerMembershipFactory.create(
        customer=collaboration.customer,
        is_primary_contact=True,
        is_admin=True,
        user__name="Karin Lund",
        user__email="karin@fjallstugan.example",
        user__language="en",
    ).user
    olle = CustomerMembershipFactory.create(
        customer=collaboration.customer,
        user__name="Olle Ek",
        user__email="olle@fjallstugan.example",
        user__language="en",
    ).user
    folder = documents.folder_create(
        collaboration=collaboration,
        actor=admin,
        name=FOLDER_NAME,
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )
    documents.document_upload(
        folder=folder, actor=admin, name=PDF_NAME, chunks=[_two_page_pdf()], by_customer=False
    )
    billing.signature_grant(partner=partner, amount=GRANTED, reason="Welcome: free signatures to start with")
    seal_dir = tmp_path / "seal"
    settings.SIGNING_SEAL_KEY_FILE = seal_dir / "seal-key.pem"
    settings.SIGNING_SEAL_CERT_FILE = seal_dir / "seal-cert.pem"
    settings.SIGNING_SEAL_CA_FILE = seal_dir / "seal-ca.pem"
    settings.SIGNING_SEAL_KEY_PASSPHRASE = ""
    assert devkeys.ensure_dev_sealing_key()
    return staff, collaboration, karin, olle, folder


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/customers/")


def _attention_cell(page: Page) -> Any:
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=CUSTOMER_NAME, exact=True))
    return row.locator("td[data-label=Signings]")


def _sign_as(
    context: BrowserContext,
    link: str,
    who: str,
    address: str,
    shots: Shots,
    errors: list[str],
    *,
    phone_check: bool = False,
) -> Page:
    """Open the personal link, ask for a code, type it from the newest email, and sign."""
    page = context.new_page()
    watch_errors(page, errors)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(PDF_NAME)
    expect(page.get_by_text(f"From Sara Staff at {PARTNER_NAME}")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Please sign it before the end of the month.")
    expect(page.get_by_role("link", name=PDF_NAME)).to_have_attribute("href", re.compile(r"/document/$"))
    shots.take(page, f"{who}-sign")
    if phone_check:
        page.set_viewport_size(PHONE)
        page.reload()
        shots.take(page, f"{who}-sign-phone")
        assert no_horizontal_scroll(page), "the signing page scrolls sideways at 375 px"
        page.set_viewport_size(DESKTOP)
        page.reload()

    codes_before = len(_emails_to(address, lambda s: s.startswith("Your signing code")))
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("status")).to_contain_text(f"A code is on its way to {address}.")
    assert len(_emails_to(address, lambda s: s.startswith("Your signing code"))) == codes_before + 1
    shots.take(page, f"{who}-code-sent")
    page.get_by_label("Code from the email").fill(_newest_code(address))
    page.get_by_role("button", name="Sign the document").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you: you have signed.")
    expect(page.get_by_role("main")).to_contain_text("You answered on")
    expect(page.get_by_role("button", name="Sign the document")).to_have_count(0)
    shots.take(page, f"{who}-signed")
    if phone_check:
        page.set_viewport_size(PHONE)
        page.reload()
        shots.take(page, f"{who}-signed-phone")
        assert no_horizontal_scroll(page), "the signed page scrolls sideways at 375 px"
    return page


def test_staff_sends_a_pdf_for_signing_and_both_parties_sign_in_turn(
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
    staff, collaboration, karin, olle, folder = _seed(settings, tmp_path)
    document = Document.objects.get(folder=folder, name=PDF_NAME)
    folder_url = base + reverse("documents:partner_folder", args=[collaboration.pk, folder.pk])
    mail.outbox.clear()
    page.set_viewport_size(DESKTOP)

    # --- The staff member: My collaborations -> the customer -> Documents -> the folder ----------
    _log_in(page, base, staff.email)
    expect(_attention_cell(page)).to_have_text("–")
    page.get_by_role("link", name=CUSTOMER_NAME, exact=True).click()
    page.get_by_role("navigation", name="Customer").get_by_role("link", name="Documents").click()
    expect(page).to_have_url(base + reverse("documents:partner_root", args=[collaboration.pk]))
    page.get_by_role("main").get_by_role("link", name=re.compile(re.escape(FOLDER_NAME))).first.click()
    expect(page).to_have_url(folder_url)
    page.get_by_role("checkbox", name=f"Select {PDF_NAME}").check()
    shots.take(page, "folder-ticked")
    page.get_by_role("button", name="Send for e-signing").click()
    # A draft from the first step: each step is a page of its own that saves to it.
    draft = SigningRequest.objects.get(document=document)
    assert draft.status == Status.DRAFT
    steps = {
        step: base + reverse(f"signing:partner_draft_{step}", args=[collaboration.pk, draft.pk])
        for step in ("parties", "settings", "review")
    }
    expect(page).to_have_url(steps["parties"])
    expect(page.get_by_role("heading", name="Send for e-signing: parties")).to_be_visible()
    expect(page.locator(".wizard-steps li[aria-current=step]")).to_have_text("Parties")

    # --- The wizard: Karin and Olle from the customer's users, Olle second ----------------------
    quick_add = page.get_by_role("list", name=f"Add from {CUSTOMER_NAME}")
    quick_add.get_by_role("button", name=re.compile(r"^\+ Karin Lund")).click()
    expect(page.locator("#id_parties-0-email")).to_have_value(karin.email)
    quick_add = page.get_by_role("list", name=f"Add from {CUSTOMER_NAME}")
    quick_add.get_by_role("button", name=re.compile(r"^\+ Olle Ek")).click()
    expect(page.locator("#id_parties-1-email")).to_have_value(olle.email)
    # Both are on the list now: their quick-add buttons are off.
    expect(quick_add.get_by_role("button", name=re.compile(r"^\+ Karin Lund"))).to_be_disabled()
    expect(quick_add.get_by_role("button", name=re.compile(r"^\+ Olle Ek"))).to_be_disabled()
    expect(page.locator("#id_parties-0-name")).to_have_value("Karin Lund")
    expect(page.locator("#id_parties-0-order")).to_have_value("1")
    page.locator("#id_parties-1-order").fill("2")
    shots.take(page, "wizard")
    # The rows are a POST's answer: resize without reloading. Its party rows stack on a phone.
    page.set_viewport_size(PHONE)
    shots.take(page, "wizard-phone")
    assert no_horizontal_scroll(page), "the wizard scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Save and continue").last.click()

    expect(page).to_have_url(steps["settings"])
    assert [p.email for p in Party.objects.filter(request=draft)] == [karin.email, olle.email]
    page.get_by_label("Language of the emails and the signing pages").select_option(label="English")
    page.get_by_label("Message to the parties").fill(MESSAGE)
    shots.take(page, "wizard-settings")
    page.set_viewport_size(PHONE)
    shots.take(page, "wizard-settings-phone")
    assert no_horizontal_scroll(page), "the settings step scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Save and continue").last.click()

    expect(page).to_have_url(steps["review"])
    expect(page.get_by_role("heading", name="Review and send")).to_be_visible()
    expect(page.locator(".wizard-steps li[aria-current=step]")).to_have_text("Review and send")
    rows = page.locator("section[aria-labelledby=parties-h] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Karin Lund")
    expect(rows.nth(0)).to_contain_text(karin.email)
    expect(rows.nth(1)).to_contain_text("Olle Ek")
    expect(rows.nth(1).locator("td").first).to_have_text("2")
    expect(page.locator("section[aria-labelledby=balance-h]")).to_contain_text(
        f"{GRANTED} signatures left. Sending uses one."
    )
    expect(page.locator("dd.signing-message")).to_contain_text("before the end of the month")
    shots.take(page, "review")
    page.set_viewport_size(PHONE)
    shots.take(page, "review-phone")
    assert no_horizontal_scroll(page), "the review scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)
    assert mail.outbox == []  # nothing goes out before Send

    # The draft is on Signeringar, and comes back from there.
    page.goto(base + reverse("signing:partner_list", args=[collaboration.pk]))
    expect(page.locator("table.list")).to_contain_text("Draft")
    shots.take(page, "list-with-draft")
    page.get_by_role("link", name=PDF_NAME).first.click()
    expect(page).to_have_url(steps["review"])

    page.get_by_role("button", name="Send", exact=True).click()
    signing = SigningRequest.objects.get(document=document)
    expect(page).to_have_url(base + reverse("signing:partner_detail", args=[collaboration.pk, signing.pk]))
    expect(page.get_by_role("status")).to_contain_text(f"{PDF_NAME} was sent for signing.")
    expect(page.get_by_role("heading", name=PDF_NAME)).to_contain_text("Waiting for signatures")
    # (The browser sends the textarea's line breaks as CRLF, and they are stored as sent.)
    assert (signing.status, signing.language) == (Status.PENDING, "en")
    assert signing.message.replace("\r\n", "\n") == MESSAGE
    assert Partner.objects.get(pk=collaboration.partner_id).signature_balance == GRANTED - 1
    shots.take(page, "sent")

    # Karin's turn only: Olle hears nothing yet.
    karin_link = _personal_link(karin.email, base)
    assert _requests_to(olle.email) == []
    sent = _requests_to(karin.email)[0]
    assert sent.subject == f"Sara Staff asks you to sign {PDF_NAME}"
    assert "Please sign it before the end of the month." in str(sent.body)

    # --- My collaborations: the customer waits on a signing ---------------------------------------
    page.get_by_role("link", name="My collaborations").first.click()
    expect(page).to_have_url(f"{base}/customers/")
    expect(_attention_cell(page).locator(".badge.warn")).to_have_text("1 waiting")
    shots.take(page, "collaborations-waiting")

    # --- Karin, in a browser of her own ------------------------------------------------------------
    karin_context = browser.new_context(viewport=DESKTOP)
    try:
        _sign_as(karin_context, karin_link, "karin", karin.email, shots, browser_errors)
    finally:
        karin_context.close()
    karin_party = Party.objects.get(request=signing, email=karin.email)
    assert karin_party.action == "signed" and karin_party.acted_at is not None
    assert SigningRequest.objects.get(pk=signing.pk).status == Status.PENDING
    olle_link = _personal_link(olle.email, base)  # now, and once

    # --- Olle, in a browser of his own, at phone width too ----------------------------------------
    olle_context = browser.new_context(viewport=DESKTOP)
    try:
        _sign_as(olle_context, olle_link, "olle", olle.email, shots, browser_errors, phone_check=True)
    finally:
        olle_context.close()

    # Completed and sealed (eagerly, after the commit of Olle's signature).
    signing.refresh_from_db()
    assert signing.status == Status.COMPLETED
    assert signing.sealed_version is not None
    sealed_doc = signing.sealed_version.document
    assert (sealed_doc.name, sealed_doc.folder_id, sealed_doc.source) == (
        SEALED_NAME,
        folder.pk,
        DocumentSource.SIGNED,
    )
    with document_storage().open(signing.sealed_version.storage_key, "rb") as handle:
        sealed = bytes(handle.read())
    # pyHanko's validation calls asyncio.run(), which refuses to run in this thread: Playwright's
    # sync API keeps an event loop running here. A thread of its own has none.
    with ThreadPoolExecutor(max_workers=1) as pool:
        status = pool.submit(
            sealing.validate_sealed_pdf, sealed, ca_file=settings.SIGNING_SEAL_CA_FILE
        ).result()
    assert status.ok, status
    reader = PdfReader(io.BytesIO(sealed))
    assert len(reader.pages) == 3  # the two pages and the audit trail
    audit = reader.pages[-1].extract_text()
    for text in ("Audit trail", "Karin Lund", "Olle Ek", "Everyone has signed", "Sent by Sara Staff"):
        assert text in audit, f"{text!r} is not in the audit trail"

    for party in (karin, olle):
        with_pdf = [m for m in _emails_to(party.email) if m.attachments]
        assert len(with_pdf) == 1, f"{party.email} got {len(with_pdf)} emails with the sealed PDF"
        assert with_pdf[0].subject == f"Signed by everyone: {PDF_NAME}"
        name, data, content_type = with_pdf[0].attachments[0]
        assert (name, content_type) == (SEALED_NAME, "application/pdf")
        assert data == sealed
    assert len(_requests_to(olle.email)) == 1

    # --- The staff member: the sealed PDF in the folder, the request signed, the badge gone -------
    page.goto(folder_url)
    expect(page.get_by_role("link", name=SEALED_NAME, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=PDF_NAME, exact=True)).to_be_visible()
    shots.take(page, "folder-sealed")

    page.goto(base + reverse("signing:partner_detail", args=[collaboration.pk, signing.pk]))
    expect(page.get_by_role("heading", name=PDF_NAME)).to_contain_text("Signed")
    expect(page.get_by_role("link", name="Open the sealed PDF")).to_be_visible()
    shots.take(page, "detail-signed")

    page.get_by_role("link", name="My collaborations").first.click()
    expect(_attention_cell(page)).to_have_text("–")
    expect(_attention_cell(page).locator(".badge")).to_have_count(0)
    shots.take(page, "collaborations-done")

    assert browser_errors == []
