"""Asking the customer for documents, in a real browser: a partner admin asks for "Kontoutdrag
december" with two items, into a folder that takes the customer's uploads; the asked user logs in,
finds it under Samarbeten as "Requested from you", uploads a PDF for each item and marks it done;
the request then shows done on both sides, and Mina samarbeten's open-requests badge is gone.

Everyone uses English. Screenshots: test-artifacts/screenshots/docreq-NN-*.png, the pages at
desktop and phone widths, where nothing may scroll sideways.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from customers.models import Collaboration
from docrequests.models import DocumentRequest, ItemFile, Status
from documents import services as documents
from documents.models import CustomerAccess
from partners.models import PartnerMembership, PartnerRole
from portal.models import User
from tests.e2e.conftest import Shots, journey_shots
from tests.e2e.test_documents_journey import DESKTOP, _blank_pdf
from tests.e2e.test_documents_journey import _log_in as log_in
from tests.e2e.test_signing_portal_journey import _both_widths
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory

pytestmark = [pytest.mark.e2e]

TITLE = "Kontoutdrag december"
ITEMS = ["Företagskontot, december", "Sparkontot, december"]
CUSTOMER_NAME = "Fjällstugan Snickeri AB"


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "docreq-")


def test_partner_asks_for_two_documents_and_the_customer_uploads_both(
    page: Page,
    live_server: Any,
    transactional_db: None,
    settings: Any,
    tmp_path: Path,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    settings.PORTAL_BASE_URL = live_server.url
    base = live_server.url
    membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name="Ekonomibyrån Norrsken AB", role=PartnerRole.ADMIN, user__name="Anna Admin"
    )
    admin = membership.user
    collaboration: Collaboration = CollaborationFactory.create(
        partner=membership.partner, customer__name=CUSTOMER_NAME
    )
    CustomerMembershipFactory.create(
        customer=collaboration.customer, is_primary_contact=True, is_admin=True, user__name="Lena Lind"
    )
    karin = CustomerMembershipFactory.create(customer=collaboration.customer, user__name="Karin Ek").user
    User.objects.update(language="en")
    folder = documents.folder_create(
        collaboration=collaboration, actor=admin, name="Underlag 2026", customer_access=CustomerAccess.EDIT
    )
    files = []
    for n in (1, 2):
        path = tmp_path / f"kontoutdrag-{n}.pdf"
        path.write_bytes(_blank_pdf())
        files.append(path)
    page.set_viewport_size(DESKTOP)

    # --- The partner: the customer's Requests tab -> Request documents ---------------------------
    log_in(page, base, admin.email)
    page.goto(base + reverse("customers:customer_detail", args=[collaboration.pk]))
    page.get_by_role("navigation", name="Customer").get_by_role("link", name="Requests").click()
    expect(page).to_have_url(base + reverse("docrequests:partner_list", args=[collaboration.pk]))
    _both_widths(page, shots, "partner-requests-empty")
    page.get_by_role("link", name="Request documents").click()
    _both_widths(page, shots, "partner-new")  # before filling: a reload would empty the form
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Items").fill("\n".join(ITEMS))
    page.get_by_label("Due date").fill((timezone.localdate() + dt.timedelta(days=10)).isoformat())
    page.get_by_label("Upload into folder").select_option(label="Underlag 2026")
    page.get_by_role("checkbox", name=re.compile("Karin Ek")).check()
    page.get_by_label("Also save as a template for the firm").check()
    shots.take(page, "partner-new-filled")
    page.get_by_role("button", name="Send request").click()
    expect(page).to_have_url(re.compile(r"/customers/requests/\d+/$"))
    docrequest = DocumentRequest.objects.get()
    expect(page).to_have_url(base + reverse("docrequests:partner_detail", args=[docrequest.pk]))
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_text("Open", exact=True).first).to_be_visible()
    _both_widths(page, shots, "partner-request")
    page.goto(base + reverse("customers:customer_list"))
    expect(page.get_by_role("link", name=re.compile(r"1 open"))).to_be_visible()
    _both_widths(page, shots, "partner-customers-badge")
    page.context.clear_cookies()

    # --- The customer: Samarbeten -> Requested from you -> upload each item -> done -------------
    log_in(page, base, karin.email)
    page.goto(base + reverse("customers:collaboration_list"))
    expect(page.get_by_role("heading", name="Requested from you")).to_be_visible()
    _both_widths(page, shots, "customer-samarbeten")
    page.get_by_role("link", name=TITLE).click()
    expect(page).to_have_url(base + reverse("docrequests:customer_detail", args=[docrequest.pk]))
    _both_widths(page, shots, "customer-request")
    for text, path in zip(ITEMS, files, strict=True):
        page.get_by_label(f"File for {text}").set_input_files(path)
        page.get_by_role("button", name=f"Upload {text}").click()
        expect(
            page.get_by_role("list", name=f"Files for {text}").get_by_role("link", name=path.name)
        ).to_be_visible()
    _both_widths(page, shots, "customer-uploaded")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text("Done", exact=True).first).to_be_visible()
    expect(page.locator("input[type=file]")).to_have_count(0)
    _both_widths(page, shots, "customer-done")
    page.goto(base + reverse("customers:collaboration_list"))
    expect(page.get_by_role("heading", name="Requested from you")).to_have_count(0)
    page.context.clear_cookies()

    docrequest.refresh_from_db()
    assert docrequest.status == Status.DONE and docrequest.finished_by_id == karin.pk
    stored = ItemFile.objects.filter(item__docrequest=docrequest).select_related("version__document")
    assert sorted((f.item.text, f.version.document.name, f.version.document.folder_id) for f in stored) == [
        (ITEMS[0], "kontoutdrag-1.pdf", folder.pk),
        (ITEMS[1], "kontoutdrag-2.pdf", folder.pk),
    ]

    # --- The partner again: done on the request page and no badge ------------------------------
    log_in(page, base, admin.email)
    page.goto(base + reverse("docrequests:partner_detail", args=[docrequest.pk]))
    expect(page.get_by_text("Done", exact=True).first).to_be_visible()
    expect(page.get_by_role("link", name="kontoutdrag-2.pdf")).to_be_visible()
    _both_widths(page, shots, "partner-done")
    page.goto(base + reverse("customers:customer_list"))
    expect(page.get_by_role("link", name=re.compile(r"1 open"))).to_have_count(0)
    page.goto(base + reverse("docrequests:template_list"))
    expect(page.get_by_text(ITEMS[0])).to_be_visible()
    _both_widths(page, shots, "partner-templates")
    assert browser_errors == []
