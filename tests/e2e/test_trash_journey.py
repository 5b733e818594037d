"""The trash journey in a real browser: a partner user deletes a folder and a document, finds them
in the customer's Trash (linked from the Documents tab), restores the document with its folder path,
and the account administrator sees on the Storage page what the trash holds and empties it after a
confirmation.

Screenshots test-artifacts/screenshots/trash-NN-*.png, at desktop width and at 375 px.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from customers.models import Collaboration
from documents import services as documents
from documents.models import CustomerAccess, Document, Folder, TrashEntry
from partners.models import PartnerMembership, PartnerRole
from tests.e2e.conftest import Shots, journey_shots
from tests.e2e.test_billing_journey import DESKTOP
from tests.e2e.test_billing_journey import _check_phone_layout as check_phone_layout
from tests.e2e.test_documents_journey import _blank_pdf as blank_pdf
from tests.e2e.test_documents_journey import _log_in as log_in
from tests.factories import CollaborationFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "trash-")


def test_deleted_files_wait_in_the_trash_and_come_back(
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
    top: Folder = documents.folder_create(
        collaboration=collaboration, actor=admin, name="Bokföring 2026", customer_access=CustomerAccess.READ
    )
    sub = documents.folder_create(collaboration=collaboration, actor=admin, name="Verifikationer", parent=top)
    invoice = documents.document_upload(
        folder=sub, actor=admin, name="Leverantörsfaktura 1043.pdf", chunks=[blank_pdf()], by_customer=False
    ).document
    report = documents.document_upload(
        folder=top,
        actor=admin,
        name="Årsbokslut med en mycket lång beskrivning av innehållet.pdf",
        chunks=[blank_pdf()],
        by_customer=False,
    ).document
    documents.documents_delete(documents=[invoice], actor=admin)
    documents.documents_delete(documents=[report], actor=admin)
    documents.folder_delete(folder=sub, actor=admin)
    page.set_viewport_size(DESKTOP)

    log_in(page, base, admin.email)
    page.goto(base + reverse("documents:partner_root", args=[collaboration.pk]))
    page.get_by_role("link", name="Trash").first.click()
    expect(page).to_have_url(base + reverse("documents:partner_trash", args=[collaboration.pk]))
    rows = page.locator("table.trash-list tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("table.trash-list")).to_contain_text("Bokföring 2026 / Verifikationer")
    shots.take(page, "trash")
    check_phone_layout(page, shots, "trash")

    page.get_by_role("button", name="Restore Leverantörsfaktura 1043.pdf").click()
    expect(page.locator(".messages, [role=status], .message").first).to_contain_text(
        "Leverantörsfaktura 1043.pdf was restored."
    )
    expect(rows).to_have_count(1)  # the folder came back with it: its entry held nothing else
    assert Document.objects.get(pk=invoice.pk).deleted_at is None
    assert Folder.objects.filter(pk=sub.pk).exists()
    shots.take(page, "restored")

    page.goto(base + reverse("billing:storage"))
    expect(page.locator("#trash-text")).to_contain_text("in 1 item; it is purged after 30 days.")
    page.get_by_role("button", name="Empty trash").click()
    expect(page.get_by_role("heading", name="Empty the trash?")).to_be_visible()
    shots.take(page, "empty-confirm")
    check_phone_layout(page, shots, "empty-confirm")
    page.get_by_role("button", name="Empty trash").click()
    expect(page).to_have_url(base + reverse("billing:storage"))
    expect(page.locator("#trash-text")).to_contain_text("The trash is empty")
    assert not TrashEntry.objects.exists()
    shots.take(page, "storage")
    assert browser_errors == []
