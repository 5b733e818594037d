"""Document request pages, each tried as who may use it, a same-tenant user without the right, the
other firm's users and anonymous; the list pages' query counts stay flat."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from docrequests import services
from docrequests.models import DocumentRequest, ItemFile, RequestTemplate, Status
from documents import services as documents
from documents.models import CustomerAccess, Document, Folder
from partners.models import PartnerRole
from portal.models import User
from tests.conftest import World
from tests.docrequests.conftest import PDF, make_request
from tests.factories import CollaborationFactory, CustomerMembershipFactory, PartnerMembershipFactory

pytestmark = pytest.mark.django_db


def _as(client: Client, user: User | None) -> Client:
    if user is not None:
        User.objects.filter(pk=user.pk).update(language="en")  # the tests read the English texts
        client.force_login(user)
    return client


# --- Partner side -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("staff", 200), ("staff_unassigned", 404), ("outsider", 404), ("customer_user", 404)],
)
def test_partner_pages_by_actor(
    world: World, docrequest: DocumentRequest, client: Client, who: str, status: int
) -> None:
    _as(client, getattr(world, who))
    for url in (
        reverse("docrequests:partner_list", args=[world.collaboration.pk]),
        reverse("docrequests:partner_create", args=[world.collaboration.pk]),
        reverse("docrequests:partner_detail", args=[docrequest.pk]),
    ):
        assert client.get(url).status_code == status, url


@pytest.mark.parametrize(
    "name", ["partner_list", "partner_create", "partner_detail", "customer_detail", "template_list"]
)
def test_anonymous_is_sent_to_log_in(
    world: World, docrequest: DocumentRequest, client: Client, name: str
) -> None:
    args = [] if name == "template_list" else [docrequest.pk if "detail" in name else world.collaboration.pk]
    response = client.get(reverse(f"docrequests:{name}", args=args))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def _create_post(world: World, folder: Folder, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Kontoutdrag december",
        "items": "Företagskontot\n\nSparkontot\n",
        "due_date": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
        "folder": folder.pk,
        "asked": [world.customer_user.pk],
        **extra,
    }


def test_partner_creates_a_request_and_a_template(world: World, folder: Folder, client: Client) -> None:
    response = _as(client, world.staff).post(
        reverse("docrequests:partner_create", args=[world.collaboration.pk]),
        _create_post(world, folder, save_as_template="on"),
    )
    docrequest = DocumentRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("docrequests:partner_detail", args=[docrequest.pk])
    assert [i.text for i in docrequest.items.all()] == ["Företagskontot", "Sparkontot"]
    assert RequestTemplate.objects.get().items == ["Företagskontot", "Sparkontot"]
    page = client.get(response["Location"]).content.decode()
    assert "Kontoutdrag december" in page and "Sparkontot" in page


def test_create_from_a_template_fills_the_form(world: World, folder: Folder, client: Client) -> None:
    template = services.template_save(
        partner=world.partner, actor=world.admin, title="Bokslut: underlag", items=["Kvitton", "Fakturor"]
    )
    other_firm = services.template_save(
        partner=world.other_partner, actor=world.outsider, title="Hemlig mall", items=["X"]
    )
    url = reverse("docrequests:partner_create", args=[world.collaboration.pk])
    page = _as(client, world.admin).get(url, {"template": template.pk}).content.decode()
    assert "Kvitton\nFakturor" in page and "Hemlig mall" not in page
    page = client.get(url, {"template": other_firm.pk}).content.decode()
    assert "Hemlig mall" not in page and ">X</textarea>" not in page


def test_a_bad_folder_or_user_is_shown_on_the_form(world: World, folder: Folder, client: Client) -> None:
    internal = documents.folder_create(collaboration=world.collaboration, actor=world.admin, name="Internt")
    url = reverse("docrequests:partner_create", args=[world.collaboration.pk])
    response = _as(client, world.admin).post(url, _create_post(world, internal))
    assert response.status_code == 422
    response = client.post(url, _create_post(world, folder, asked=[world.outsider_customer_user.pk]))
    assert response.status_code == 422
    assert not DocumentRequest.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "staff_unassigned", "customer_user"])
def test_create_post_without_the_right_changes_nothing(
    world: World, folder: Folder, client: Client, who: str
) -> None:
    response = _as(client, getattr(world, who)).post(
        reverse("docrequests:partner_create", args=[world.collaboration.pk]), _create_post(world, folder)
    )
    assert response.status_code == 404
    assert not DocumentRequest.objects.exists()


@pytest.mark.parametrize("action", ["partner_complete", "partner_cancel"])
@pytest.mark.parametrize(("who", "status"), [("staff", 302), ("staff_unassigned", 404), ("outsider", 404)])
def test_partner_closes_a_request(
    world: World, docrequest: DocumentRequest, client: Client, action: str, who: str, status: int
) -> None:
    response = _as(client, getattr(world, who)).post(reverse(f"docrequests:{action}", args=[docrequest.pk]))
    assert response.status_code == status
    docrequest.refresh_from_db()
    expected = {"partner_complete": Status.DONE, "partner_cancel": Status.CANCELLED}[action]
    assert docrequest.status == (expected if status == 302 else Status.OPEN)


def test_template_list_and_delete_stay_within_the_firm(world: World, client: Client) -> None:
    mine = services.template_save(partner=world.partner, actor=world.admin, title="Bokslut", items=["A"])
    theirs = services.template_save(
        partner=world.other_partner, actor=world.outsider, title="Beta-mall", items=["B"]
    )
    page = _as(client, world.staff_unassigned).get(reverse("docrequests:template_list")).content.decode()
    assert "Bokslut" in page and "Beta-mall" not in page
    assert client.post(reverse("docrequests:template_delete", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("docrequests:template_delete", args=[mine.pk])).status_code == 302
    assert list(RequestTemplate.objects.values_list("title", flat=True)) == ["Beta-mall"]


def test_a_customer_user_has_no_template_page(world: World, client: Client) -> None:
    assert _as(client, world.primary).get(reverse("docrequests:template_list")).status_code == 404


# --- Customer side ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("customer_user", 200),
        ("primary", 404),
        ("outsider_customer_user", 404),
        ("admin", 404),
        ("outsider", 404),
    ],
)
def test_customer_page_by_actor(
    world: World, docrequest: DocumentRequest, client: Client, who: str, status: int
) -> None:
    response = _as(client, getattr(world, who)).get(
        reverse("docrequests:customer_detail", args=[docrequest.pk])
    )
    assert response.status_code == status


def _upload(
    client: Client, docrequest: DocumentRequest, item_pk: int, name: str = "dec.pdf", data: bytes = PDF
) -> Any:
    return client.post(
        reverse("docrequests:customer_upload", args=[docrequest.pk, item_pk]),
        {"files": SimpleUploadedFile(name, data, content_type="application/pdf")},
    )


def test_the_asked_user_uploads_for_each_item_and_marks_it_done(
    world: World, docrequest: DocumentRequest, folder: Folder, client: Client
) -> None:
    first, second = docrequest.items.all()
    _as(client, world.customer_user)
    assert _upload(client, docrequest, first.pk, "foretag.pdf").status_code == 302
    assert _upload(client, docrequest, second.pk, "spar.pdf").status_code == 302
    page = client.get(reverse("docrequests:customer_detail", args=[docrequest.pk])).content.decode()
    assert "foretag.pdf" in page and "spar.pdf" in page
    assert set(Document.objects.filter(folder=folder).values_list("name", flat=True)) == {
        "foretag.pdf",
        "spar.pdf",
    }
    assert client.post(reverse("docrequests:customer_complete", args=[docrequest.pk])).status_code == 302
    docrequest.refresh_from_db()
    assert docrequest.status == Status.DONE
    page = client.get(reverse("docrequests:customer_detail", args=[docrequest.pk])).content.decode()
    assert "Done" in page and 'type="file"' not in page


def test_a_refused_upload_shows_why_and_stores_nothing(
    world: World, docrequest: DocumentRequest, client: Client
) -> None:
    item = docrequest.items.first()
    assert item is not None
    response = _upload(_as(client, world.customer_user), docrequest, item.pk, "empty.pdf", b"")
    assert response.status_code == 302
    assert not ItemFile.objects.exists() and not Document.objects.exists()


@pytest.mark.parametrize("who", ["primary", "outsider_customer_user", "admin", "outsider"])
def test_upload_and_done_without_the_right_change_nothing(
    world: World, docrequest: DocumentRequest, client: Client, who: str
) -> None:
    item = docrequest.items.first()
    assert item is not None
    _as(client, getattr(world, who))
    assert _upload(client, docrequest, item.pk).status_code == 404
    assert client.post(reverse("docrequests:customer_complete", args=[docrequest.pk])).status_code == 404
    assert not Document.objects.exists()
    docrequest.refresh_from_db()
    assert docrequest.status == Status.OPEN


def test_an_item_of_another_request_is_a_404(
    world: World, folder: Folder, docrequest: DocumentRequest, client: Client
) -> None:
    other = make_request(world, folder, title="Annat", asked=[world.primary])
    item = other.items.first()
    assert item is not None
    assert _upload(_as(client, world.customer_user), docrequest, item.pk).status_code == 404
    assert not Document.objects.exists()


def test_samarbeten_shows_requested_from_you_only_to_the_asked(
    world: World, docrequest: DocumentRequest, client: Client
) -> None:
    url = reverse("customers:collaboration_list")
    page = _as(client, world.customer_user).get(url).content.decode()
    assert (
        "Requested from you" in page and reverse("docrequests:customer_detail", args=[docrequest.pk]) in page
    )
    page = _as(client, world.primary).get(url).content.decode()
    assert "Requested from you" not in page
    services.docrequest_complete(docrequest=docrequest, actor=world.customer_user)
    page = _as(client, world.customer_user).get(url).content.decode()
    assert "Requested from you" not in page


# --- Badges and query counts ------------------------------------------------------------------


def test_mina_samarbeten_shows_open_requests(
    world: World, folder: Folder, docrequest: DocumentRequest, client: Client
) -> None:
    make_request(world, folder, title="Kvitton")
    page = _as(client, world.admin).get(reverse("customers:customer_list")).content.decode()
    assert ">2 open</span>" in page
    rows = {c.pk: c.docrequests_open for c in client.get(reverse("customers:customer_list")).context["page"]}
    assert rows[world.collaboration.pk] == 2 and rows[world.other_collaboration.pk] == 0


def _customer_list_queries(client: Client, n_customers: int) -> int:
    membership = PartnerMembershipFactory.create(role=PartnerRole.ADMIN)
    admin, partner = membership.user, membership.partner
    for _n in range(n_customers):
        collaboration = CollaborationFactory.create(partner=partner)
        user = CustomerMembershipFactory.create(customer=collaboration.customer, is_primary_contact=True).user
        folder = documents.folder_create(
            collaboration=collaboration, actor=admin, name="U", customer_access=CustomerAccess.EDIT
        )
        services.docrequest_create(
            collaboration=collaboration,
            actor=admin,
            folder=folder,
            title="K",
            items=["a"],
            due_date=timezone.localdate(),
            asked=[user],
        )
    client.force_login(admin)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("customers:customer_list"))
    assert {c.docrequests_open for c in response.context["page"]} == {1}
    return len(ctx.captured_queries)


def test_mina_samarbeten_query_count_is_flat(db: None, client: Client, settings: Any) -> None:
    settings.PAGE_SIZE = 100
    assert _customer_list_queries(client, 2) == _customer_list_queries(client, 12)


def _partner_list_queries(client: Client, world: World, folder: Folder, count: int) -> int:
    DocumentRequest.objects.all().delete()
    for n in range(count):
        make_request(world, folder, title=f"R{n}")
    client.force_login(world.admin)
    url = reverse("docrequests:partner_list", args=[world.collaboration.pk])
    client.get(url)  # the session's first page reads more (the organisations); measure the next
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert len(response.context["docrequests"]) == count
    return len(ctx.captured_queries)


def test_partner_list_query_count_is_flat(world: World, folder: Folder, client: Client) -> None:
    assert _partner_list_queries(client, world, folder, 1) == _partner_list_queries(client, world, folder, 10)


def _samarbeten_queries(client: Client, world: World, folder: Folder, count: int) -> int:
    DocumentRequest.objects.all().delete()
    for n in range(count):
        make_request(world, folder, title=f"R{n}")
    client.force_login(world.customer_user)
    client.get(reverse("customers:collaboration_list"))  # as in _partner_list_queries
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("customers:collaboration_list"))
    assert len(response.context["requested"]) == count
    return len(ctx.captured_queries)


def test_samarbeten_query_count_is_flat(world: World, folder: Folder, client: Client) -> None:
    assert _samarbeten_queries(client, world, folder, 1) == _samarbeten_queries(client, world, folder, 10)


def _detail_queries(client: Client, world: World, folder: Folder, items: int) -> int:
    docrequest = make_request(world, folder, items=[f"item {n}" for n in range(items)])
    for item in docrequest.items.all():
        services.docrequest_upload(
            docrequest=docrequest, item=item, actor=world.customer_user, name=f"{item.pk}.pdf", chunks=[PDF]
        )
    client.force_login(world.customer_user)
    url = reverse("docrequests:customer_detail", args=[docrequest.pk])
    client.get(url)  # as in _partner_list_queries
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_request_page_query_count_is_flat(world: World, folder: Folder, client: Client) -> None:
    assert _detail_queries(client, world, folder, 1) == _detail_queries(client, world, folder, 8)


@pytest.mark.parametrize("who", [None, "primary"])
def test_posts_by_anonymous_or_a_customer_user_change_nothing(
    world: World, docrequest: DocumentRequest, client: Client, who: str | None
) -> None:
    template = services.template_save(partner=world.partner, actor=world.admin, title="Bokslut", items=["A"])
    item = docrequest.items.first()
    assert item is not None
    _as(client, getattr(world, who) if who else None)
    for url in (
        reverse("docrequests:partner_complete", args=[docrequest.pk]),
        reverse("docrequests:partner_cancel", args=[docrequest.pk]),
        reverse("docrequests:template_delete", args=[template.pk]),
        reverse("docrequests:customer_upload", args=[docrequest.pk, item.pk]),
        reverse("docrequests:customer_complete", args=[docrequest.pk]),
    ):
        response = client.post(url)
        assert response.status_code in ((302,) if who is None else (404,)), url
        if who is None:
            assert "/accounts/login/" in response["Location"]
    docrequest.refresh_from_db()
    assert docrequest.status == Status.OPEN
    assert RequestTemplate.objects.filter(pk=template.pk).exists()
    assert not Document.objects.exists()
