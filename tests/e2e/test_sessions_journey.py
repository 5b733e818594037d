"""Sessions in a real browser: a firm's staff member logged in on a computer and a phone sees both
under My account, ends the phone's session from the computer, and is later signed out for being
idle, with the reason on the login page and the way back to the page kept.

Every page visited is saved as a full-page screenshot in test-artifacts/screenshots/sessions-*.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Browser, Page, ViewportSize, expect

from portal import sessions
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll, watch_errors
from tests.factories import PASSWORD, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 390, "height": 844}
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "sessions-")


def _log_in(page: Page, email: str) -> None:
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def test_sessions_listed_ended_and_idle_sign_out(
    page: Page,
    browser: Browser,
    live_server: Any,
    transactional_db: None,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    user = PartnerMembershipFactory.create(
        partner__name="Ekonomibyrån Norrsken AB", user__name="Sam Staff"
    ).user

    phone_context = browser.new_context(user_agent=IPHONE_SAFARI, viewport=PHONE)
    phone = phone_context.new_page()
    watch_errors(phone, browser_errors)
    phone.goto(f"{live_server.url}/account/")
    _log_in(phone, user.email)
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile(r"Mitt konto|My account"))

    page.goto(f"{live_server.url}/account/")
    _log_in(page, user.email)
    card = page.locator("section.session-card")
    expect(card.get_by_role("heading", level=2)).to_have_text(
        re.compile(r"Där du är inloggad|Where you are logged in")
    )
    expect(card.locator("li.session")).to_have_count(2)
    expect(card.locator("li.session.is-current")).to_contain_text(re.compile(r"Den här enheten|This device"))
    phone_entry = card.locator("li.session:not(.is-current)")
    expect(phone_entry).to_contain_text(re.compile(r"Safari (på|on) iOS"))
    card.scroll_into_view_if_needed()
    shots.take(page, "two-sessions")

    # The list on the phone fits its screen.
    phone.goto(f"{live_server.url}/account/")
    expect(phone.locator("section.session-card li.session")).to_have_count(2)
    assert no_horizontal_scroll(phone)
    shots.take(phone, "phone-list")

    phone_entry.get_by_role("button", name=re.compile(r"Avsluta sessionen|End session")).click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text(
        re.compile(r"Sessionen avslutades\.|The session was ended\.")
    )
    expect(card.locator("li.session")).to_have_count(1)
    expect(card).to_contain_text(
        re.compile(r"Du är inte inloggad någon annanstans\.|You are not logged in anywhere else\.")
    )
    shots.take(page, "phone-ended")

    phone.reload()
    expect(phone).to_have_url(re.compile(r"/accounts/login/\?next=/account/"))
    phone_context.close()

    # Two hours and a bit later, without activity in between.
    key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    store = SessionStore(session_key=key)
    store[sessions.SEEN_KEY] = int(time.time()) - 2 * 3600 - 5
    store.save()
    page.goto(f"{live_server.url}/settings/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/settings/"))
    expect(page.locator(".messages")).to_contain_text(
        re.compile(
            r"Du loggades ut efter 2 timmar utan aktivitet|You were signed out after 2 hours without activity"
        )
    )
    shots.take(page, "idle-signed-out")

    _log_in(page, user.email)
    expect(page).to_have_url(re.compile(r"/settings/"))
    assert browser_errors == []
