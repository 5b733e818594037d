"""The "needs attention" badges on My collaborations in a real browser: a staff member sees a
customer's waiting, declined and expired signings as badges, dismisses the declined one with the
keyboard (a form: the page reloads without it, the expired one stays, a colleague still sees both),
then follows the expired badge to the customer's Signeringar, filtered to expired signings.

Screenshots test-artifacts/screenshots/attention-NN-*.png, desktop and 375 px (where nothing may
scroll sideways); no console errors.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from playwright.sync_api import Page, ViewportSize, expect

from customers.models import Collaboration
from customers.services import WORK_WITH_CUSTOMER
from documents.models import Document, Folder
from partners.models import Partner, PartnerRole
from portal.models import User
from signing.models import SigningRequest, Status
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.factories import (
    PASSWORD,
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerMembershipFactory,
)

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
CUSTOMER_NAME = "Fjällstugan Snickeri AB"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "attention-")


def _seed() -> tuple[User, User, Collaboration]:
    """A firm with an account admin and a staff member assigned to the customer; the customer
    has one waiting, two declined and one expired signing; a second customer has none."""
    admin = PartnerMembershipFactory.create(
        partner__name="Ekonomibyrån Norrsken AB",
        role=PartnerRole.ADMIN,
        user__name="Anna Admin",
        user__language="en",
    ).user
    partner = Partner.objects.get(name="Ekonomibyrån Norrsken AB")
    staff = PartnerMembershipFactory.create(
        partner=partner, role=PartnerRole.STAFF, user__name="Sara Staff", user__language="en"
    ).user
    collaboration: Collaboration = CollaborationFactory.create(partner=partner, customer__name=CUSTOMER_NAME)
    CustomerMembershipFactory.create(customer=collaboration.customer, is_primary_contact=True, is_admin=True)
    assign_perm(WORK_WITH_CUSTOMER, staff, collaboration)
    quiet = CollaborationFactory.create(partner=partner, customer__name="Bygg Norr AB")
    CustomerMembershipFactory.create(customer=quiet.customer, is_primary_contact=True, is_admin=True)
    assign_perm(WORK_WITH_CUSTOMER, staff, quiet)

    folder = Folder.objects.create(collaboration=collaboration, name="Avtal", created_by=admin)
    document = Document.objects.create(folder=folder, name="Avtal.pdf")
    version = document.versions.create(
        number=1, storage_key=f"k/{uuid.uuid4().hex}", size=1, content_type="application/pdf", sha256="0" * 64
    )
    now = timezone.now()
    for title, status in [
        ("Uppdragsavtal 2026.pdf", Status.PENDING),
        ("Hyresavtal lokal.pdf", Status.DECLINED),
        ("Fullmakt Skatteverket.pdf", Status.DECLINED),
        ("Årsredovisning 2025.pdf", Status.EXPIRED),
    ]:
        SigningRequest.objects.create(
            collaboration=collaboration,
            document=document,
            version=version,
            title=title,
            created_by=staff,
            deadline=now + dt.timedelta(days=7),
            status=status,
            sent_at=now - dt.timedelta(days=3),
            finished_at=None if status == Status.PENDING else now - dt.timedelta(hours=2),
        )
    return admin, staff, collaboration


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/customers/")


def _attention_cell(page: Page) -> Any:
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=CUSTOMER_NAME, exact=True))
    return row.locator("td[data-label=Signings]")


def _phone_shot(page: Page, shots: Shots, name: str) -> None:
    page.set_viewport_size(PHONE)
    page.reload()
    shots.take(page, name)
    assert no_horizontal_scroll(page), f"{name} scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)
    page.reload()


def test_staff_dismisses_a_badge_and_follows_another_to_the_filtered_list(
    page: Page, live_server: Any, transactional_db: None, shots: Shots, browser_errors: list[str]
) -> None:
    base = live_server.url
    admin, staff, collaboration = _seed()
    list_url = base + reverse("signing:partner_list", args=[collaboration.pk])
    page.set_viewport_size(DESKTOP)

    # --- My collaborations: three badges, two with a dismiss button -------------------------------
    _log_in(page, base, staff.email)
    cell = _attention_cell(page)
    expect(cell.locator(".badge")).to_have_text(["1 waiting", "2 declined", "1 expired"])
    expect(cell.get_by_role("link", name=f"1 waiting signings of {CUSTOMER_NAME}")).to_have_attribute(
        "href", re.compile(r"\?status=pending$")
    )
    dismiss = cell.get_by_role("button", name=f"Dismiss 2 declined signings for {CUSTOMER_NAME}")
    expect(dismiss).to_be_visible()
    expect(cell.get_by_role("button", name=f"Dismiss 1 expired signing for {CUSTOMER_NAME}")).to_be_visible()
    expect(cell.get_by_role("button", name=re.compile("waiting"))).to_have_count(0)
    shots.take(page, "collaborations")
    _phone_shot(page, shots, "collaborations-phone")

    # --- Dismiss the declined badge with the keyboard: back on the list without it ---------------
    cell = _attention_cell(page)
    cell.get_by_role("link", name=f"2 declined signings of {CUSTOMER_NAME}").focus()
    page.keyboard.press("Tab")
    expect(
        cell.get_by_role("button", name=f"Dismiss 2 declined signings for {CUSTOMER_NAME}")
    ).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/customers/")
    cell = _attention_cell(page)
    expect(cell.locator(".badge")).to_have_text(["1 waiting", "1 expired"])
    shots.take(page, "declined-dismissed")

    # --- The expired badge opens Signeringar filtered to expired ----------------------------------
    cell.get_by_role("link", name=f"1 expired signings of {CUSTOMER_NAME}").click()
    expect(page).to_have_url(list_url + "?status=expired")
    expect(
        page.get_by_role("navigation", name="Show signings").get_by_role("link", name="Expired")
    ).to_have_attribute("aria-current", "page")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the one expired signing
    expect(page.get_by_role("table")).to_contain_text("Årsredovisning 2025.pdf")
    expect(page.get_by_role("table")).not_to_contain_text("Hyresavtal lokal.pdf")
    shots.take(page, "signings-expired")
    _phone_shot(page, shots, "signings-expired-phone")

    # The filter control: All shows the four.
    page.get_by_role("navigation", name="Show signings").get_by_role("link", name="All").click()
    expect(page).to_have_url(list_url)
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(5)
    shots.take(page, "signings-all")

    # --- A colleague's badges are their own -------------------------------------------------------
    page.context.clear_cookies()
    _log_in(page, base, admin.email)
    expect(_attention_cell(page).locator(".badge")).to_have_text(["1 waiting", "2 declined", "1 expired"])

    assert browser_errors == []
