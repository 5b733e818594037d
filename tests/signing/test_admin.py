"""The signing admin: requests, parties, attachments and events are read-only, their lists do not
grow N+1 queries, a party's link secrets never appear, and staff without the view right see nothing."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import User
from signing.models import Attachment, Event, Party, SigningRequest, Status
from tests.factories import CollaborationFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = ["signing_signingrequest", "signing_party", "signing_attachment", "signing_event"]


@pytest.fixture
def op_client(client: Client, admin_user: User) -> Client:
    admin_user.language = "en"
    admin_user.save(update_fields=["language"])
    client.force_login(admin_user)
    return client


def a_signing(title: str = "Avtal.pdf") -> SigningRequest:
    """A request with two parties (their secrets set), an attachment and an event per party."""
    collaboration = CollaborationFactory.create()
    sender = UserFactory.create()
    request = SigningRequest.objects.create(
        collaboration=collaboration,
        title=title,
        created_by=sender,
        deadline=timezone.now() + dt.timedelta(days=7),
        status=Status.PENDING,
        sent_at=timezone.now(),
    )
    for n in range(2):
        party = Party.objects.create(
            request=request,
            name=f"Part {n}",
            email=f"part{n}-{secrets.token_hex(4)}@example.se",
            token_salt=secrets.token_hex(16),
            token_hash=secrets.token_hex(32),
            code_hash=secrets.token_hex(32),
        )
        Event.objects.create(request=request, kind="sent", party=party, actor=sender, ip="192.0.2.1")
    Attachment.objects.create(request=request, name="Bilaga.pdf", sha256="a" * 64, position=1)
    return request


def changelist(model: str) -> str:
    return reverse(f"admin:{model}_changelist")


def queries_for(client: Client, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_page_render(op_client: Client, model: str) -> None:
    a_signing()
    a_signing()
    response = op_client.get(changelist(model))
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert len(rows) >= 2
    assert op_client.get(reverse(f"admin:{model}_change", args=[rows[0].pk])).status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_changelist_queries_do_not_grow(op_client: Client, model: str) -> None:
    for _ in range(2):
        a_signing()
    with_two, response = queries_for(op_client, changelist(model))
    count = response.context["cl"].result_count
    for _ in range(8):
        a_signing()
    with_ten, response = queries_for(op_client, changelist(model))
    assert response.context["cl"].result_count == count * 5
    assert with_ten == with_two


def test_request_page_lists_parties_attachments_and_events_in_fixed_queries(op_client: Client) -> None:
    request = a_signing()
    url = reverse("admin:signing_signingrequest_change", args=[request.pk])
    few, response = queries_for(op_client, url)
    content = response.content.decode()
    assert "Part 0" in content and "Part 1" in content and "Bilaga.pdf" in content
    assert request.collaboration.partner.name in content
    for n in range(2, 12):
        party = Party.objects.create(
            request=request,
            name=f"Part {n}",
            email=f"p{n}@example.se",
            token_salt=f"s{n}",
            token_hash=f"h{n}",
        )
        Event.objects.create(request=request, kind="viewed", party=party, actor=request.created_by)
    many, _response = queries_for(op_client, url)
    assert many == few


def test_a_partys_link_secrets_never_appear(op_client: Client) -> None:
    request = a_signing()
    party = request.parties.first()
    assert party is not None
    pages = [
        op_client.get(reverse("admin:signing_party_change", args=[party.pk])),
        op_client.get(reverse("admin:signing_signingrequest_change", args=[request.pk])),
        op_client.get(changelist("signing_party")),
    ]
    for page in pages:
        content = page.content.decode()
        assert party.email in content
        for secret in (party.token_salt, party.token_hash, party.code_hash):
            assert secret not in content
        assert "token_salt" not in content and "code_hash" not in content


@pytest.mark.parametrize("model", MODELS)
def test_signing_rows_cannot_be_added_changed_or_deleted(op_client: Client, model: str) -> None:
    a_signing()
    obj = op_client.get(changelist(model)).context["cl"].result_list[0]
    assert op_client.get(reverse(f"admin:{model}_add")).status_code == 403
    assert op_client.post(reverse(f"admin:{model}_add"), {}).status_code == 403
    assert op_client.post(reverse(f"admin:{model}_change", args=[obj.pk]), {}).status_code == 403
    assert op_client.get(reverse(f"admin:{model}_delete", args=[obj.pk])).status_code == 403
    op_client.post(changelist(model), {"action": "delete_selected", "_selected_action": [obj.pk]})
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_staff_without_the_view_right_see_no_signings(client: Client) -> None:
    request = a_signing()
    staff = UserFactory.create(is_staff=True)
    client.force_login(staff)
    assert client.get(changelist("signing_signingrequest")).status_code == 403
    assert client.get(reverse("admin:signing_signingrequest_change", args=[request.pk])).status_code == 403
    assert b"signing" not in client.get(reverse("admin:index")).content.lower().split(b"<main")[-1]


def test_staff_with_the_view_right_only_read(client: Client) -> None:
    request = a_signing()
    staff = UserFactory.create(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="signing", codename="view_signingrequest")
    )
    client.force_login(User.objects.get(pk=staff.pk))
    url = reverse("admin:signing_signingrequest_change", args=[request.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"title": "Changed"}).status_code == 403
    request.refresh_from_db()
    assert request.title == "Avtal.pdf"
    assert client.get(changelist("signing_party")).status_code == 403  # a right per model
