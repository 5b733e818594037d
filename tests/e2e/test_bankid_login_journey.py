"""Log in with BankID in a real browser: Karin, a Documents customer's user, chooses BankID on
another device; the QR code changes every second; she approves in the simulator (standing in
for the BankID app) in a second tab, and the login page moves on by itself to her start page.
A phone shows the login and the waiting page without sideways scrolling; no console errors
(the page's script is a static file under the CSP).

Screenshots: test-artifacts/screenshots/bankid-login-* and bankid-phone-*.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from portal.bankid.simulator import SimulatorServer
from tests.bankid_sim import running_simulator
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll, watch_errors
from tests.factories import CollaborationFactory, CustomerMembershipFactory

pytestmark = [pytest.mark.e2e]

KARIN = "198503122387"
PHONE: ViewportSize = {"width": 390, "height": 844}
ANOTHER_DEVICE = re.compile(r"BankID (on another device|på annan enhet)")


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "bankid-login-")


@pytest.fixture
def phone_shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "bankid-phone-")


@pytest.fixture
def sim(settings: Any) -> Iterator[SimulatorServer]:
    with running_simulator() as server:
        settings.BANKID_URL = server.base_url + "/rp/v6.0/"
        yield server


def qr_markup(page: Page) -> str:
    return str(page.locator(".bankid-qr").inner_html())


def _next_qr(page: Page, seen: tuple[str, ...], *, within: float = 3.0) -> str:
    """The QR markup once it differs from every one of `seen`; fails after `within` seconds. The
    page asks for a new code every second; on a loaded machine (CI runs the whole suite on two
    cores) an answer can come a few hundred milliseconds late, so a fixed sleep was flaky."""
    deadline = time.monotonic() + within
    while True:
        expect(page.locator(".bankid-qr svg")).to_be_visible()
        markup = qr_markup(page)
        if markup not in seen:
            return markup
        assert time.monotonic() < deadline, f"the QR code did not change within {within:.0f} s"
        page.wait_for_timeout(100)


def assert_qr_changes_each_second(page: Page) -> None:
    """The animated QR code: a new one about every second, and a third after that."""
    first = _next_qr(page, ())
    second = _next_qr(page, (first,))
    _next_qr(page, (first, second))


def approve_in_app(page: Page, sim: SimulatorServer, errors: list[str], shots: Shots) -> None:
    """Karin's phone: the simulator's page in a second tab of `page`'s browser, approve as her."""
    app = page.context.new_page()
    watch_errors(app, errors)
    app.goto(sim.base_url + "/")
    order = app.locator("section").filter(has=app.get_by_role("button", name="Approve"))
    expect(order).to_have_count(1)
    order.get_by_label("Identity").select_option(KARIN)
    shots.take(app, "simulator")
    order.get_by_role("button", name="Approve").click()
    app.wait_for_load_state()
    app.close()


def test_karin_logs_in_with_bankid_on_another_device(
    page: Page,
    browser: Browser,
    live_server: Any,
    transactional_db: None,
    sim: SimulatorServer,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    collaboration = CollaborationFactory.create(
        partner__name="Redovisningsbyrån Ljus AB", customer__name="Kund AB"
    )
    karin = CustomerMembershipFactory.create(
        customer=collaboration.customer,
        is_primary_contact=True,
        is_admin=True,
        user__name="Karin Karlsson",
        user__personnummer=KARIN,
    ).user
    assert karin.personnummer == KARIN

    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", level=2)).to_have_text(re.compile(r"BankID"))
    shots.take(page, "login")
    page.get_by_role("button", name=ANOTHER_DEVICE).click()
    page.wait_for_load_state()
    assert_qr_changes_each_second(page)
    shots.take(page, "qr")
    approve_in_app(page, sim, browser_errors, shots)

    # Back on the login tab, nobody touches anything: it moves on to Karin's start page.
    page.wait_for_url(re.compile(r"/collaborations?/|/samarbeten/"), timeout=20_000)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "Kund AB" in page.content() or "Redovisningsbyrån Ljus AB" in page.content()
    shots.take(page, "start-page")
    assert browser_errors == []


def test_bankid_login_fits_a_phone(
    browser: Browser,
    live_server: Any,
    transactional_db: None,
    sim: SimulatorServer,
    phone_shots: Shots,
    browser_errors: list[str],
) -> None:
    shots = phone_shots
    context = browser.new_context(viewport=PHONE)
    phone = context.new_page()
    watch_errors(phone, browser_errors)
    phone.goto(f"{live_server.url}/accounts/login/")
    assert no_horizontal_scroll(phone)
    shots.take(phone, "login")
    phone.get_by_role("button", name=re.compile(r"BankID (on this device|på den här enheten)")).click()
    phone.wait_for_load_state()
    link = phone.locator("a[href^='bankid:///?autostarttoken=']")
    expect(link).to_be_visible()
    assert (link.get_attribute("href") or "").endswith("&redirect=null")
    assert no_horizontal_scroll(phone)
    shots.take(phone, "this-device")
    phone.goto(f"{live_server.url}/accounts/login/")
    phone.get_by_role("button", name=ANOTHER_DEVICE).click()
    phone.wait_for_load_state()
    expect(phone.locator(".bankid-qr svg")).to_be_visible()
    assert no_horizontal_scroll(phone)
    shots.take(phone, "qr")
    context.close()
    assert browser_errors == []
