"""Two-factor authentication in a real browser: a partner admin turns it on under My account
with the secret the page shows, logs out and in again with password and code, then requires it
of the firm's staff; a staff member is walked through enrolment at their next login.

Every page visited is saved as a full-page screenshot in test-artifacts/screenshots/twofactor-*.
"""

from __future__ import annotations

import re
import time
from base64 import b32decode
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Page, ViewportSize, expect

from partners.models import Partner, PartnerMembership, PartnerRole
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.factories import PASSWORD, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "twofactor-")


def app_code(secret: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the secret typed into it from the page."""
    raw = secret.replace(" ", "")
    key = b32decode(raw + "=" * (-len(raw) % 8))
    generator = TOTP(key)
    generator.time = time.time() + steps_ahead * 30
    return str(generator.token()).zfill(6)


def _log_in(page: Page, email: str) -> None:
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def _log_out(page: Page) -> None:
    page.locator("details.menu summary").click()
    page.locator("details.menu .menu-panel form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def _enrol(page: Page, shots: Shots, name: str) -> str:
    """On the enrolment page: read the secret as a person would type it, confirm with a code."""
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"Aktivera tvåstegsverifiering|Turn on two-factor authentication")
    )
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#secret").inner_text()
    shots.take(page, f"{name}-enrol")
    page.get_by_label(re.compile(r"^(Kod från appen|Code from the app):?$")).fill(app_code(secret))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    shots.take(page, f"{name}-recovery-codes")
    return secret


def test_admin_enrols_logs_in_with_a_code_and_requires_it_of_staff(
    page: Page, live_server: Any, transactional_db: None, shots: Shots, browser_errors: list[str]
) -> None:
    membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name="Ekonomibyrån Norrsken AB", role=PartnerRole.ADMIN, user__name="Anna Admin"
    )
    admin, partner = membership.user, membership.partner
    staff = PartnerMembershipFactory.create(partner=partner, user__name="Sam Staff").user
    base = live_server.url
    page.set_viewport_size(DESKTOP)

    # Anna turns two-factor on under My account.
    page.goto(f"{base}/accounts/login/")
    _log_in(page, admin.email)
    page.locator("details.menu summary").click()
    page.locator("details.menu .menu-panel").get_by_role(
        "link", name=re.compile(r"^(Mitt konto|My account)$")
    ).click()
    expect(
        page.get_by_role("heading", level=2, name=re.compile("Tvåstegsverifiering|Two-factor"))
    ).to_be_visible()
    shots.take(page, "admin-my-account")
    page.get_by_role("link", name=re.compile(r"^(Aktivera tvåstegsverifiering|Turn on two-factor)$")).click()
    secret = _enrol(page, shots, "admin")
    page.get_by_role("link", name=re.compile(r"^(Jag har sparat mina koder|I have saved my codes)$")).click()
    expect(page).to_have_url(f"{base}/account/")
    shots.take(page, "admin-my-account-on")

    # Logged out and in again: the password alone is not enough.
    _log_out(page)
    _log_in(page, admin.email)
    expect(page).to_have_url(re.compile(r"/accounts/login/code/"))
    shots.take(page, "admin-code-step")
    page.goto(f"{base}/customers/")
    expect(page).to_have_url(re.compile(r"/accounts/login/code/"))
    page.get_by_label(re.compile(r"^(Kod|Code):?$")).fill(app_code(secret, steps_ahead=1))
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(f"{base}/customers/")
    shots.take(page, "admin-logged-in")

    # Anna requires two-factor of all staff on the firm's settings page.
    page.goto(f"{base}/settings/")
    page.get_by_label(re.compile(r"(Kräv tvåstegsverifiering|Require two-factor)")).check()
    page.locator("form[action$='/settings/two-factor/'] button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(re.compile("krävs nu|now required"))
    shots.take(page, "admin-requires-two-factor")
    partner_row = Partner.objects.get(pk=partner.pk)
    assert partner_row.require_two_factor is True
    _log_out(page)

    # Sam logs in with the password and is walked through enrolment before anything else.
    page.set_viewport_size(PHONE)
    _log_in(page, staff.email)
    expect(page).to_have_url(re.compile(r"/account/two-factor/enrol/"))
    expect(page.locator(".notice")).to_contain_text("Ekonomibyrån Norrsken AB")
    assert no_horizontal_scroll(page), "the enrolment page scrolls sideways on a phone"
    page.goto(f"{base}/customers/")
    expect(page).to_have_url(re.compile(r"/account/two-factor/enrol/\?next=%2Fcustomers%2F"))
    _enrol(page, shots, "staff")
    page.get_by_role("link", name=re.compile(r"^(Jag har sparat mina koder|I have saved my codes)$")).click()
    expect(page).to_have_url(f"{base}/customers/")
    shots.take(page, "staff-in")

    assert browser_errors == []
