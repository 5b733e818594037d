"""The billing journey in a real browser: an account administrator opens Settings > Balances, buys a
package and sees the new balance and its ledger line; then Settings > Storage with the usage bar,
the 90-day chart and usage per customer, and sets a storage cap (first too low, then right).

Every page visited is saved as a full-page screenshot test-artifacts/screenshots/billing-NN-*.png,
at desktop width and at 375 px.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation
from playwright.sync_api import Page, ViewportSize, expect
from pypdf import PdfWriter

from billing import services
from billing.models import BalanceEntry, EntryKind, InvoiceLine, StoragePeak, UsageSnapshot
from documents import services as documents
from documents.models import CustomerAccess
from partners.models import Partner, PartnerMembership, PartnerRole
from portal.units import human_size
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.factories import PASSWORD, CollaborationFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PARTNER_NAME = "Ekonomibyrån Norrsken AB"
GB = 10**9
MB = 10**6


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "billing-")


def _check_phone_layout(page: Page, shots: Shots, name: str) -> None:
    page.set_viewport_size(PHONE)
    page.reload()
    shots.take(page, f"{name}-phone")
    assert no_horizontal_scroll(page), f"{name} scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)
    page.reload()


def _pdf(size: int) -> bytes:
    """A valid one-page PDF of about `size` bytes (the preview task reads it)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Keywords": "x" * size})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _seed(admin_membership: PartnerMembership) -> Partner:
    """A firm on the Byrå plan (5 GB included) past its included storage, with three customers'
    files, the welcome grant, one signing charged and 90 days of snapshots."""
    partner, admin = admin_membership.partner, admin_membership.user
    services.signature_grant(partner=partner, amount=2, reason="Welcome: free signatures to start with")
    services.signature_charge(
        partner=partner, actor=admin, reference="signing:1", reason="Årsredovisning 2025"
    )
    for name, size in (
        ("Fjällstugan Snickeri AB", 240_000),
        ("Bageriet i Byn AB", 90_000),
        ("Åkeri Nord AB", 12_000),
    ):
        collaboration = CollaborationFactory.create(partner=partner, customer__name=name)
        folder = documents.folder_create(
            collaboration=collaboration, actor=admin, name="Bokslut", customer_access=CustomerAccess.NONE
        )
        documents.document_upload(
            folder=folder,
            actor=admin,
            name="Bokslut.pdf",
            chunks=[_pdf(size)],
            by_customer=False,
        )
    today = timezone.localdate()
    # Slow growth with a big upload a month ago and a clean-out two weeks ago.
    curve = []
    for back in range(89, -1, -1):
        used = 3 * GB + (89 - back) * 25 * MB
        if back <= 30:
            used += 2 * GB
        if back <= 14:
            used -= 600 * MB
        curve.append(UsageSnapshot(partner=partner, day=today - dt.timedelta(days=back), bytes_used=used))
    UsageSnapshot.objects.bulk_create(curve)
    # The counter and the month's peak as the curve has them (billing.services keeps both; the
    # journey starts from there).
    Partner.objects.filter(pk=partner.pk).update(storage_used_bytes=curve[-1].bytes_used)
    this_month = [s.bytes_used for s in curve if s.day >= today.replace(day=1)]
    StoragePeak.objects.update_or_create(
        partner=partner, period=today.replace(day=1), defaults={"peak_bytes": max(this_month)}
    )
    return partner


def test_admin_buys_signatures_and_looks_after_storage(
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
        partner__name=PARTNER_NAME, role=PartnerRole.ADMIN, user__name="Anna Admin", user__language="en"
    )
    partner = _seed(membership)
    page.set_viewport_size(DESKTOP)

    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(membership.user.email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/customers/")

    # --- Settings > Balances -------------------------------------------------------------------
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Balances").click()
    expect(page).to_have_url(f"{base}/settings/balances/")
    expect(page.get_by_role("link", name="Settings", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator("#balance")).to_have_text(re.compile(r"^\s*1\s+signature left\s*$"))
    shots.take(page, "balances")
    _check_phone_layout(page, shots, "balances")

    page.get_by_role("button", name="Buy 10 signatures").click()
    page.wait_for_url(f"{base}/settings/balances/")
    expect(page.get_by_role("status")).to_contain_text("10 signatures were added: the balance is now 11.")
    expect(page.locator("#balance")).to_have_text(re.compile(r"^\s*11\s+signatures left\s*$"))
    first_row = page.locator("table.ledger tbody tr").first
    expect(first_row).to_contain_text("Purchase")
    expect(first_row).to_contain_text("+10")
    expect(first_row).to_contain_text("Package of 10 signatures")
    expect(first_row).to_contain_text("Anna Admin")
    entry = BalanceEntry.objects.filter(partner=partner).first()
    assert entry is not None and (entry.kind, entry.amount, entry.balance_after) == (
        EntryKind.PURCHASE,
        10,
        11,
    )
    assert InvoiceLine.objects.get(partner=partner).amount_ore == 290_00
    shots.take(page, "balances-bought")
    _check_phone_layout(page, shots, "balances-bought")

    # --- Settings > Storage ----------------------------------------------------------------------
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Storage").click()
    expect(page).to_have_url(f"{base}/settings/storage/")
    meter = page.get_by_role("meter")
    expect(meter).to_have_attribute("aria-valuenow", "100")
    with translation.override("en"):
        used = human_size(Partner.objects.get(pk=partner.pk).storage_used_bytes)
    expect(meter).to_have_attribute("aria-valuetext", re.compile(rf"^{re.escape(used)} of 5\.0 GB included"))
    expect(page.locator("#usage-text")).to_contain_text(f"{used} of 5.0 GB included")
    chart = page.get_by_role("img", name=re.compile(r"^Stored at the end of each day"))
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 100
    expect(page.get_by_role("main")).to_contain_text("1 block × 79.00 kr: 79.00 kr")
    customers = page.locator("section[aria-labelledby=customers-h] tbody tr")
    expect(customers).to_have_count(3)
    expect(customers.first).to_contain_text("Fjällstugan Snickeri AB")
    shots.take(page, "storage")
    page.get_by_text("Show the daily figures").click()
    expect(page.locator("table.figures tbody tr")).to_have_count(90)
    shots.take(page, "storage-figures")
    page.get_by_text("Show the daily figures").click()
    _check_phone_layout(page, shots, "storage")

    # A cap below what is stored is refused with the reason; one that fits is saved.
    cap = page.get_by_label("Most paid storage blocks")
    cap.fill("0")
    page.get_by_role("button", name="Save cap").click()
    expect(page.locator("#cap-h ~ form .errorlist")).to_contain_text(
        "Choose at least 1 block, or delete files first."
    )
    assert Partner.objects.get(pk=partner.pk).storage_cap_blocks is None
    shots.take(page, "storage-cap-too-low")
    page.get_by_label("Most paid storage blocks").fill("2")
    page.get_by_role("button", name="Save cap").click()
    expect(page.get_by_role("status")).to_contain_text("The storage cap is now 2 paid blocks")
    assert Partner.objects.get(pk=partner.pk).storage_cap_blocks == 2
    shots.take(page, "storage-capped")

    # The refused cap answers 422 by design; Chromium logs any 4xx document as a console error.
    assert [e for e in browser_errors if "status of 422" not in e] == []
