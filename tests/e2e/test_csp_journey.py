"""The Content-Security-Policy in a real browser: the portal's pages work under it without one
console error, while an inline handler or style attribute slipped into a page is refused, and
the journeys' error watcher (tests/e2e/conftest.py) reports the refusal as an error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from partners.models import PartnerRole
from tests.factories import PASSWORD, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]


def test_pages_work_under_the_policy_and_inline_code_is_refused(
    page: Page, live_server: Any, transactional_db: None, browser_errors: list[str]
) -> None:
    base = live_server.url
    membership = PartnerMembershipFactory.create(
        role=PartnerRole.ADMIN, user__name="Anna Admin", user__language="en"
    )
    response = page.goto(f"{base}/accounts/login/")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(membership.user.email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/customers/")
    page.goto(f"{base}/settings/storage/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert browser_errors == []  # a normal user's pages: nothing refused, nothing broken

    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
            '<button id="injected" onclick="window.injectedRan = true">x</button>'
            + '<p id="styled" style="color: rgb(255, 0, 0)">x</p>')"""
    )
    page.locator("#injected").click()
    assert page.evaluate("() => window.injectedRan === undefined")
    assert (
        page.evaluate("() => getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    )
    refusals = [error for error in browser_errors if "Content Security Policy" in error]
    assert any("inline event handler" in error for error in refusals), browser_errors
    assert any("inline style" in error for error in refusals), browser_errors
