"""Ending a collaboration, in a real browser: the partner's account administrator opens the end page
(what is stored, the zip, the two choices; the typed name appears only for "delete everything now"),
keeps the files; the customer's primary contact then finds the collaboration under Samarbeten as
ended, readable until its date, and its folder without an upload.

Everyone uses English. Screenshots: test-artifacts/screenshots/ending-NN-*.png, at desktop width and
at 375 px, where nothing may scroll sideways.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from customers.models import Collaboration, CollaborationStatus
from documents import services as documents
from documents.models import CustomerAccess
from partners.models import PartnerMembership, PartnerRole
from portal.models import User
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.e2e.test_documents_journey import DESKTOP, _blank_pdf
from tests.e2e.test_documents_journey import _log_in as log_in
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 375, "height": 812}
CUSTOMER_NAME = "Fjällstugan Snickeri AB"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "ending-")


def _both_widths(page: Page, shots: Shots, name: str) -> None:
    shots.take(page, name)
    page.set_viewport_size(PHONE)
    page.reload()
    shots.take(page, f"{name}-375")
    assert no_horizontal_scroll(page), f"{name} scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)
    page.reload()


def test_partner_ends_keeping_the_files_and_the_customer_reads_them(
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
        partner__name="Ekonomibyrån Norrsken AB", role=PartnerRole.ADMIN, user__name="Anna Admin"
    )
    admin = membership.user
    collaboration: Collaboration = CollaborationFactory.create(
        partner=membership.partner, customer__name=CUSTOMER_NAME
    )
    lena = CustomerMembershipFactory.create(
        customer=collaboration.customer, is_primary_contact=True, is_admin=True, user__name="Lena Lind"
    ).user
    User.objects.update(language="en")
    folder = documents.folder_create(
        collaboration=collaboration, actor=admin, name="Bokslut 2026", customer_access=CustomerAccess.EDIT
    )
    documents.document_upload(
        folder=folder, actor=admin, name="Årsbesked 2026.pdf", chunks=[_blank_pdf()], by_customer=False
    )
    page.set_viewport_size(DESKTOP)

    # --- The partner's end page ---------------------------------------------------------------
    log_in(page, base, admin.email)
    page.goto(f"{base}/customers/{collaboration.pk}/end/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(CUSTOMER_NAME)
    expect(page.get_by_text("1 file is stored for this customer")).to_be_visible()
    expect(page.get_by_role("link", name="Download all folders as a zip")).to_be_visible()
    confirm = page.get_by_label("Type the customer's name to confirm")
    expect(confirm).to_be_hidden()
    _both_widths(page, shots, "end-page")
    page.get_by_label("Delete everything now").check()
    expect(confirm).to_be_visible()
    shots.take(page, "end-page-delete-chosen")
    confirm.fill("Not the name")
    page.get_by_role("button", name="End collaboration").click()
    expect(page.get_by_text("Type the customer's name, Fjällstugan Snickeri AB")).to_be_visible()
    shots.take(page, "end-page-wrong-name")
    assert Collaboration.objects.get(pk=collaboration.pk).status == CollaborationStatus.ACTIVE

    page.get_by_label("Keep them: the customer can read").check()
    page.get_by_role("button", name="End collaboration").click()
    page.wait_for_url(re.compile(r"/customers/$"))
    expect(page.get_by_text("has ended")).to_be_visible()
    page.get_by_role("link", name="Files kept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Files kept")
    _both_widths(page, shots, "files-kept")
    page.locator("details.menu summary").click()
    page.locator("details.menu .menu-panel form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))

    # --- The customer: Samarbeten, then the folder, read-only -----------------------------------
    log_in(page, base, lena.email)
    page.goto(f"{base}/collaborations/")
    expect(page.get_by_text(re.compile(r"Ended: your files can be read until"))).to_be_visible()
    _both_widths(page, shots, "customer-collaborations")
    page.get_by_role("link", name=re.compile("Ekonomibyrån Norrsken AB")).click()
    page.get_by_role("link", name="Bokslut 2026").first.click()
    expect(page.get_by_text("Årsbesked 2026.pdf").first).to_be_visible()
    expect(page.locator("input[type=file]")).to_have_count(0)
    _both_widths(page, shots, "customer-folder-read-only")
    # The refused confirmation was answered 422 on purpose; nothing else may have failed.
    assert [e for e in browser_errors if "422 (Unprocessable Entity)" not in e] == []
