"""The notifications journey in a real browser: a customer user opens My account > Notification
settings and turns the email for "Document added" to the daily digest. The firm then uploads two
files to a folder shared with them: the bell says 2, the inbox lists both, no email goes out at
once, and the daily digest is one email naming both files. Opening an entry leads to the folder.

Every page visited is saved as a full-page screenshot test-artifacts/screenshots/notif-NN-*.png,
at desktop width and at 375 px.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import Page, ViewportSize, expect
from pypdf import PdfWriter

from documents import services as documents
from documents.models import Audience, CustomerAccess, Folder
from notifications import selectors as notification_selectors
from notifications import services as notifications
from notifications import tasks
from notifications.models import EmailMode, Event, Notification
from partners.models import PartnerMembership, PartnerRole
from portal.models import User
from tests.e2e.conftest import Shots, journey_shots, no_horizontal_scroll
from tests.factories import (
    PASSWORD,
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerMembershipFactory,
)

pytestmark = [pytest.mark.e2e]

PHONE: ViewportSize = {"width": 375, "height": 812}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PARTNER_NAME = "Ekonomibyrån Norrsken AB"
CUSTOMER_NAME = "Fjällstugan Snickeri AB"
FOLDER_NAME = "Bokslut 2026"
FILES = ("Årsredovisning 2026.pdf", "Balansräkning 2026.pdf")


@pytest.fixture
def shots(screenshot_dir: Path) -> Shots:
    return journey_shots(screenshot_dir, "notif-")


def _pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _check_phone_layout(page: Page, shots: Shots, name: str) -> None:
    page.set_viewport_size(PHONE)
    page.reload()
    shots.take(page, f"{name}-phone")
    assert no_horizontal_scroll(page), f"{name} scrolls sideways at 375 px"
    bell = page.locator("header a.bell").bounding_box()
    assert bell is not None and bell["x"] + bell["width"] <= PHONE["width"], "the bell is off screen"
    page.set_viewport_size(DESKTOP)
    page.reload()


def _seed() -> tuple[PartnerMembership, User, Folder]:
    """A firm, its customer with one user (English), and a folder shared read-only with that user.
    The user has read the notification that the folder was shared, long ago."""
    membership: PartnerMembership = PartnerMembershipFactory.create(
        partner__name=PARTNER_NAME, role=PartnerRole.ADMIN, user__name="Anna Admin", user__language="en"
    )
    collaboration = CollaborationFactory.create(partner=membership.partner, customer__name=CUSTOMER_NAME)
    CustomerMembershipFactory.create(
        customer=collaboration.customer, is_primary_contact=True, is_admin=True, user__name="Lena Lind"
    )
    user = CustomerMembershipFactory.create(
        customer=collaboration.customer, user__name="Olle Ek", user__language="en"
    ).user
    folder = documents.folder_create(
        collaboration=collaboration,
        actor=membership.user,
        name=FOLDER_NAME,
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[user.pk],
    )
    notifications.notifications_mark_all_read(user=user)
    return membership, user, folder


def test_customer_user_chooses_the_digest_and_finds_the_uploads_under_the_bell(
    page: Page,
    live_server: Any,
    transactional_db: None,
    settings: Any,
    shots: Shots,
    browser_errors: list[str],
) -> None:
    settings.PORTAL_BASE_URL = live_server.url
    # Each upload its own notification (no batching window), and no email waits for one.
    settings.NOTIFICATION_BATCH_SECONDS = 0
    base = live_server.url
    membership, user, folder = _seed()
    page.set_viewport_size(DESKTOP)

    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile(r"^(E-post|Email):?$")).fill(user.email)
    page.get_by_label(re.compile(r"^(Lösenord|Password):?$")).fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/collaborations/")
    bell = page.get_by_role("link", name=re.compile(r"^Notifications"))
    expect(bell).to_have_accessible_name("Notifications")

    # --- My account > Notification settings -----------------------------------------------------
    page.locator("details.menu summary").click()
    page.get_by_role("link", name="My account").click()
    expect(page).to_have_url(base + reverse("profile"))
    page.get_by_role("link", name="Notification settings").click()
    expect(page).to_have_url(base + reverse("notifications:preferences"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Notification settings")
    expect(page.get_by_label("Email: Document added")).to_have_value(EmailMode.IMMEDIATELY)
    expect(page.get_by_label("In the portal: Document added")).to_be_checked()
    # Storage and balance are for the firm's account administrators only.
    expect(page.get_by_text("Signature balance low")).to_have_count(0)
    expect(page.get_by_role("checkbox", name=re.compile(CUSTOMER_NAME))).not_to_be_checked()
    shots.take(page, "preferences")
    _check_phone_layout(page, shots, "preferences")

    page.get_by_label("Email: Document added").select_option(label="Daily digest")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url(base + reverse("notifications:preferences"))
    expect(page.get_by_role("status")).to_contain_text("Your notification settings were saved.")
    expect(page.get_by_label("Email: Document added")).to_have_value(EmailMode.DIGEST)
    assert notification_selectors.preferences_for(user)[Event.DOCUMENT_ADDED] == (EmailMode.DIGEST, True)
    shots.take(page, "preferences-saved")

    # --- The firm uploads two files into the shared folder ----------------------------------------
    mail.outbox.clear()
    for name in FILES:
        documents.document_upload(
            folder=folder, actor=membership.user, name=name, chunks=[_pdf(name)], by_customer=False
        )
    assert Notification.objects.filter(recipient=user, event=Event.DOCUMENT_ADDED).count() == 2
    assert [m for m in mail.outbox if user.email in m.to] == []  # the digest waits for the morning

    page.goto(f"{base}/collaborations/")
    bell = page.get_by_role("link", name=re.compile(r"^Notifications"))
    expect(bell).to_have_accessible_name("Notifications, 2 unread")
    expect(page.locator("header .bell-count")).to_have_text("2")
    shots.take(page, "bell")
    _check_phone_layout(page, shots, "bell")

    # --- The inbox --------------------------------------------------------------------------------
    bell.click()
    expect(page).to_have_url(base + reverse("notifications:inbox"))
    unread = page.locator("li.inbox-item.unread")
    expect(unread).to_have_count(2)
    expect(unread.nth(0)).to_contain_text(f"Unread {FILES[1]} was added to {FOLDER_NAME}")
    expect(unread.nth(1)).to_contain_text(f"Unread {FILES[0]} was added to {FOLDER_NAME}")
    expect(unread.nth(0)).to_contain_text(f"{PARTNER_NAME} ↔ {CUSTOMER_NAME}")
    shots.take(page, "inbox")
    _check_phone_layout(page, shots, "inbox")

    # Opening one goes to the folder and leaves one unread.
    page.get_by_role("link", name=f"{FILES[1]} was added to {FOLDER_NAME}").click()
    expect(page).to_have_url(
        base + reverse("documents:customer_folder", args=[folder.collaboration_id, folder.pk])
    )
    expect(page.get_by_role("main")).to_contain_text(FILES[1])
    expect(page.get_by_role("link", name=re.compile(r"^Notifications"))).to_have_accessible_name(
        "Notifications, 1 unread"
    )
    shots.take(page, "opened")

    # --- The morning: one digest naming both files ------------------------------------------------
    tasks.send_digests()
    digests = [m for m in mail.outbox if user.email in m.to]
    assert len(digests) == 1
    body = str(digests[0].body)
    for name in FILES:
        assert f"{name} was added to {FOLDER_NAME}" in body
    assert base + reverse("notifications:preferences") in body
    tasks.send_digests()
    assert len([m for m in mail.outbox if user.email in m.to]) == 1  # sent once

    assert browser_errors == []
