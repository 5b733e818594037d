"""The partner side of e-signing: the bulk bar's start, the wizard, Signeringar and its request
page, cancelling, and the "needs attention" lists on Mina samarbeten and Samarbeten."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from billing import services as billing
from customers.services import WORK_WITH_CUSTOMER
from documents import services as documents
from documents.models import CustomerAccess, Document, Folder
from partners.models import Partner
from portal.models import User
from signing import selectors, services
from signing.models import Event, Party, Role, SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.factories import (
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
)
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(world: World, settings: Any) -> None:
    """The pages speak the user's language; the tests read the English texts (msgids)."""
    User.objects.update(language="en")
    settings.NOTIFICATION_BATCH_SECONDS = 0


# --- Helpers ----------------------------------------------------------------------------------


def upload(folder: Folder, actor: User, name: str = "Avtal.pdf", data: bytes | None = None) -> Document:
    version = documents.document_upload(
        folder=folder,
        actor=actor,
        name=name,
        chunks=[blank_pdf() if data is None else data],
        by_customer=False,
    )
    return version.document


@pytest.fixture
def folder(world: World) -> Folder:
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.READ,
    )


@pytest.fixture
def doc(world: World, folder: Folder) -> Document:
    return upload(folder, world.admin)


@pytest.fixture
def funded(world: World) -> World:
    Partner.objects.filter(pk=world.partner.pk).update(signature_balance=0)
    billing.signature_grant(partner=world.partner, amount=5, reason="test")
    return world


def balance(world: World) -> int:
    return Partner.objects.get(pk=world.partner.pk).signature_balance


def new_url(world: World, document: Document) -> str:
    return reverse("signing:partner_new", args=[world.collaboration.pk, document.pk])


def draft_of(world: World, document: Document, actor: User | None = None) -> SigningRequest:
    return services.draft_create(
        collaboration=world.collaboration, actor=actor or world.staff, document=document
    )


def step_url(world: World, draft: SigningRequest, step: str) -> str:
    """The draft's page: parties, settings, review, send, delete."""
    name = {"send": "partner_draft_send", "delete": "partner_draft_delete"}.get(step, f"partner_draft_{step}")
    return reverse(f"signing:{name}", args=[world.collaboration.pk, draft.pk])


