"""An ordinary e-invoice PDF from a scanner (junk after %%EOF, an empty user password, automatic
actions, a factur-x.xml attachment) is sent; the party and the sender see what was prepared."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect

from billing import services as billing
from documents import services as documents
from documents.models import CustomerAccess
from signing import selectors, services
from signing.models import Party
from tests.conftest import World
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.factories import PASSWORD
from tests.signing.pdfs import automatic_actions, einvoice, encrypted, with_junk, writer_with_pages

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "prepared-")


def test_the_party_and_the_sender_see_what_was_prepared(
    page: Page,
    live_server: Any,
    transactional_db: None,
    world: World,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    base = live_server.url
    world.staff.language = "en"
    world.staff.save(update_fields=["language"])
    billing.signature_grant(partner=world.partner, amount=1, reason="test")
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Fakturor",
        customer_access=CustomerAccess.READ,
    )
    data = with_junk(encrypted(automatic_actions(einvoice(writer_with_pages(2)))))
    doc = documents.document_upload(
        folder=folder, actor=world.admin, name="Faktura 42.pdf", chunks=[data], by_customer=False
    ).document
    request = services.signing_send(
        collaboration=world.collaboration,
        actor=world.staff,
        document=doc,
        parties=[services.PartyInput("Karin Kund", "karin@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
        language="en",
    )
    token = selectors.party_token(Party.objects.get(request=request))

    page.set_viewport_size(DESKTOP)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": base}])
    page.goto(base + reverse("signing:sign", args=[token]))
    prepared = page.locator(".prepared-files")
    expect(prepared.get_by_role("heading", name="Prepared for signing")).to_be_visible()
    expect(prepared).to_contain_text("When the document is opened: open a web address")
    expect(prepared).to_contain_text(re.compile(r"factur-x\.xml \(\d+ B\)"))
    shots.take(page, "party-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    shots.take(page, "party-phone")

    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(world.staff.email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.goto(base + reverse("signing:partner_detail", args=[world.collaboration.pk, request.pk]))
    expect(page.locator(".prepared-files")).to_contain_text("factur-x.xml")
    expect(page.locator(".timeline")).to_contain_text("Prepared for signing: Faktura 42.pdf")
    shots.take(page, "partner-desktop")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    shots.take(page, "partner-phone")
    assert browser_errors == []
