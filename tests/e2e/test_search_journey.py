"""Searching documents in a real browser: a partner admin searches all customers from Mina
samarbeten and finds a file by a part of its name typed without accents; the customer's user
searches from Samarbeten and finds only what is shared with them. Desktop and phone.

Screenshots: test-artifacts/screenshots/search-NN-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from documents import services
from documents.models import CustomerAccess
from partners.models import PartnerRole
from portal.models import User
from tests.e2e.conftest import Shots, journey_shots
from tests.e2e.test_documents_journey import _check_phone_layout, _log_in
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "search-")


def _search(page: Page, label: re.Pattern[str], query: str) -> None:
    box = page.get_by_role("search", name=label).get_by_label(label)
    box.fill(query)
    box.press("Enter")
    page.wait_for_load_state()


def _results(page: Page) -> list[str]:
    return [name.strip() for name in page.locator(".search-results td.result-name").all_inner_texts()]


def _upload(folder: Any, actor: User, name: str) -> None:
    services.document_upload(folder=folder, actor=actor, name=name, chunks=[PDF], by_customer=False)


def test_partner_and_customer_find_documents_by_part_of_the_name(
    page: Page,
    live_server: Any,
    transactional_db: None,
    settings: Any,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    settings.PORTAL_BASE_URL = base = live_server.url
    admin = PartnerMembershipFactory.create(
        partner__name="Ekonomibyrån Norrsken AB", role=PartnerRole.ADMIN, user__name="Anna Admin"
    ).user
    partner = admin.partner_memberships.get().partner
    collaboration = CollaborationFactory.create(partner=partner, customer__name="Fjällstugan Snickeri AB")
    customer_user = CustomerMembershipFactory.create(
        customer=collaboration.customer, is_primary_contact=True, is_admin=True, user__name="Lena Lind"
    ).user
    other = CollaborationFactory.create(partner=partner, customer__name="Byggbolaget Sälen Aktiebolag")
    shared = services.folder_create(
        collaboration=collaboration,
        actor=admin,
        name="Årsredovisningar och bokslut",
        customer_access=CustomerAccess.READ,
    )
    year = services.folder_create(
        collaboration=collaboration, actor=admin, name="Räkenskapsår 2025", parent=shared
    )
    internal = services.folder_create(collaboration=collaboration, actor=admin, name="Internt arbetsmaterial")
    bygg = services.folder_create(
        collaboration=other, actor=admin, name="Bokslut", customer_access=CustomerAccess.READ
    )
    _upload(year, admin, "Årsredovisning 2025 Fjällstugan Snickeri AB undertecknad slutversion.pdf")
    _upload(internal, admin, "Årsredovisning 2025 utkast.pdf")
    _upload(bygg, admin, "ÅRSREDOVISNING 2024.pdf")
    _upload(year, admin, "Kontoutdrag december.pdf")

    # The partner searches every customer from Mina samarbeten.
    _log_in(page, base, admin.email)
    page.goto(base + reverse("customers:customer_list"))
    all_customers = re.compile(
        r"^(Sök i alla dina kunders dokument|Search the documents of all your customers)$"
    )
    _search(page, all_customers, "arsred")
    expect(page).to_have_url(re.compile(re.escape(reverse("documents:partner_search")) + r"\?q=arsred"))
    assert _results(page) == [
        "ÅRSREDOVISNING 2024.pdf",
        "Årsredovisning 2025 Fjällstugan Snickeri AB undertecknad slutversion.pdf",
        "Årsredovisning 2025 utkast.pdf",
    ]
    expect(page.locator(".search-results")).to_contain_text(
        "Årsredovisningar och bokslut / Räkenskapsår 2025"
    )
    expect(page.locator(".search-results")).to_contain_text("Byggbolaget Sälen Aktiebolag")
    shots.take(page, "partner-results")
    _check_phone_layout(page, shots, "partner-results")

    # Nothing found says so.
    _search(page, all_customers, "momsdeklaration")
    assert _results(page) == []
    shots.take(page, "partner-no-results")

    # Within one customer, from its Documents tab.
    page.goto(base + reverse("documents:partner_root", args=[collaboration.pk]))
    _search(page, re.compile(r"Fjällstugan Snickeri AB"), "2025")
    assert len(_results(page)) == 2
    shots.take(page, "partner-one-customer")

    page.context.clear_cookies()

    # The customer's user searches Samarbeten: the internal folder and the other customer stay hidden.
    _log_in(page, base, customer_user.email)
    page.goto(base + reverse("customers:collaboration_list"))
    _search(
        page,
        re.compile(r"^(Sök i dokumenten som delas med dig|Search the documents shared with you)$"),
        "ARSRED",
    )
    assert _results(page) == ["Årsredovisning 2025 Fjällstugan Snickeri AB undertecknad slutversion.pdf"]
    expect(page.locator(".search-results")).to_contain_text("Ekonomibyrån Norrsken AB")
    shots.take(page, "customer-results")
    _check_phone_layout(page, shots, "customer-results")

    # The result opens.
    page.locator(".search-results td.result-name a").first.click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text("Årsredovisning 2025")
    shots.take(page, "customer-opened")

    assert browser_errors == []
