"""The retention journey in a real browser: a partner administrator opens a top-level folder, sets
"7 years after the end of the fiscal year" through the folder's Retention rule form, and sees the
rule on the folder page, the row of the document under it marked "Kept until ...", and on the
document page a delete button that says from which day it can be deleted; trying to remove the
rule again is refused with the document named. A customer user sees the rule too.

Every page visited is saved as a full-page screenshot test-artifacts/screenshots/retention-NN-*.png,
at desktop width and at 375 px.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from customers.models import Collaboration
from documents import retention
from documents import services as documents
from documents.models import Audience, CustomerAccess, Folder
from partners.models import PartnerMembership, PartnerRole
from tests.e2e.conftest import Shots, journey_shots
from tests.e2e.test_billing_journey import DESKTOP
from tests.e2e.test_billing_journey import _check_phone_layout as check_phone_layout
from tests.e2e.test_documents_journey import _blank_pdf as blank_pdf
from tests.e2e.test_documents_journey import _log_in as log_in
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "retention-")


def test_admin_sets_a_retention_rule_and_the_document_is_kept(
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
        partner__name="Ekonomibyrån Norrsken AB",
        role=PartnerRole.ADMIN,
        user__name="Anna Admin",
        user__language="en",
    )
    admin = membership.user
    collaboration: Collaboration = CollaborationFactory.create(
        partner=membership.partner, customer__name="Fjällstugan Snickeri AB"
    )
    customer_user = CustomerMembershipFactory.create(
        customer=collaboration.customer, is_primary_contact=True, user__name="Olle Ek", user__language="en"
    ).user
    folder: Folder = documents.folder_create(
        collaboration=collaboration,
        actor=admin,
        name="Bokföring 2026",
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )
    sub = documents.folder_create(
        collaboration=collaboration, actor=admin, name="Verifikationer", parent=folder
    )
    document = documents.document_upload(
        folder=sub, actor=admin, name="Leverantörsfaktura 1043.pdf", chunks=[blank_pdf()], by_customer=False
    ).document
    documents.document_upload(  # a second version: the first one's delete button waits too
        folder=sub,
        actor=admin,
        name="Leverantörsfaktura 1043.pdf",
        chunks=[blank_pdf() + b"\n"],
        by_customer=False,
    )
    documents.document_upload(
        folder=folder, actor=admin, name="Årsbokslut.pdf", chunks=[blank_pdf()], by_customer=False
    )
    page.set_viewport_size(DESKTOP)
    folder_url = base + reverse("documents:partner_folder", args=[collaboration.pk, folder.pk])

    log_in(page, base, admin.email)
    page.goto(folder_url)
    expect(page.locator(".retention-line")).to_have_count(0)
    page.get_by_role("link", name="Retention rule").click()
    expect(page).to_have_url(
        base + reverse("documents:partner_folder_retention", args=[collaboration.pk, folder.pk])
    )
    expect(page.get_by_text("seven years after the end of the fiscal year", exact=False)).to_be_visible()
    page.get_by_label("A number of years after the end of the fiscal year of the upload").check()
    page.get_by_role("spinbutton", name=re.compile(r"^Years")).fill("7")
    page.get_by_role("combobox", name=re.compile(r"^The fiscal year ends in")).select_option("12")
    shots.take(page, "form")
    check_phone_layout(page, shots, "form")
    page.get_by_label("A number of years after the end of the fiscal year of the upload").check()
    page.get_by_role("button", name="Save retention rule").click()
    expect(page).to_have_url(folder_url)
    folder.refresh_from_db()
    assert (folder.retention_kind, folder.retention_years, folder.retention_fiscal_end_month) == (
        "fiscal",
        7,
        12,
    )

    until = retention.document_until(document)
    assert until is not None
    kept = f"Kept until {until.day} December {until.year}"
    expect(page.locator(".retention-line")).to_contain_text(
        "documents are kept 7 years after the end of the fiscal year (December)"
    )
    expect(page.locator("table.file-list")).to_contain_text(kept)
    shots.take(page, "folder")
    check_phone_layout(page, shots, "folder")

    page.goto(base + reverse("documents:partner_folder", args=[collaboration.pk, sub.pk]))
    expect(page.locator(".retention-line")).to_contain_text("(inherited from Bokföring 2026)")
    expect(page.locator("table.file-list")).to_contain_text(kept)
    shots.take(page, "subfolder")

    page.get_by_role("link", name="Leverantörsfaktura 1043.pdf", exact=True).click()
    expect(page.locator(".retention-kept")).to_have_text(kept)
    button = page.get_by_role("button", name=re.compile(r"^Can be deleted from 1 January \d{4}$"))
    expect(button).to_be_disabled()
    version_button = page.get_by_role(
        "button", name=re.compile(r"^Can be deleted from 1 January \d{4} version 1$")
    )
    expect(version_button).to_be_disabled()
    shots.take(page, "document")
    check_phone_layout(page, shots, "document")

    # Removing the rule again is refused: the document would lose its retention.
    page.goto(base + reverse("documents:partner_folder_retention", args=[collaboration.pk, folder.pk]))
    page.locator("input[name=kind][value='']").check()
    page.get_by_role("button", name="Save retention rule").click()
    expect(page.locator(".errorlist")).to_contain_text("Leverantörsfaktura 1043.pdf (until")
    shots.take(page, "form-refused")

    # The customer's folder page shows the rule and the date too.
    page.context.clear_cookies()
    log_in(page, base, customer_user.email)
    page.goto(base + reverse("documents:customer_folder", args=[collaboration.pk, sub.pk]))
    expect(page.locator(".retention-line")).to_contain_text("documents are kept 7 years")
    expect(page.locator("table.file-list")).to_contain_text(kept)
    shots.take(page, "customer-folder")
    check_phone_layout(page, shots, "customer-folder")
    # The refused save answers 422 on purpose; nothing else may fail.
    assert [e for e in browser_errors if "status of 422" not in e] == []
