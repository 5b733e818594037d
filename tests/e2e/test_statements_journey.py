"""The statements journey in a real browser: an account administrator opens Settings > Statements,
finds the months with a statement, opens one and downloads it as a PDF and a CSV file; then a
customer's log, narrowed to a month and downloaded as a CSV file.

Every page visited is saved as a full-page screenshot test-artifacts/screenshots/statements-NN-*.png,
at desktop width and at 375 px.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from billing import services
from billing.models import InvoiceLine
from documents import services as documents
from documents.models import CustomerAccess
from partners.models import Partner, PartnerMembership, PartnerRole, Plan
from portal.models import AuditEvent
from tests.e2e.conftest import Shots, journey_shots
from tests.e2e.test_billing_journey import DESKTOP
from tests.e2e.test_billing_journey import _check_phone_layout as check_phone_layout
from tests.e2e.test_documents_journey import _log_in as log_in
from tests.factories import CollaborationFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]

GB = 10**9


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "statements-")


def _seed(membership: PartnerMembership) -> Partner:
    """Three months of statements on the Byrå plan (5 GB included); October with 16 GB stored (two
    paid blocks) and two signature packages."""
    partner, admin = membership.partner, membership.user
    Partner.objects.filter(pk=partner.pk).update(plan=Plan.BYRA)
    for month, used, packages in ((8, 4 * GB, ()), (9, 9 * GB, (10,)), (10, 16 * GB, (50, 10))):
        period = dt.date(2026, month, 1)
        Partner.objects.filter(pk=partner.pk).update(storage_used_bytes=used)
        for signatures in packages:
            with translation.override("en"):
                entry = services.signature_purchase(partner=partner, actor=admin, signatures=signatures)
            InvoiceLine.objects.filter(entry=entry).update(period=period)
        services.statement_make(partner=Partner.objects.get(pk=partner.pk), period=period)
    return partner


def test_admin_reads_and_downloads_statements_and_the_log(
    page: Page,
    live_server: Any,
    transactional_db: None,
    settings: Any,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    settings.PORTAL_BASE_URL = live_server.url
    base = live_server.url
    membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name="Ekonomibyrån Norrsken AB",
        role=PartnerRole.ADMIN,
        user__name="Anna Admin",
        user__language="en",
    )
    _seed(membership)
    page.set_viewport_size(DESKTOP)

    log_in(page, base, membership.user.email)
    page.wait_for_url(f"{base}/customers/")

    # --- Settings > Statements -----------------------------------------------------------------
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Statements").click()
    expect(page).to_have_url(f"{base}/settings/statements/")
    expect(page.get_by_role("heading", name="Statements")).to_be_visible()
    rows = page.locator("table.statements tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("October 2026")
    expect(rows.first).to_contain_text("1,698.00 kr")
    expect(rows.nth(2)).to_contain_text("August 2026")
    shots.take(page, "list")
    check_phone_layout(page, shots, "list")

    rows.first.get_by_role("link", name="October 2026", exact=True).click()
    expect(page).to_have_url(f"{base}/settings/statements/2026-10/")
    expect(page.get_by_role("heading", name="Statement October 2026")).to_be_visible()
    items = page.locator("table.statement-items tbody tr")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text("158.00 kr")
    expect(items.nth(1)).to_contain_text("Package of 50 signatures")
    expect(page.locator("table.statement-items tfoot")).to_contain_text("1,698.00 kr")
    expect(
        page.get_by_role("navigation", name="Settings").get_by_role("link", name="Statements")
    ).to_have_attribute("aria-current", "page")
    shots.take(page, "october")
    check_phone_layout(page, shots, "october")

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download PDF").click()
    assert pdf_download.value.suggested_filename == "statement-2026-10.pdf"
    pdf_path = pdf_download.value.path()
    text = " ".join(PdfReader(io.BytesIO(Path(pdf_path).read_bytes())).pages[0].extract_text().split())
    assert "Ekonomibyrån Norrsken AB" in text and "1,698.00 kr" in text

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Download CSV").click()
    assert csv_download.value.suggested_filename == "statement-2026-10.csv"
    body = Path(csv_download.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and b";1698,00\r\n" in body

    # --- A customer's log, narrowed to March -----------------------------------------------------
    collaboration = CollaborationFactory.create(partner=membership.partner, customer__name="Åkeri Nord AB")
    for name, day in (("Bokslut", "2026-02-27"), ("Moms mars", "2026-03-12"), ("Lön april", "2026-04-02")):
        folder = documents.folder_create(
            collaboration=collaboration, actor=membership.user, name=name, customer_access=CustomerAccess.NONE
        )
        when = timezone.make_aware(dt.datetime.fromisoformat(f"{day} 10:00"))
        AuditEvent.objects.filter(action="folder.create", object_id=folder.pk).update(created_at=when)
    page.goto(f"{base}/customers/{collaboration.pk}/log/")
    page.get_by_label("First day").fill("2026-03-01")
    page.get_by_label("Last day").fill("2026-03-31")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.log-list tbody tr")).to_have_count(1)
    expect(page.locator("table.log-list tbody")).to_contain_text("Moms mars")
    shots.take(page, "log")
    check_phone_layout(page, shots, "log")

    with page.expect_download() as log_download:
        page.get_by_role("button", name="Download CSV").click()
    log = Path(log_download.value.path()).read_bytes().decode("utf-8-sig")
    assert "Moms mars" in log and "Bokslut" not in log and "Lön april" not in log

    assert browser_errors == []