def form_data(
    parties: list[dict[str, Any]], *, step: str = "send", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The parties step's rows and the settings step's fields in one dict (each step reads its own)."""
    data: dict[str, Any] = {
        "parties-TOTAL_FORMS": str(len(parties)),
        "parties-INITIAL_FORMS": "0",
        "parties-MIN_NUM_FORMS": "0",
        "parties-MAX_NUM_FORMS": "30",
        "language": "sv",
        "deadline": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
        "message": "Hej, skriv under är ni snälla.",
        "reminder_days": "3",
        "step": step,
    }
    for i, party in enumerate(parties):
        row = {"name": "", "email": "", "mobile": "", "personnummer": "", "role": "signer"}
        row |= {"method": "email_code", "order": "1"} | party
        data |= {f"parties-{i}-{key}": str(value) for key, value in row.items()}
    return data | (extra or {})


def run_wizard(
    client: Client,
    world: World,
    document: Document,
    parties: list[dict[str, Any]],
    *,
    step: str = "send",
    extra: dict[str, Any] | None = None,
) -> Any:
    """Start a draft for `document`, fill in its parties and settings, then review (`step`
    "review") or send: the first page that refuses (422), or the last response."""
    started = client.post(new_url(world, document))
    if started.status_code != 302:
        return started
    draft = SigningRequest.objects.filter(collaboration=world.collaboration).order_by("-pk").first()
    assert draft is not None and started["Location"] == step_url(world, draft, "parties")
    data = form_data(parties, step=step, extra=extra)
    for name in ("parties", "settings"):
        response = client.post(step_url(world, draft, name), data)
        if response.status_code != 302:
            return response
    if step == "review":
        return client.get(step_url(world, draft, "review"))
    return client.post(step_url(world, draft, "send"), {})


TWO_IN_ORDER = [
    {"name": "Karin Primary", "email": "karin@example.com", "order": 1},
    {"name": "Olle User", "email": "olle@example.com", "order": 2},
]


def nothing_created() -> bool:
    return not (SigningRequest.objects.exists() or Party.objects.exists() or Event.objects.exists())


def nothing_sent() -> bool:
    """At most drafts: nobody told, nothing on a timeline."""
    return not (SigningRequest.objects.exclude(status=Status.DRAFT).exists() or Event.objects.exists())


def send(
    world: World, document: Document, parties: list[PartyInput], actor: User | None = None
) -> SigningRequest:
    return services.signing_send(
        collaboration=world.collaboration,
        actor=actor or world.staff,
        document=document,
        parties=parties,
        deadline=timezone.now() + dt.timedelta(days=7),
    )


def signing_rows(world: World, document: Document, count: int) -> None:
    """Requests as rows only, each with two signers, one of whom signed (the list never reads files)."""
    assert document.current_version is not None
    for n in range(count):
        request = SigningRequest.objects.create(
            collaboration=world.collaboration,
            document=document,
            version=document.current_version,
            title=f"Avtal {n}.pdf",
            created_by=world.staff,
            deadline=timezone.now() + dt.timedelta(days=7),
            status=Status.PENDING,
            sent_at=timezone.now(),
        )
        for i, acted in enumerate([True, False]):
            Party.objects.create(
                request=request,
                name=f"P{i}",
                email=f"p{i}-{n}@example.com",
                order=1,
                action="signed" if acted else "",
                acted_at=timezone.now() if acted else None,
                token_salt=uuid.uuid4().hex,
                token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            )


def waiting_on(user: User) -> list[Party]:
    """The user's open parties whose turn it is, before their request's deadline, worked out one
    request at a time: what the "waiting on you" lists must show, however they get there."""
    parties = Party.objects.filter(
        user=user,
        request__status=Status.PENDING,
        acted_at__isnull=True,
        role__in=[Role.SIGNER, Role.APPROVER],
    ).select_related("request")
    now = timezone.now()
    return [p for p in parties if p.request.deadline > now and selectors.current_order(p.request) == p.order]


def page(response: Any) -> str:
    return response.content.decode()


# --- Who may use the pages --------------------------------------------------------------------


def _pages(world: World, document: Document, folder: Folder) -> list[tuple[str, str, dict[str, Any]]]:
    request = send(world, document, [PartyInput("A", "a@example.com")])
    c = world.collaboration.pk
    return [
        ("get", reverse("signing:partner_list", args=[c]), {}),
        ("post", reverse("signing:partner_new", args=[c, document.pk]), {}),
        ("get", reverse("signing:partner_detail", args=[c, request.pk]), {}),
        ("post", reverse("signing:partner_cancel", args=[c, request.pk]), {}),
        ("post", reverse("signing:partner_start", args=[c, folder.pk]), {"documents": [document.pk]}),
    ]


@pytest.mark.parametrize("who", ["outsider", "staff_unassigned", "primary", "customer_user"])
def test_others_get_404_on_every_page(
    funded: World, doc: Document, folder: Folder, login: Any, who: str
) -> None:
    world = funded
    client = login(getattr(world, who))
    for method, url, data in _pages(world, doc, folder):
        assert getattr(client, method)(url, data).status_code == 404, url
    # The one request the setup sent; nothing more sent, nothing cancelled.
    assert (SigningRequest.objects.count(), Party.objects.count(), balance(world)) == (1, 1, 4)
    assert SigningRequest.objects.get().status == Status.PENDING


def test_another_tenants_ids_are_404_for_the_owner(funded: World, doc: Document, login: Any) -> None:
    """The outsider's collaboration id with our document, and our request under their id."""
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com")])
    client = login(world.admin)
    other = world.other_collaboration.pk  # the same partner's other customer: not where the rows are
    assert client.post(reverse("signing:partner_new", args=[other, doc.pk])).status_code == 404
    assert client.get(reverse("signing:partner_detail", args=[other, request.pk])).status_code == 404
    outsider = world.outsider_collaboration.pk
    assert client.get(reverse("signing:partner_list", args=[outsider])).status_code == 404


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_admin_and_assigned_staff_see_the_pages(funded: World, doc: Document, login: Any, who: str) -> None:
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com")])
    client = login(getattr(world, who))
    c = world.collaboration.pk
    draft = draft_of(world, doc)
    for url in (
        reverse("signing:partner_list", args=[c]),
        step_url(world, draft, "parties"),
        step_url(world, draft, "settings"),
        step_url(world, draft, "review"),
        reverse("signing:partner_detail", args=[c, request.pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_signeringar_tab_is_on_the_customer_pages(world: World, login: Any) -> None:
    response = login(world.staff).get(reverse("customers:customer_detail", args=[world.collaboration.pk]))
    assert reverse("signing:partner_list", args=[world.collaboration.pk]) in page(response)
    assert ">Signings<" in page(response)


# --- Start from the folder's bulk bar --------------------------------------------------------


def test_folder_bulk_bar_has_the_button_on_the_partner_side_only(
    world: World, folder: Folder, doc: Document, login: Any
) -> None:
    start = reverse("signing:partner_start", args=[world.collaboration.pk, folder.pk])
    response = login(world.staff).get(
        reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    )
    assert f'formaction="{start}"' in page(response)
    assert "Send for e-signing" in page(response)
    response = login(world.primary).get(
        reverse("documents:customer_folder", args=[world.collaboration.pk, folder.pk])
    )
    assert response.status_code == 200
    assert "Send for e-signing" not in page(response)


def test_one_ticked_document_becomes_a_draft_opened_at_its_parties(
    world: World, folder: Folder, doc: Document, login: Any
) -> None:
    url = reverse("signing:partner_start", args=[world.collaboration.pk, folder.pk])
    response = login(world.staff).post(url, {"documents": [doc.pk], "sort": "name"})
    draft = SigningRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == step_url(world, draft, "parties")
    assert (draft.status, draft.document_id, draft.version_id) == (
        Status.DRAFT,
        doc.pk,
        doc.current_version_id,
    )
    assert (draft.created_by, draft.language, draft.reminder_days) == (world.staff, "sv", None)
    assert timezone.localtime(draft.deadline).date() == timezone.localdate() + dt.timedelta(days=14)
    assert not Party.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize("ticked", ["none", "two", "elsewhere"])
def test_anything_but_one_ticked_document_goes_back_with_a_message(
    world: World, folder: Folder, doc: Document, login: Any, ticked: str
) -> None:
    second = upload(folder, world.admin, "Bilaga.pdf")
    other_folder = documents.folder_create(collaboration=world.collaboration, actor=world.admin, name="Annat")
    elsewhere = upload(other_folder, world.admin, "Annat.pdf")
    chosen = {"none": [], "two": [doc.pk, second.pk], "elsewhere": [elsewhere.pk]}[ticked]
    client = login(world.staff)
    url = reverse("signing:partner_start", args=[world.collaboration.pk, folder.pk])
    response = client.post(url, {"documents": chosen}, follow=True)
    folder_url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    assert response.redirect_chain[0][0] == f"{folder_url}#files"
    assert "Tick exactly one document to send for e-signing." in page(response)


# --- The wizard ------------------------------------------------------------------------------


def test_wizard_offers_the_customers_users_and_the_staff_and_the_other_pdfs(
    world: World, folder: Folder, doc: Document, login: Any
) -> None:
    attachment = upload(folder, world.admin, "Bilaga.pdf")
    upload(folder, world.admin, "anteckning.txt", data=b"just text")
    draft = draft_of(world, doc)
    client = login(world.staff)
    response = client.get(step_url(world, draft, "parties"))
    assert response.status_code == 200
    html = page(response)
    for person in (world.primary, world.customer_user, world.admin, world.staff):
        assert f'name="add_person" value="{person.pk}"' in html
    assert f'name="add_person" value="{world.outsider.pk}"' not in html
    html = page(client.get(step_url(world, draft, "settings")))
    assert f'value="{attachment.pk}"' in html and "Bilaga.pdf" in html
    assert "anteckning.txt" not in html  # only PDFs are offered
    assert f'value="{doc.pk}"' not in html  # not the document itself
    default = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    assert f'value="{default}"' in html


def test_quick_add_prefills_a_row_and_keeps_what_was_typed(world: World, doc: Document, login: Any) -> None:
    User.objects.filter(pk=world.primary.pk).update(mobile="0701234567")
    draft = draft_of(world, doc)
    data = form_data([{"name": "Typed Person", "email": "typed@example.com", "order": 2}], step="")
    data |= {"add_person": str(world.primary.pk)}
    response = login(world.staff).post(step_url(world, draft, "parties"), data)
    assert response.status_code == 200
    formset = response.context["formset"]
    assert [f.initial.get("email") for f in formset.forms] == ["typed@example.com", world.primary.email, None]
    assert formset.forms[1].initial["mobile"] == "0701234567"
    assert formset.forms[0].initial["order"] == "2"
    assert nothing_sent() and not Party.objects.exists()  # saved with Save and continue only


def test_quick_add_ignores_people_who_are_not_offered(world: World, doc: Document, login: Any) -> None:
    draft = draft_of(world, doc)
    data = form_data([], step="") | {"add_person": str(world.outsider.pk)}
    response = login(world.staff).post(step_url(world, draft, "parties"), data)
    assert response.status_code == 200
    assert world.outsider.email not in page(response)
    assert [f.initial for f in response.context["formset"].forms] == [{}]


def test_add_a_row_adds_a_blank_row(world: World, doc: Document, login: Any) -> None:
    draft = draft_of(world, doc)
    data = form_data([{"name": "A", "email": "a@example.com"}], step="") | {"add_row": "1"}
    response = login(world.staff).post(step_url(world, draft, "parties"), data)
    assert response.context["formset"].total_form_count() == 3  # A, the added row, the spare row


def test_each_step_saves_to_the_draft_and_shows_it_again(funded: World, doc: Document, login: Any) -> None:
    world = funded
    draft = draft_of(world, doc)
    client = login(world.admin)  # not who started it: anyone who may start signings edits it
    data = form_data(TWO_IN_ORDER, extra={"language": "en", "reminder_days": "5", "message": "Hej"})
    response = client.post(step_url(world, draft, "parties"), data)
    assert response.status_code == 302 and response["Location"] == step_url(world, draft, "settings")
    response = client.post(step_url(world, draft, "settings"), data)
    assert response.status_code == 302 and response["Location"] == step_url(world, draft, "review")
    draft.refresh_from_db()
    assert (draft.status, draft.language, draft.reminder_days, draft.message) == (
        Status.DRAFT,
        "en",
        5,
        "Hej",
    )
    assert (draft.created_by, draft.updated_by) == (world.staff, world.admin)
    parties = list(draft.parties.all())
    assert [(p.name, p.email, p.order, p.user) for p in parties] == [
        ("Karin Primary", "karin@example.com", 1, None),
        ("Olle User", "olle@example.com", 2, None),
    ]
    assert all(p.token_salt and p.notified_at is None for p in parties)
    assert 'value="karin@example.com"' in page(client.get(step_url(world, draft, "parties")))
    assert "Hej" in page(client.get(step_url(world, draft, "settings")))
    # Saving again replaces the rows.
    client.post(step_url(world, draft, "parties"), form_data([{"name": "Bo", "email": "bo@example.com"}]))
    assert [p.email for p in draft.parties.all()] == ["bo@example.com"]
    assert nothing_sent() and balance(world) == 5


def test_review_shows_everything_and_the_balance_and_sends_nothing(
    funded: World, doc: Document, login: Any
) -> None:
    world = funded
    response = run_wizard(login(world.staff), world, doc, TWO_IN_ORDER, step="review")
    assert response.status_code == 200
    html = page(response)
    assert "Review and send" in html
    assert "karin@example.com" in html and "olle@example.com" in html
    assert "Hej, skriv under är ni snälla." in html
    assert "5 signatures left. Sending uses one." in html
    draft = SigningRequest.objects.get()
    assert f'action="{step_url(world, draft, "send")}"' in html
    assert f'name="version" value="{doc.current_version_id}"' in html
    assert nothing_sent() and draft.status == Status.DRAFT
    assert balance(world) == 5


def test_review_of_an_unfinished_draft_says_what_is_missing(world: World, doc: Document, login: Any) -> None:
    draft = draft_of(world, doc)
    html = page(login(world.staff).get(step_url(world, draft, "review")))
    assert "Add at least one party." in html
    assert f'href="{step_url(world, draft, "parties")}"' in html


def test_happy_path_sends_charges_one_and_emails_the_first_parties(
    funded: World, folder: Folder, doc: Document, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = funded
    attachment = upload(folder, world.admin, "Bilaga.pdf")
    mail.outbox.clear()
    client = login(world.staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = run_wizard(
            client, world, doc, TWO_IN_ORDER, extra={"attachments": [attachment.pk], "language": "en"}
        )
    request = SigningRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "signing:partner_detail", args=[world.collaboration.pk, request.pk]
    )
    assert balance(world) == 4
    assert request.status == Status.PENDING and request.sent_at is not None
    assert request.created_by == world.staff
    assert request.language == "en"
    assert request.reminder_days == 3
    assert timezone.localtime(request.deadline).date() == timezone.localdate() + dt.timedelta(days=14)
    assert [(p.name, p.email, p.order, p.role) for p in request.parties.all()] == [
        ("Karin Primary", "karin@example.com", 1, Role.SIGNER),
        ("Olle User", "olle@example.com", 2, Role.SIGNER),
    ]
    assert [a.name for a in request.attachments.all()] == ["Bilaga.pdf"]
    to = [m.to for m in mail.outbox]
    assert ["karin@example.com"] in to
    assert ["olle@example.com"] not in to
    detail = client.get(response["Location"])
    assert "Avtal.pdf was sent for signing." in page(detail)
    # The steps of a sent request lead to its page.
    for step in ("parties", "settings", "review"):
        assert client.get(step_url(world, request, step))["Location"] == response["Location"]


def test_an_empty_balance_links_to_balances_and_leaves_the_draft(
    world: World, doc: Document, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Partner.objects.filter(pk=world.partner.pk).update(signature_balance=0)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = run_wizard(login(world.staff), world, doc, TWO_IN_ORDER)
    assert response.status_code == 422
    assert f'href="{reverse("billing:balances")}"' in page(response)
    assert "Buy more signatures on the Balances page under Settings." in page(response)
    assert nothing_sent() and SigningRequest.objects.get().status == Status.DRAFT
    assert mail.outbox == []
    assert balance(world) == 0


BAD_INPUT: dict[str, tuple[list[dict[str, Any]], dict[str, str], str]] = {
    "party without an email": (
        [{"name": "Karin Primary", "email": ""}],
        {},
        "Karin Primary has no email address.",
    ),
    "the same email twice": (
        [{"name": "A", "email": "same@example.com"}, {"name": "B", "email": "SAME@example.com"}],
        {},
        "same@example.com is given for two parties.",
    ),
    "a deadline in the past": (
        TWO_IN_ORDER,
        {"deadline": (timezone.localdate() - dt.timedelta(days=1)).isoformat()},
        "The deadline must be in the future.",
    ),
    "no party": ([], {}, "Add at least one party."),
    "nobody signs": (
        [{"name": "A", "email": "a@example.com", "role": "viewer"}],
        {},
        "At least one party must sign.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_with_a_message_and_nothing_is_sent(
    funded: World, doc: Document, login: Any, case: str
) -> None:
    world = funded
    parties, extra, message = BAD_INPUT[case]
    for step in ("review", "send"):
        response = run_wizard(login(world.staff), world, doc, parties, step=step, extra=extra)
        assert response.status_code == 422
        assert message in page(response)
    assert nothing_sent()
    assert balance(world) == 5


def test_every_error_of_a_step_shows_at_once(funded: World, doc: Document, login: Any) -> None:
    world = funded
    draft = draft_of(world, doc)
    client = login(world.staff)
    rows = [{"name": "Karin Primary", "email": ""}, {"name": "", "email": "x@example.com"}]
    html = page(client.post(step_url(world, draft, "parties"), form_data(rows)))
    assert "Karin Primary has no email address." in html
    assert "Enter the name of the party with the address x@example.com." in html
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = client.post(
        step_url(world, draft, "settings"), form_data([], extra={"deadline": past, "reminder_days": "99"})
    )
    assert response.status_code == 422
    assert "The deadline must be in the future." in page(response)
    assert "Ensure this value is less than or equal to 30." in page(response)


def test_a_non_pdf_shows_why_it_cannot_be_signed(funded: World, folder: Folder, login: Any) -> None:
    world = funded
    docx = upload(folder, world.admin, "Avtal.docx", data=b"PK\x03\x04" + b"\x00" * 200)
    client = login(world.staff)
    response = client.post(new_url(world, docx))
    assert response.status_code == 422
    assert "Avtal.docx cannot be sent for e-signing" in page(response)
    assert "Avtal.docx:" in page(response)  # pdfcheck's reason, named
    start = reverse("signing:partner_start", args=[world.collaboration.pk, folder.pk])
    response = client.post(start, {"documents": [docx.pk]})
    assert response.status_code == 422 and "Avtal.docx cannot be sent for e-signing" in page(response)
    assert nothing_created()
    assert balance(world) == 5


def test_a_deleted_document_is_404(world: World, doc: Document, login: Any) -> None:
    documents.documents_delete(documents=[doc], actor=world.admin)
    assert login(world.staff).post(new_url(world, doc)).status_code == 404
    assert nothing_created()


def test_the_start_is_post_only(world: World, doc: Document, login: Any) -> None:
    assert login(world.staff).get(new_url(world, doc)).status_code == 405
    assert nothing_created()


# --- Signeringar and the request page ---------------------------------------------------------


def test_list_shows_status_and_progress(funded: World, doc: Document, login: Any) -> None:
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com"), PartyInput("B", "b@example.com")])
    Party.objects.filter(request=request, email="a@example.com").update(
        action="signed", acted_at=timezone.now()
    )
    response = login(world.admin).get(reverse("signing:partner_list", args=[world.collaboration.pk]))
    html = page(response)
    assert "1 of 2 signed" in html
    assert "Waiting for signatures" in html
    assert reverse("signing:partner_detail", args=[world.collaboration.pk, request.pk]) in html


def _list_queries(client: Client, world: World, document: Document, count: int) -> tuple[int, int]:
    SigningRequest.objects.all().delete()
    signing_rows(world, document, count)
    url = reverse("signing:partner_list", args=[world.collaboration.pk])
    client.get(url)  # the first visit stores the active organisation in the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    assert page(response).count("1 of 2 signed") == count
    return len(ctx.captured_queries), len(response.context["page"].object_list)


def test_list_query_count_is_constant_with_3_and_30_requests(
    world: World, doc: Document, login: Any, settings: Any
) -> None:
    settings.PAGE_SIZE = 100  # all rows on one page, so a per-row query would show
    client = login(world.staff)
    small, shown_small = _list_queries(client, world, doc, 3)
    large, shown_large = _list_queries(client, world, doc, 30)
    assert (shown_small, shown_large) == (3, 30)
    assert small == large
    # session, user, collaboration, the user's two membership kinds, assignment, count, bell, page
    assert large <= 9


def test_list_is_paginated(world: World, doc: Document, login: Any, settings: Any) -> None:
    settings.PAGE_SIZE = 2
    signing_rows(world, doc, 5)
    url = reverse("signing:partner_list", args=[world.collaboration.pk])
    response = login(world.staff).get(url, {"page": 3})
    assert len(response.context["page"].object_list) == 1
    assert "Page 3 of 3 (5 in all)" in page(response)


def test_request_page_shows_parties_and_timeline(
    funded: World, doc: Document, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world = funded
    with django_capture_on_commit_callbacks(execute=True):
        request = send(
            world,
            doc,
            [
                PartyInput("Anna Approver", "anna@example.com", role=Role.APPROVER, order=1),
                PartyInput("Bo Signer", "bo@example.com", order=2),
                PartyInput("Cia Copy", "cia@example.com", role=Role.VIEWER, order=3),
            ],
        )
    response = login(world.admin).get(
        reverse("signing:partner_detail", args=[world.collaboration.pk, request.pk])
    )
    html = page(response)
    assert response.status_code == 200
    for text in ("Anna Approver", "Approver", "Their turn", "Bo Signer", "Waiting for earlier parties"):
        assert text in html
    assert "Gets a copy when everyone has signed" in html
    assert "Sent for signing" in html
    assert "Anna Approver was sent the signing link" in html
    assert "Open the sealed PDF" not in html


def test_request_page_links_the_sealed_document_when_done(
    funded: World, folder: Folder, doc: Document, login: Any
) -> None:
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com")])
    sealed = upload(folder, world.admin, "Avtal (signerat).pdf")
    SigningRequest.objects.filter(pk=request.pk).update(
        status=Status.COMPLETED, finished_at=timezone.now(), sealed_version=sealed.current_version
    )
    response = login(world.staff).get(
        reverse("signing:partner_detail", args=[world.collaboration.pk, request.pk])
    )
    assert reverse("documents:document_detail", args=[sealed.pk]) in page(response)
    assert "Open the sealed PDF" in page(response)
    assert "Cancel the signing" not in page(response)


# --- Cancelling ----------------------------------------------------------------------------------


def _cancel(client: Client, world: World, request: SigningRequest) -> Any:
    return client.post(reverse("signing:partner_cancel", args=[world.collaboration.pk, request.pk]))


def test_sender_cancels_and_the_signature_is_refunded(funded: World, doc: Document, login: Any) -> None:
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com")], actor=world.staff)
    assert balance(world) == 4
    client = login(world.staff)
    detail = reverse("signing:partner_detail", args=[world.collaboration.pk, request.pk])
    assert "Cancel the signing" in page(client.get(detail))
    response = _cancel(client, world, request)
    assert response.status_code == 302 and response["Location"] == detail
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert balance(world) == 5
    assert "The signing was cancelled and the signature refunded." in page(client.get(detail))
    # Once: a second click changes nothing and says why.
    response = client.post(
        reverse("signing:partner_cancel", args=[world.collaboration.pk, request.pk]), follow=True
    )
    assert "Only a signing that is waiting for signatures can be cancelled." in page(response)
    assert balance(world) == 5


def test_admin_cancels_what_staff_sent(funded: World, doc: Document, login: Any) -> None:
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com")], actor=world.staff)
    assert _cancel(login(world.admin), world, request).status_code == 302
    assert SigningRequest.objects.get(pk=request.pk).status == Status.CANCELLED


def test_other_staff_without_admin_right_get_403_and_no_button(
    funded: World, doc: Document, login: Any
) -> None:
    world = funded
    colleague = PartnerMembershipFactory.create(partner=world.partner, user__name="Cecilia Colleague").user
    User.objects.filter(pk=colleague.pk).update(language="en")
    assign_perm(WORK_WITH_CUSTOMER, colleague, world.collaboration)
    request = send(world, doc, [PartyInput("A", "a@example.com")], actor=world.staff)
    client = login(colleague)
    detail = client.get(reverse("signing:partner_detail", args=[world.collaboration.pk, request.pk]))
    assert detail.status_code == 200
    assert "Cancel the signing" not in page(detail)
    assert _cancel(client, world, request).status_code == 403
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING
    assert balance(world) == 4


def test_cancel_is_post_only(funded: World, doc: Document, login: Any) -> None:
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com")])
    url = reverse("signing:partner_cancel", args=[world.collaboration.pk, request.pk])
    assert login(world.staff).get(url).status_code == 405
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING


# --- Needs attention --------------------------------------------------------------------------------


def test_mina_samarbeten_shows_waiting_declined_and_recently_expired(
    funded: World, doc: Document, login: Any
) -> None:
    world = funded
    waiting = [send(world, doc, [PartyInput("A", f"a{n}@example.com")]) for n in range(2)]
    declined = send(world, doc, [PartyInput("A", "d@example.com")])
    old = send(world, doc, [PartyInput("A", "o@example.com")])
    expired = send(world, doc, [PartyInput("A", "e@example.com")])
    now = timezone.now()
    SigningRequest.objects.filter(pk=declined.pk).update(status=Status.DECLINED, finished_at=now)
    SigningRequest.objects.filter(pk=expired.pk).update(status=Status.EXPIRED, finished_at=now)
    SigningRequest.objects.filter(pk=old.pk).update(
        status=Status.DECLINED, finished_at=now - dt.timedelta(days=40)
    )
    assert len(waiting) == 2
    response = login(world.admin).get(reverse("customers:customer_list"))
    rows = {c.customer.name: c for c in response.context["page"].object_list}
    ours = rows["Kund Alfa AB"]
    assert (ours.signings_waiting, ours.signings_declined, ours.signings_expired) == (2, 1, 1)
    other = rows["Bygg Alfa AB"]
    assert (other.signings_waiting, other.signings_declined, other.signings_expired) == (0, 0, 0)
    html = page(response)
    assert "2 waiting" in html and "1 declined" in html and "1 expired" in html
    assert reverse("signing:partner_list", args=[world.collaboration.pk]) in html


def test_the_badge_goes_away_when_the_signing_completes(funded: World, doc: Document, login: Any) -> None:
    world = funded
    request = send(world, doc, [PartyInput("A", "a@example.com")])
    SigningRequest.objects.filter(pk=request.pk).update(status=Status.COMPLETED, finished_at=timezone.now())
    response = login(world.admin).get(reverse("customers:customer_list"))
    assert "waiting" not in page(response)


def _customer_list_queries(client: Client, n_customers: int) -> int:
    partner = PartnerFactory.create()
    member = PartnerMembershipFactory.create(partner=partner, role="admin", user__language="en").user
    for _ in range(n_customers):
        collaboration = CollaborationFactory.create(partner=partner)
        CustomerMembershipFactory.create(
            customer=collaboration.customer, is_primary_contact=True, is_admin=True
        )
        folder = Folder.objects.create(collaboration=collaboration, name="F", created_by=member)
        document = Document.objects.create(folder=folder, name="x.pdf")
        version = document.versions.create(
            number=1,
            storage_key=f"k/{uuid.uuid4().hex}",
            size=1,
            content_type="application/pdf",
            sha256="0" * 64,
        )
        for status in (Status.PENDING, Status.DECLINED):
            SigningRequest.objects.create(
                collaboration=collaboration,
                document=document,
                version=version,
                title="x.pdf",
                created_by=member,
                deadline=timezone.now() + dt.timedelta(days=1),
                status=status,
                finished_at=timezone.now() if status == Status.DECLINED else None,
            )
    client.force_login(member)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("customers:customer_list"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == n_customers
    assert page(response).count(">1 declined</span>") == n_customers  # the badge, not its dismiss button
    return len(ctx.captured_queries)


def test_mina_samarbeten_query_count_is_constant_with_signings(
    db: None, client: Client, settings: Any
) -> None:
    settings.PAGE_SIZE = 100
    assert _customer_list_queries(client, 3) == _customer_list_queries(client, 60)


def test_samarbeten_lists_the_signings_waiting_on_the_user(funded: World, doc: Document, login: Any) -> None:
    world = funded
    request = send(
        world,
        doc,
        [
            PartyInput("Karin", world.primary.email, order=1),
            PartyInput("Olle", world.customer_user.email, order=2),
        ],
    )
    karin = Party.objects.get(request=request, user=world.primary)
    response = login(world.primary).get(reverse("customers:collaboration_list"))
    html = page(response)
    assert "1 document is waiting for you" in html
    assert f'href="{reverse("signing:party_open", args=[karin.pk])}"' in html
    assert [p.pk for p, _url in response.context["waiting"]] == [p.pk for p in waiting_on(world.primary)]
    # Olle's turn has not come.
    response = login(world.customer_user).get(reverse("customers:collaboration_list"))
    assert response.context["waiting"] == []
    assert "waiting for you" not in page(response)
    assert waiting_on(world.customer_user) == []
    # Past its deadline nothing waits any more, though the request is still pending until beat
    # expires it.
    SigningRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - dt.timedelta(minutes=1))
    response = login(world.primary).get(reverse("customers:collaboration_list"))
    assert response.context["waiting"] == [] and waiting_on(world.primary) == []
    assert "waiting for you" not in page(response)


def test_samarbeten_waiting_list_follows_the_turn(funded: World, doc: Document, login: Any) -> None:
    world = funded
    request = send(
        world,
        doc,
        [
            PartyInput("Karin", world.primary.email, order=1),
            PartyInput("Olle", world.customer_user.email, order=2),
        ],
    )
    Party.objects.filter(request=request, user=world.primary).update(action="signed", acted_at=timezone.now())
    response = login(world.customer_user).get(reverse("customers:collaboration_list"))
    assert [p.user_id for p, _url in response.context["waiting"]] == [world.customer_user.pk]
    party = Party.objects.get(request=request, user=world.customer_user)
    # The page links to the logged-in opener, which leads on to the party's link; no token in the page.
    assert f'href="/signings/mine/{party.pk}/"' in page(response)
    assert "/sign/" not in page(response)
    opened = login(world.customer_user).get(f"/signings/mine/{party.pk}/")
    assert opened.status_code == 302 and re.fullmatch(r"/sign/[0-9a-f]{40,}/", opened["Location"])
    response = login(world.primary).get(reverse("customers:collaboration_list"))
    assert response.context["waiting"] == []


def test_the_waiting_flag_is_what_the_waiting_list_finds(funded: World, doc: Document) -> None:
    """Samarbeten reads the waiting signings only when a collaboration's flag says there are any
    (selectors.waiting_on_user_exists, SQL): the flag must agree with the list in every state."""
    from customers.models import Collaboration

    world = funded
    users = (world.primary, world.customer_user)

    def flags() -> dict[int, bool]:
        found = {}
        for user in users:
            row = (
                Collaboration.objects.filter(pk=world.collaboration.pk)
                .annotate(waiting=selectors.waiting_on_user_exists(user=user))
                .get()
            )
            listed = selectors.parties_waiting_on(user=user, collaboration_ids=[world.collaboration.pk])
            assert row.waiting == listed.exists()
            found[user.pk] = row.waiting
        return found

    assert flags() == {world.primary.pk: False, world.customer_user.pk: False}
    request = send(
        world,
        doc,
        [
            PartyInput("Karin", world.primary.email, order=1),
            PartyInput("Olle", world.customer_user.email, order=2, role=Role.APPROVER),
        ],
    )
    assert flags() == {world.primary.pk: True, world.customer_user.pk: False}  # Olle's turn is later
    Party.objects.filter(request=request, user=world.primary).update(action="signed", acted_at=timezone.now())
    assert flags() == {world.primary.pk: False, world.customer_user.pk: True}
    Party.objects.filter(request=request, user=world.customer_user).update(role=Role.VIEWER)
    assert flags() == {world.primary.pk: False, world.customer_user.pk: False}  # a copy: nothing to do
    Party.objects.filter(request=request, user=world.customer_user).update(role=Role.SIGNER)
    SigningRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - dt.timedelta(minutes=1))
    assert flags() == {world.primary.pk: False, world.customer_user.pk: False}  # past its deadline
    SigningRequest.objects.filter(pk=request.pk).update(
        deadline=timezone.now() + dt.timedelta(days=1), status=Status.CANCELLED
    )
    assert flags() == {world.primary.pk: False, world.customer_user.pk: False}


def _samarbeten_queries(client: Client, world: World, document: Document, count: int) -> int:
    SigningRequest.objects.all().delete()
    for n in range(count):
        send(
            world, document, [PartyInput("Karin", world.primary.email), PartyInput("B", f"b{n}@example.com")]
        )
    client.force_login(world.primary)
    url = reverse("customers:collaboration_list")
    client.get(url)  # the first visit stores the active organisation in the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert len(response.context["waiting"]) == count
    return len(ctx.captured_queries)


def test_samarbeten_query_count_is_constant_with_1_and_6_waiting(
    funded: World, doc: Document, client: Client
) -> None:
    world = funded
    billing.signature_grant(partner=world.partner, amount=10, reason="test")
    none = _samarbeten_queries(client, world, doc, 0)
    one = _samarbeten_queries(client, world, doc, 1)
    six = _samarbeten_queries(client, world, doc, 6)
    # Nothing waiting costs nothing; something waiting costs one query however much waits.
    assert (one, six) == (none + 1, none + 1)


# --- Uploading an attachment in the wizard --------------------------------------------------------------


def test_a_pdf_uploaded_in_the_wizard_is_stored_in_the_folder_and_ticked(
    funded: World, doc: Document, login: Any
) -> None:
    client = login(funded.staff)
    draft = draft_of(funded, doc)
    data = form_data(TWO_IN_ORDER, extra={"upload_attachment": "1"})
    data["new_attachment"] = SimpleUploadedFile("Bilaga.pdf", blank_pdf(2), content_type="application/pdf")
    response = client.post(step_url(funded, draft, "settings"), data)
    assert response.status_code == 200
    attached = Document.objects.get(folder=doc.folder, name="Bilaga.pdf")
    assert str(attached.pk) in [str(v) for v in response.context["form"].initial["attachments"]]
    assert "Bilaga.pdf was uploaded and attached." in page(response)
    assert nothing_sent()  # still only the form: nothing is sent yet


def test_an_uploaded_attachment_that_cannot_be_signed_is_refused_and_not_stored(
    funded: World, doc: Document, login: Any
) -> None:
    client = login(funded.staff)
    draft = draft_of(funded, doc)
    before = Document.objects.count()
    data = form_data(TWO_IN_ORDER, extra={"upload_attachment": "1"})
    data["new_attachment"] = SimpleUploadedFile(
        "Avtal.pdf", b"PK\x03\x04 not a pdf", content_type="application/pdf"
    )
    response = client.post(step_url(funded, draft, "settings"), data)
    assert response.status_code == 422
    assert "not a PDF" in page(response)
    assert Document.objects.count() == before and nothing_sent()
