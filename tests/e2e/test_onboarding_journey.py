"""The onboarding journey in a real browser: a partner admin creates a Documents customer,
the primary contact follows the welcome email's link, chooses a password and finds the partner.

Every page visited is saved as a full-page screenshot in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, ViewportSize, expect

from customers.models import Collaboration, CustomerMembership
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
SET_PASSWORD_LINK = re.compile(r"http://[^\s\"'<>]+/accounts/set-password/[^/\s]+/[^/\s]+/")
CUSTOMER_PASSWORD = "Blåbär-Solsken-2026"
PARTNER_NAME = "Ekonomibyrån Norrsken AB"
COMPANY_NAME = "Fjällstugan Snickeri AB"
CONTACT_EMAIL = "lena.lind@fjallstugan.example"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "")


def _log_in(page: Page, email: str, password: str) -> None:
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def _log_out(page: Page, shots: Shots) -> None:
    page.locator("details.menu summary").click()
    expect(page.locator("details.menu .menu-panel")).to_be_visible()
    shots.take(page, "user-menu")
    page.locator("details.menu .menu-panel form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_partner_creates_customer_who_sets_password_and_sees_partner(
    page: Page,
    live_server: Any,
    transactional_db: None,
    settings: Any,
    mailoutbox: list[mail.EmailMessage],
    shots: Shots,
    browser_errors: list[str],
) -> None:
    settings.PORTAL_BASE_URL = live_server.url
    membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name=PARTNER_NAME, role=PartnerRole.ADMIN, user__name="Anna Admin"
    )
    admin, partner = membership.user, membership.partner
    # One customer already, so the list shows its table (and its phone layout).
    existing: Collaboration = CollaborationFactory.create(
        partner=partner, customer__name="Befintlig Kund Handelsbolag"
    )
    CustomerMembershipFactory.create(
        customer=existing.customer, is_primary_contact=True, is_admin=True, user__name="Bertil Befintlig"
    )
    base = live_server.url
    page.set_viewport_size(DESKTOP)

    # The partner admin logs in and lands on Mina samarbeten.
    page.goto(f"{base}/accounts/login/")
    shots.take(page, "login")
    _log_in(page, admin.email, PASSWORD)
    expect(page).to_have_url(f"{base}/customers/")
    page.get_by_role("navigation").get_by_role(
        "link", name=re.compile(r"^(Mina samarbeten|My collaborations)$")
    ).click()
    expect(page).to_have_url(f"{base}/customers/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"Mina samarbeten|My collaborations")
    )
    expect(page.get_by_text("Befintlig Kund Handelsbolag")).to_be_visible()
    shots.take(page, "customer-list")

    # The same list and the create form on a phone: nothing scrolls sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    shots.take(page, "customer-list-phone")
    assert no_horizontal_scroll(page), "the customer list scrolls sideways on a phone"
    page.goto(f"{base}/customers/new/")
    shots.take(page, "customer-create-phone")
    assert no_horizontal_scroll(page), "the create form scrolls sideways on a phone"
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/customers/")

    # New Documents customer.
    page.get_by_role("link", name=re.compile(r"^(Ny Documents-kund|New Documents customer)$")).click()
    expect(page).to_have_url(f"{base}/customers/new/")
    shots.take(page, "customer-create")
    page.locator("#id_name").fill(COMPANY_NAME)
    page.locator("#id_org_number").fill("556036-0793")
    page.locator("#id_contact_name").fill("Lena Lind")
    page.locator("#id_contact_email").fill(CONTACT_EMAIL)
    page.locator("#id_contact_send_welcome").check()
    shots.take(page, "customer-create-filled")
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/customers/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(COMPANY_NAME)
    shots.take(page, "customer-detail")

    # The partner logs out.
    _log_out(page, shots)
    shots.take(page, "logged-out")

    # The welcome email went to the primary contact, with a link to the live server.
    welcome = [m for m in mailoutbox if m.to == [CONTACT_EMAIL]]
    assert len(welcome) == 1, [(m.to, m.subject) for m in mailoutbox]
    assert PARTNER_NAME in welcome[0].subject
    match = SET_PASSWORD_LINK.search(str(welcome[0].body))
    assert match, welcome[0].body
    link = match.group(0)
    assert link.startswith(f"{base}/accounts/set-password/")
    assert CustomerMembership.objects.get(user__email=CONTACT_EMAIL).welcome_sent_at is not None

    # The contact chooses a password through the link.
    page.goto(link)
    expect(page.locator("#id_new_password1")).to_be_visible()
    shots.take(page, "set-password")
    page.locator("#id_new_password1").fill(CUSTOMER_PASSWORD)
    page.locator("#id_new_password2").fill(CUSTOMER_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/accounts/set-password/done/")
    shots.take(page, "set-password-done")

    # …logs in and sees the partner under Samarbeten.
    page.goto(f"{base}/accounts/login/")
    shots.take(page, "customer-login")
    _log_in(page, CONTACT_EMAIL, CUSTOMER_PASSWORD)
    expect(page).to_have_url(f"{base}/collaborations/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^(Samarbeten|Collaborations)$"))
    expect(page.get_by_role("link", name=re.compile(re.escape(PARTNER_NAME)))).to_be_visible()
    shots.take(page, "collaborations")

    # The one-time link is spent.
    page.goto(link)
    expect(page.locator("#id_new_password1")).to_have_count(0)
    shots.take(page, "set-password-link-used")

    assert browser_errors == []
