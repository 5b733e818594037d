"""Who may do what with a folder and its documents, over HTTP, as one explicit table.

The folder under test is a top-level folder of `world.collaboration` shared with the customer
as `edit` with ONE selected user (`with_access`); the primary contact is not selected and does
not manage access. It holds a document the firm uploaded and one the customer user uploaded.
Every actor is sent to every action on both sides; the wrong side is always a 404. After a
refused write nothing has changed: documents, versions, permission rows, folders, audit log
and the stored files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from customers.models import CustomerMembership
from documents import selectors, services
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
)
from portal.models import AuditEvent, User
from tests.conftest import World
from tests.factories import CustomerMembershipFactory

pytestmark = pytest.mark.django_db

FIRM_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n% firm\n"
CUSTOMER_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n% customer\n"
NEW_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n% new upload\n"

FOLDER = "Löneunderlag"
READ_ONLY_FOLDER = "Årsredovisning"
FIRM_DOC = "Lönespecifikation mars.pdf"
CUSTOMER_DOC = "Kvitton mars.pdf"
NEW_DOC = "Kontoutdrag april.pdf"


# --- The world the table is about ----------------------------------------------------------


@dataclass
class Docs:
    world: World
    without_access: User  # a third user of the customer, not selected
    other_customer_user: User  # primary contact of A's other customer
    folder: Folder  # edit, selected = [with_access], primary_contact_manages=False
    read_only: Folder  # read, selected = [with_access]
    firm_doc: Document
    customer_doc: Document

    @property
    def collaboration_id(self) -> int:
        return self.world.collaboration.pk


@pytest.fixture
def docs(world: World) -> Docs:
    User.objects.update(language="en")
    without_access = CustomerMembershipFactory.create(
        customer=world.customer, user__name="Vera Utan", user__language="en"
    ).user
    other_customer_user = CustomerMembership.objects.get(customer=world.other_collaboration.customer).user
    folder = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name=FOLDER,
        customer_access=CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
        primary_contact_manages=False,
    )
    read_only = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name=READ_ONLY_FOLDER,
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    firm_doc = services.document_upload(
        folder=folder, actor=world.admin, name=FIRM_DOC, chunks=[FIRM_PDF], by_customer=False
    ).document
    customer_doc = services.document_upload(
        folder=folder, actor=world.customer_user, name=CUSTOMER_DOC, chunks=[CUSTOMER_PDF], by_customer=True
    ).document
    return Docs(
        world=world,
        without_access=without_access,
        other_customer_user=other_customer_user,
        folder=folder,
        read_only=read_only,
        firm_doc=firm_doc,
        customer_doc=customer_doc,
    )


ACTORS: dict[str, Callable[[Docs], User | None]] = {
    "admin": lambda d: d.world.admin,
    "staff": lambda d: d.world.staff,  # assigned to the collaboration
    "unassigned": lambda d: d.world.staff_unassigned,
    "primary": lambda d: d.world.primary,  # primary contact, not selected
    "with_access": lambda d: d.world.customer_user,
    "without_access": lambda d: d.without_access,
    "other_customer": lambda d: d.other_customer_user,  # another customer of the same partner
    "other_partner": lambda d: d.world.outsider,  # admin of partner B
    "anonymous": lambda d: None,
}
PARTNER_SIDE = {"admin", "staff"}

# --- The table -----------------------------------------------------------------------------

DL = frozenset({200, 302})  # a download is the file itself, or a redirect to a presigned URL
LOGIN = "login"  # redirected to the login page
# A partner user on a customer-side folder page is sent to the partner page of the same folder
# (documents/views/customer.py says so on purpose); nothing is done on the way.
TO_PARTNER = "to_partner"

ACTIONS = (
    "list_partner",  # lstP: GET partner_root
    "list_customer",  # lstC: GET customer_root
    "open_partner",  # opnP: GET partner_folder
    "open_customer",  # opnC: GET customer_folder
    "download_firm_doc",  # dlF: GET document_download of the firm's document
    "download_customer_doc",  # dlC: the same for the customer's document
    "upload",  # upE: raw body + X-File-Name into the edit folder
    "upload_read_only",  # upR: the same into the read-only folder
    "delete_firm_doc",  # delF: POST document_delete of the firm's document
    "delete_customer_doc",  # delC: the same for the customer's document
    "access_partner",  # accP: POST partner_folder_access (AccessForm)
    "access_customer",  # accC: POST customer_folder_access (AudienceForm); primary_contact_manages=False
    "access_customer_pcm",  # +pcm: the same with primary_contact_manages=True
    "access_customer_sel",  # +sel: primary contact also selected; primary_contact_manages=False
    "access_customer_sel_pcm",  # +s+p: primary contact also selected; primary_contact_manages=True
)

_ALL_404 = (404,) * len(ACTIONS)
_TP = TO_PARTNER
# fmt: off
TABLE: dict[str, tuple[int | frozenset[int] | str, ...]] = {
    #                  lstP lstC opnP opnC dlF  dlC  upE  upR  delF delC accP accC +pcm +sel +s+p
    "admin":          (200, 404, 200, _TP, DL,  DL,  201, 201, 302, 302, 302, _TP, _TP, _TP, _TP),
    "staff":          (200, 404, 200, _TP, DL,  DL,  201, 201, 302, 302, 302, _TP, _TP, _TP, _TP),
    "unassigned":     _ALL_404,
    "primary":        (404, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 302, 403, 302),
    "with_access":    (404, 200, 404, 200, DL,  DL,  201, 403, 403, 302, 404, 403, 403, 403, 403),
    "without_access": (404, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "other_customer": _ALL_404,
    "other_partner":  _ALL_404,
    "anonymous":      (LOGIN,) * len(ACTIONS),
}
# fmt: on
# Who finds FOLDER's name on the list page of their side (when that page is a 200).
SEES_FOLDER_IN_LIST = {"admin", "staff", "with_access"}

assert set(TABLE) == set(ACTORS)
assert all(len(row) == len(ACTIONS) for row in TABLE.values())

CELLS = [(actor, action, TABLE[actor][i]) for actor in TABLE for i, action in enumerate(ACTIONS)]
WRITES = {
    "upload",
    "upload_read_only",
    "delete_firm_doc",  # delF: POST document_delete of the firm's document
    "delete_customer_doc",  # delC: the same for the customer's document
    "access_partner",
    "access_customer",
    "access_customer_pcm",
    "access_customer_sel",
    "access_customer_sel_pcm",
}


# --- Performing an action ------------------------------------------------------------------


def _prepare(action: str, d: Docs) -> None:
    """Set up the variant of the folder an access action is about (before the 'before' snapshot)."""
    primary_selected = action in {"access_customer_sel", "access_customer_sel_pcm"}
    pcm = action in {"access_customer_pcm", "access_customer_sel_pcm"}
    if primary_selected or pcm:
        selected = [d.world.customer_user.pk] + ([d.world.primary.pk] if primary_selected else [])
        services.folder_set_access(
            folder=d.folder,
            actor=d.world.admin,
            customer_access=CustomerAccess.EDIT,
            audience=Audience.SELECTED,
            selected_user_ids=selected,
            primary_contact_manages=pcm,
        )


def _upload(client: Client, folder: Folder, name: str = NEW_DOC, data: bytes = NEW_PDF) -> Any:
    return client.post(
        reverse("documents:upload", args=[folder.pk]),
        data=data,
        content_type="application/octet-stream",
        headers={"X-File-Name": quote(name)},
    )


def _perform(action: str, client: Client, d: Docs) -> Any:
    cid, fid = d.collaboration_id, d.folder.pk
    match action:
        case "list_partner":
            return client.get(reverse("documents:partner_root", args=[cid]))
        case "list_customer":
            return client.get(reverse("documents:customer_root", args=[cid]))
        case "open_partner":
            return client.get(reverse("documents:partner_folder", args=[cid, fid]))
        case "open_customer":
            return client.get(reverse("documents:customer_folder", args=[cid, fid]))
        case "download_firm_doc":
            return client.get(reverse("documents:document_download", args=[d.firm_doc.pk]))
        case "download_customer_doc":
            return client.get(reverse("documents:document_download", args=[d.customer_doc.pk]))
        case "upload":
            return _upload(client, d.folder)
        case "upload_read_only":
            return _upload(client, d.read_only)
        case "delete_firm_doc":
            return client.post(reverse("documents:document_delete", args=[d.firm_doc.pk]))
        case "delete_customer_doc":
            return client.post(reverse("documents:document_delete", args=[d.customer_doc.pk]))
        case "access_partner":
            # What the partner's access dialog posts: read only, for both customer users.
            return client.post(
                reverse("documents:partner_folder_access", args=[cid, fid]),
                {
                    "customer_access": CustomerAccess.READ,
                    "audience": Audience.SELECTED,
                    "users": [d.world.customer_user.pk, d.without_access.pk],
                },
            )
        case _:
            assert action.startswith("access_customer")
            # What the primary contact's dialog posts: who at the customer, not the level.
            return client.post(
                reverse("documents:customer_folder_access", args=[cid, fid]),
                {"audience": Audience.SELECTED, "users": [d.world.customer_user.pk, d.without_access.pk]},
            )


# --- What changed --------------------------------------------------------------------------


def _stored_files() -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _state() -> dict[str, Any]:
    return {
        "documents": sorted(
            Document.objects.values_list("pk", "folder_id", "name", "deleted_at", "current_version_id")
        ),
        "versions": sorted(DocumentVersion.objects.values_list("pk", "document_id", "number", "deleted_at")),
        "user_perms": sorted(
            FolderUserObjectPermission.objects.values_list(
                "content_object_id", "user_id", "permission__codename"
            )
        ),
        "group_perms": sorted(
            FolderGroupObjectPermission.objects.values_list(
                "content_object_id", "group_id", "permission__codename"
            )
        ),
        "folders": sorted(
            Folder.objects.values_list(
                "pk", "parent_id", "name", "customer_access", "audience", "primary_contact_manages"
            )
        ),
        "files": _stored_files(),
        "audit": list(AuditEvent.objects.order_by("pk").values_list("pk", flat=True)),
    }


def _selected(folder: Folder, codename: str) -> set[int]:
    return set(
        FolderUserObjectPermission.objects.filter(
            content_object=folder, permission__codename=codename
        ).values_list("user_id", flat=True)
    )


def _new_audit_actions(before: dict[str, Any]) -> list[str]:
    return list(
        AuditEvent.objects.exclude(pk__in=before["audit"]).order_by("pk").values_list("action", flat=True)
    )


def _check_allowed(action: str, actor: str, response: Any, d: Docs, before: dict[str, Any]) -> None:
    """An allowed action did what it says, and nothing else."""
    w = d.world
    html = response.content.decode() if action.startswith(("list", "open")) else ""
    match action:
        case "list_partner" | "list_customer":
            assert (FOLDER in html) == (actor in SEES_FOLDER_IN_LIST), html
        case "open_partner" | "open_customer":
            for text in (FOLDER, FIRM_DOC, CUSTOMER_DOC):
                assert text in html, text
        case "download_firm_doc" | "download_customer_doc":
            if response.status_code == 200:
                # Reading it to the end closes it (the test client's wrapper); close() would also
                # close the test's database connection.
                body = b"".join(response.streaming_content)
                assert body == (FIRM_PDF if action == "download_firm_doc" else CUSTOMER_PDF)
                assert response["Content-Disposition"].startswith("attachment")
            assert _new_audit_actions(before) == ["document.download"]
        case "upload" | "upload_read_only":
            target = d.folder if action == "upload" else d.read_only
            assert response.json()["ok"] is True and response.json()["name"] == NEW_DOC
            created = Document.objects.get(folder=target, name=NEW_DOC, deleted_at__isnull=True)
            assert created.uploaded_by_customer is (actor not in PARTNER_SIDE)
            assert created.current_version is not None and created.current_version.size == len(NEW_PDF)
            assert len(_stored_files()) == len(before["files"]) + 1
            assert _new_audit_actions(before) == ["document.upload"]
        case "delete_firm_doc" | "delete_customer_doc":
            gone, kept = (
                (d.firm_doc, d.customer_doc) if action == "delete_firm_doc" else (d.customer_doc, d.firm_doc)
            )
            side_url = "documents:partner_folder" if actor in PARTNER_SIDE else "documents:customer_folder"
            assert response["Location"] == reverse(side_url, args=[d.collaboration_id, d.folder.pk])
            gone.refresh_from_db()
            kept.refresh_from_db()
            assert gone.deleted_at is not None and kept.deleted_at is None
            assert _new_audit_actions(before) == ["document.delete"]
        case "access_partner":
            d.folder.refresh_from_db()
            assert (d.folder.customer_access, d.folder.audience) == (CustomerAccess.READ, Audience.SELECTED)
            assert d.folder.primary_contact_manages is False
            assert _selected(d.folder, "view_folder") == {w.customer_user.pk, d.without_access.pk}
            assert _selected(d.folder, "upload_to_folder") == set()
            assert _new_audit_actions(before) == ["folder.access"]
        case _:
            assert action.startswith("access_customer")
            d.folder.refresh_from_db()
            # The level stays the partner's: still edit, still managed by the primary contact.
            assert (d.folder.customer_access, d.folder.audience) == (CustomerAccess.EDIT, Audience.SELECTED)
            assert d.folder.primary_contact_manages is True
            want = {w.customer_user.pk, d.without_access.pk}
            assert _selected(d.folder, "view_folder") == want
            assert _selected(d.folder, "upload_to_folder") == want
            assert _new_audit_actions(before) == ["folder.access"]
    if action not in WRITES and not action.startswith("download"):
        assert _state() == before, "a page view changed something"


@pytest.mark.parametrize(
    ("actor", "action", "expected"), CELLS, ids=[f"{actor}-{action}" for actor, action, _ in CELLS]
)
def test_permission_matrix(
    docs: Docs, client: Client, actor: str, action: str, expected: int | frozenset[int] | str
) -> None:
    _prepare(action, docs)
    user = ACTORS[actor](docs)
    if user is not None:
        client.force_login(user)
    before = _state()

    response = _perform(action, client, docs)

    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert _state() == before
        return
    if expected == TO_PARTNER:
        partner_page = "partner_folder_access" if action.startswith("access") else "partner_folder"
        assert response.status_code == 302, (actor, action, response.status_code)
        assert response["Location"] == reverse(
            f"documents:{partner_page}", args=[docs.collaboration_id, docs.folder.pk]
        )
        assert _state() == before
        return
    if not isinstance(expected, frozenset):
        assert isinstance(expected, int)
        expected = frozenset({expected})
    allowed = expected
    assert response.status_code in allowed, (actor, action, response.status_code)
    if response.status_code in (403, 404):
        # Refused: nothing changed, not even the audit log or the stored files.
        assert _state() == before
    else:
        _check_allowed(action, actor, response, docs, before)


# --- Which folders a customer user sees -----------------------------------------------------


@dataclass
class Shelf:
    all_users: Folder
    selected: Folder
    selected_sub: Folder
    internal: Folder


@pytest.fixture
def shelf(docs: Docs) -> Shelf:
    w = docs.world
    # Drop the matrix folders so that the shelf is exactly these four.
    Folder.objects.filter(collaboration=w.collaboration).delete()

    def make(name: str, access: str, audience: str = Audience.ALL, users: tuple[int, ...] = ()) -> Folder:
        return services.folder_create(
            collaboration=w.collaboration,
            actor=w.admin,
            name=name,
            customer_access=access,
            audience=audience,
            selected_user_ids=users,
        )

    selected = make("Lönefiler", CustomerAccess.EDIT, Audience.SELECTED, (w.customer_user.pk,))
    return Shelf(
        all_users=make("Avtal", CustomerAccess.READ),
        selected=selected,
        selected_sub=services.folder_create(
            collaboration=w.collaboration, actor=w.admin, name="Marsunderlag", parent=selected
        ),
        internal=make("Internt arbetsmaterial", CustomerAccess.NONE),
    )


@pytest.mark.parametrize(
    ("actor", "visible"),
    [
        ("with_access", {"all_users", "selected", "selected_sub"}),
        ("without_access", {"all_users"}),
        ("primary", {"all_users"}),
        ("admin", {"all_users", "selected", "selected_sub", "internal"}),
    ],
)
def test_each_user_sees_exactly_the_folders_granted_to_them_or_to_all(
    docs: Docs, shelf: Shelf, client: Client, actor: str, visible: set[str]
) -> None:
    user = ACTORS[actor](docs)
    assert user is not None
    client.force_login(user)
    side = "partner" if actor in PARTNER_SIDE else "customer"
    cid = docs.collaboration_id
    folders: dict[str, Folder] = {
        "all_users": shelf.all_users,
        "selected": shelf.selected,
        "selected_sub": shelf.selected_sub,
        "internal": shelf.internal,
    }

    seen = selectors.folders_visible_to(user=user, collaboration=docs.world.collaboration, rights_side=side)
    assert {f.pk for f in seen} == {folders[key].pk for key in visible}

    listing = client.get(reverse(f"documents:{side}_root", args=[cid]))
    assert listing.status_code == 200
    html = listing.content.decode()
    for key, folder in folders.items():
        assert (folder.name in html) == (key in visible), (key, folder.name)
        opened = client.get(reverse(f"documents:{side}_folder", args=[cid, folder.pk]))
        assert opened.status_code == (200 if key in visible else 404), key


@pytest.mark.parametrize("change", ["to_none", "to_another_user"])
def test_removed_access_makes_the_next_request_a_404(docs: Docs, client: Client, change: str) -> None:
    w = docs.world
    client.force_login(w.customer_user)
    cid, fid = docs.collaboration_id, docs.folder.pk
    folder_url = reverse("documents:customer_folder", args=[cid, fid])
    download_url = reverse("documents:document_download", args=[docs.firm_doc.pk])
    assert client.get(folder_url).status_code == 200
    first: Any = client.get(download_url)
    assert first.status_code in DL
    if first.status_code == 200:
        b"".join(first.streaming_content)

    services.folder_set_access(
        folder=docs.folder,
        actor=w.admin,
        customer_access=CustomerAccess.NONE if change == "to_none" else CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[] if change == "to_none" else [docs.without_access.pk],
    )

    before = _state()
    assert client.get(folder_url).status_code == 404
    assert client.get(download_url).status_code == 404
    assert _upload(client, docs.folder).status_code == 404
    assert client.post(reverse("documents:document_delete", args=[docs.customer_doc.pk])).status_code == 404
    listing = client.get(reverse("documents:customer_root", args=[cid]))
    assert listing.status_code == 200 and FOLDER not in listing.content.decode()
    assert _state() == before
    if change == "to_another_user":
        # …and the user it went to has it now.
        client.force_login(docs.without_access)
        assert client.get(folder_url).status_code == 200


# --- Two firms, one customer -----------------------------------------------------------------
#
# Firm A (`world.partner`) made the free Documents account Kund Alfa AB; firm B (`world.other_partner`)
# collaborates with it too and shares a folder with all of its users. Neither firm may put its own
# people into the customer, nor act as it: A manages the account's users no more once a second firm
# collaborates with it (README, Customers), B never did. The same holds when Kund Alfa AB has its
# own subscription and both firms were invited. Every actor is sent to every action; a refused write
# changes nothing, and afterwards no firm user reads the other firm's folder.

B_FOLDER = "Deklarationer från Beta"
B_DOC = "Deklaration 2025.pdf"
B_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n% firm B\n"
NEWCOMER = "nils.ny@example.com"


@dataclass
class TwoFirms:
    world: World
    a_collaboration: Any  # A <-> Kund Alfa AB
    b_collaboration: Any  # B <-> Kund Alfa AB
    a_staff: User  # assigned to A's collaboration
    b_staff: User  # assigned to B's collaboration
    a_folder: Folder  # A's folder, shared with all of the customer's users
    b_folder: Folder  # B's folder, shared with all of the customer's users
    b_doc: Document


@pytest.fixture(params=["documents", "subscription"])
def two_firms(request: pytest.FixtureRequest, world: World) -> TwoFirms:
    from guardian.shortcuts import assign_perm

    from customers.models import Collaboration, CustomerAccount, CustomerKind
    from customers.services import WORK_WITH_CUSTOMER
    from tests.factories import CollaborationFactory, PartnerMembershipFactory

    User.objects.update(language="en")
    if request.param == "subscription":
        CustomerAccount.objects.filter(pk=world.customer.pk).update(
            kind=CustomerKind.SUBSCRIPTION, created_by_partner=None
        )
    b_collaboration = CollaborationFactory.create(partner=world.other_partner, customer=world.customer)
    b_staff = PartnerMembershipFactory.create(
        partner=world.other_partner, user__name="Bo Beta", user__language="en"
    ).user
    assign_perm(WORK_WITH_CUSTOMER, b_staff, b_collaboration)
    a_collaboration = Collaboration.objects.get(pk=world.collaboration.pk)
    a_folder = services.folder_create(
        collaboration=a_collaboration,
        actor=world.admin,
        name="Alfas avtal",
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )
    b_folder = services.folder_create(
        collaboration=b_collaboration,
        actor=world.outsider,
        name=B_FOLDER,
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )
    b_doc = services.document_upload(
        folder=b_folder, actor=world.outsider, name=B_DOC, chunks=[B_PDF], by_customer=False
    ).document
    return TwoFirms(
        world=world,
        a_collaboration=a_collaboration,
        b_collaboration=b_collaboration,
        a_staff=world.staff,
        b_staff=b_staff,
        a_folder=a_folder,
        b_folder=b_folder,
        b_doc=b_doc,
    )


TWO_FIRM_ACTORS: dict[str, Callable[[TwoFirms], User]] = {
    "a_admin": lambda t: t.world.admin,  # the creating firm's administrator
    "a_staff": lambda t: t.a_staff,  # the creating firm's staff, assigned to the customer
    "b_admin": lambda t: t.world.outsider,  # the other firm's administrator
    "b_staff": lambda t: t.b_staff,  # the other firm's staff, assigned to the customer
    "primary": lambda t: t.world.primary,  # the customer's primary contact
    "customer_user": lambda t: t.world.customer_user,
}
A_SIDE = {"a_admin", "a_staff"}
B_SIDE = {"b_admin", "b_staff"}

TWO_FIRM_ACTIONS = (
    "users_tab_a",  # GET the customer's Users tab through A's collaboration
    "users_tab_b",  # ... through B's
    "add_self_via_a",  # POST customer_user_add on A's collaboration: the actor's own email, as admin
    "add_self_via_b",  # ... on B's
    "add_newcomer_via_a",  # POST customer_user_add on A's collaboration: someone new
    "add_newcomer_via_b",  # ... on B's
    "customer_root_b",  # GET B's documents on the customer side
    "customer_folder_b",  # GET B's folder on the customer side
    "partner_folder_b",  # GET B's folder on the partner side
    "download_b_doc",  # GET B's document
    "customer_folder_a",  # GET A's folder on the customer side
    "partner_folder_a",  # GET A's folder on the partner side
)
REFUSED = "refused"  # the action answers with a message (302 with it, or 422) and changes nothing
_TP2 = TO_PARTNER
# fmt: off
TWO_FIRM_TABLE: dict[str, tuple[int | frozenset[int] | str, ...]] = {
    #                 usrA usrB addSA    addSB    addNA    addNB    rootB cfB  pfB  dlB  cfA   pfA
    "a_admin":       (200, 404, REFUSED, 404,     REFUSED, 404,     404,  404, 404, 404, _TP2, 200),
    "a_staff":       (200, 404, REFUSED, 404,     REFUSED, 404,     404,  404, 404, 404, _TP2, 200),
    "b_admin":       (404, 200, 404,     REFUSED, 404,     REFUSED, 404,  _TP2, 200, DL, 404,  404),
    "b_staff":       (404, 200, 404,     REFUSED, 404,     REFUSED, 404,  _TP2, 200, DL, 404,  404),
    "primary":       (404, 404, 404,     404,     404,     404,     200,  200, 404, DL,  200,  404),
    "customer_user": (404, 404, 404,     404,     404,     404,     200,  200, 404, DL,  200,  404),
}
# fmt: on
assert set(TWO_FIRM_TABLE) == set(TWO_FIRM_ACTORS)
assert all(len(row) == len(TWO_FIRM_ACTIONS) for row in TWO_FIRM_TABLE.values())
TWO_FIRM_CELLS = [
    (actor, action, TWO_FIRM_TABLE[actor][i])
    for actor in TWO_FIRM_TABLE
    for i, action in enumerate(TWO_FIRM_ACTIONS)
]


def _two_firm_state() -> dict[str, Any]:
    from customers.models import CustomerAccount

    return {
        **_state(),
        "memberships": sorted(
            CustomerMembership.objects.values_list("customer_id", "user_id", "is_admin", "is_primary_contact")
        ),
        "users": sorted(User.objects.values_list("pk", "email")),
        "customers": sorted(CustomerAccount.objects.values_list("pk", "kind", "created_by_partner_id")),
    }


def _two_firm_perform(action: str, actor: User, client: Client, t: TwoFirms) -> Any:
    a, b = t.a_collaboration.pk, t.b_collaboration.pk
    match action:
        case "users_tab_a" | "users_tab_b":
            return client.get(reverse("customers:customer_users", args=[a if action.endswith("a") else b]))
        case "add_self_via_a" | "add_self_via_b" | "add_newcomer_via_a" | "add_newcomer_via_b":
            email = actor.email if action.startswith("add_self") else NEWCOMER
            return client.post(
                reverse("customers:customer_user_add", args=[a if action.endswith("a") else b]),
                {"name": "Ny Admin", "email": email, "language": "en", "is_admin": "on"},
            )
        case "customer_root_b":
            return client.get(reverse("documents:customer_root", args=[b]))
        case "customer_folder_b":
            return client.get(reverse("documents:customer_folder", args=[b, t.b_folder.pk]))
        case "partner_folder_b":
            return client.get(reverse("documents:partner_folder", args=[b, t.b_folder.pk]))
        case "download_b_doc":
            return client.get(reverse("documents:document_download", args=[t.b_doc.pk]))
        case "customer_folder_a":
            return client.get(reverse("documents:customer_folder", args=[a, t.a_folder.pk]))
        case _:
            assert action == "partner_folder_a"
            return client.get(reverse("documents:partner_folder", args=[a, t.a_folder.pk]))


@pytest.mark.parametrize(
    ("actor", "action", "expected"),
    TWO_FIRM_CELLS,
    ids=[f"{actor}-{action}" for actor, action, _ in TWO_FIRM_CELLS],
)
def test_two_firms_one_customer_matrix(
    two_firms: TwoFirms, client: Client, actor: str, action: str, expected: int | frozenset[int] | str
) -> None:
    t = two_firms
    user = TWO_FIRM_ACTORS[actor](t)
    client.force_login(user)
    before = _two_firm_state()

    response = _two_firm_perform(action, user, client, t)

    if expected == REFUSED:
        assert response.status_code in (302, 422), (actor, action, response.status_code)
        assert _two_firm_state() == before
        page = client.get(response["Location"]) if response.status_code == 302 else response
        assert "manages its own users" in page.content.decode()
        assert page.context["can_manage"] is False
        # ...and the firm user still reads nothing of the other firm's.
        other_side = t.a_collaboration if actor in B_SIDE else t.b_collaboration
        assert client.get(reverse("documents:customer_root", args=[other_side.pk])).status_code == 404
        return
    if expected == TO_PARTNER:
        collaboration, folder = (
            (t.b_collaboration, t.b_folder) if action.endswith("b") else (t.a_collaboration, t.a_folder)
        )
        assert response.status_code == 302, (actor, action, response.status_code)
        assert response["Location"] == reverse("documents:partner_folder", args=[collaboration.pk, folder.pk])
        assert _two_firm_state() == before
        return
    if not isinstance(expected, frozenset):
        assert isinstance(expected, int)
        expected = frozenset({expected})
    assert response.status_code in expected, (actor, action, response.status_code)
    if response.status_code == 200 and action == "download_b_doc":
        assert b"".join(response.streaming_content) == B_PDF
    elif response.status_code == 200:
        html = response.content.decode()
        if action.startswith("users_tab"):
            # Neither firm manages the users of a customer that two firms collaborate with.
            assert response.context["can_manage"] is False
            assert "manages its users itself" in html
        elif action.endswith("b"):
            assert B_FOLDER in html
    if not action.startswith("download"):
        assert _two_firm_state() == before
