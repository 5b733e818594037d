"""The partner's document pages: Mina samarbeten / customer / Dokument and Logg."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from documents import access, services
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
    PreviewStatus,
)
from portal.models import AuditEvent, User

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _english(world: Any) -> None:
    """The pages speak the user's language; the tests read the English texts (msgids), so they
    hold whatever the Swedish catalogue says."""
    User.objects.update(language="en")


# --- Helpers ----------------------------------------------------------------------------------


def _folder(world: Any, name: str = "Avtal", parent: Folder | None = None, **access_kw: Any) -> Folder:
    return services.folder_create(
        collaboration=world.collaboration, actor=world.admin, name=name, parent=parent, **access_kw
    )


def _upload(folder: Folder, actor: Any, name: str, data: bytes = PDF) -> Document:
    version = services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[data], by_customer=False
    )
    return version.document


def _row(
    folder: Folder, actor: Any, name: str, size: int = 100, age_days: int = 0, versions: int = 1
) -> Document:
    """A document as rows only (the pages never read the stored file)."""
    when = timezone.now() - timedelta(days=age_days)
    document = Document.objects.create(folder=folder, name=name, created_at=when, updated_at=when)
    version = None
    for number in range(1, versions + 1):
        version = DocumentVersion.objects.create(
            document=document,
            number=number,
            storage_key=f"documents/test/{uuid.uuid4().hex}",
            size=size,
            content_type="application/pdf",
            sha256="0" * 64,
            uploaded_by=actor,
            created_at=when,
            preview_status=PreviewStatus.READY if number % 2 else PreviewStatus.NONE,
            preview_key=f"previews/{uuid.uuid4().hex}.png",
        )
    # What document_upload keeps: the current version and the count of live versions.
    Document.objects.filter(pk=document.pk).update(current_version=version, version_count=versions)
    document.current_version, document.version_count = version, versions
    return document


def _url(name: str, world: Any, *args: int) -> str:
    return reverse(f"documents:{name}", args=[world.collaboration.pk, *args])


def _state() -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    return (
        sorted(
            Folder.objects.values_list(
                "pk", "name", "parent_id", "path", "customer_access", "audience", "primary_contact_manages"
            )
        ),
        sorted(Document.objects.values_list("pk", "folder_id", "name", "deleted_at")),
        FolderUserObjectPermission.objects.count(),
        FolderGroupObjectPermission.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def tree(world: Any) -> dict[str, Any]:
    """Avtal (shared with all users, read) > 2026 > Q1; Intern (internal); one document in Avtal."""
    avtal = _folder(world, "Avtal", customer_access=CustomerAccess.READ)
    sub = _folder(world, "2026", parent=avtal)
    q1 = _folder(world, "Q1", parent=sub)
    intern = _folder(world, "Intern")
    document = _upload(avtal, world.admin, "avtal.pdf")
    return {"avtal": avtal, "sub": sub, "q1": q1, "intern": intern, "document": document}


# --- Who may see the pages ------------------------------------------------------------------


def _get_pages(world: Any, tree: dict[str, Any]) -> list[str]:
    avtal, sub = tree["avtal"], tree["sub"]
    return [
        _url("partner_root", world),
        _url("partner_folder_create", world),
        _url("partner_folder_create", world) + f"?parent={avtal.pk}",
        _url("partner_folder", world, avtal.pk),
        _url("partner_folder", world, sub.pk),
        _url("partner_folder_rename", world, sub.pk),
        _url("partner_folder_move", world, sub.pk),
        _url("partner_folder_delete", world, avtal.pk),
        _url("partner_folder_access", world, avtal.pk),
        reverse("documents:partner_audit", args=[world.collaboration.pk]),
    ]


def _posts(world: Any, tree: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    avtal, sub, intern, document = tree["avtal"], tree["sub"], tree["intern"], tree["document"]
    return [
        (
            _url("partner_folder_create", world),
            {"name": "Ny", "customer_access": "edit", "audience": "all"},
        ),
        (_url("partner_folder_create", world) + f"?parent={avtal.pk}", {"name": "Ny"}),
        (_url("partner_folder_rename", world, sub.pk), {"name": "Nytt namn"}),
        (_url("partner_folder_move", world, sub.pk), {"target": ""}),
        (_url("partner_folder_delete", world, avtal.pk), {}),
        (
            _url("partner_folder_access", world, intern.pk),
            {"customer_access": "edit", "audience": "all"},
        ),
        (_url("partner_bulk", world, avtal.pk), {"action": "delete", "documents": [document.pk]}),
        (
            _url("partner_bulk", world, avtal.pk),
            {"action": "move", "documents": [document.pk], "target": intern.pk},
        ),
        (_url("partner_bulk", world, avtal.pk), {"action": "download", "documents": [document.pk]}),
    ]


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_admin_and_assigned_staff_open_every_page(
    world: Any, tree: dict[str, Any], login: Any, who: str
) -> None:
    client = login(getattr(world, who))
    for url in _get_pages(world, tree):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"<title>" in response.content


@pytest.mark.parametrize(
    "who", ["staff_unassigned", "customer_user", "primary", "outsider", "outsider_customer_user"]
)
def test_others_get_404_everywhere_and_change_nothing(
    world: Any, tree: dict[str, Any], login: Any, who: str
) -> None:
    client = login(getattr(world, who))
    before = _state()
    for url in _get_pages(world, tree):
        assert client.get(url).status_code == 404, url
    for url, data in _posts(world, tree):
        assert client.post(url, data).status_code == 404, url
    assert _state() == before


def test_anonymous_is_sent_to_login(client: Any, world: Any, tree: dict[str, Any]) -> None:
    response = client.get(_url("partner_folder", world, tree["avtal"].pk))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_folder_under_another_customer_id_is_404(world: Any, tree: dict[str, Any], login: Any) -> None:
    client = login(world.admin)
    wrong = reverse("documents:partner_folder", args=[world.other_collaboration.pk, tree["avtal"].pk])
    assert client.get(wrong).status_code == 404
    before = _state()
    wrong_delete = reverse(
        "documents:partner_folder_delete", args=[world.other_collaboration.pk, tree["avtal"].pk]
    )
    assert client.post(wrong_delete).status_code == 404
    assert _state() == before


def test_outsider_cannot_reach_our_folder_through_their_own_customer(
    world: Any, tree: dict[str, Any], login: Any
) -> None:
    client = login(world.outsider)
    url = reverse("documents:partner_folder", args=[world.outsider_collaboration.pk, tree["avtal"].pk])
    assert client.get(url).status_code == 404


def test_customer_head_has_documents_and_log_tabs(world: Any, login: Any) -> None:
    response = login(world.staff).get(_url("partner_root", world))
    html = response.content.decode()
    assert f'href="{_url("partner_root", world)}" aria-current="page"' in html
    assert reverse("documents:partner_audit", args=[world.collaboration.pk]) in html


def test_the_page_makes_its_partner_the_active_organisation(world: Any, login: Any) -> None:
    from portal.context import SESSION_KEY
    from tests.factories import CustomerMembershipFactory

    CustomerMembershipFactory.create(customer=world.other_collaboration.customer, user=world.staff)
    client = login(world.staff)
    session = client.session
    session[SESSION_KEY] = f"customer:{world.other_collaboration.customer_id}"
    session.save()
    client.get(_url("partner_root", world))
    assert client.session[SESSION_KEY] == f"partner:{world.partner.pk}"


# --- Folders ------------------------------------------------------------------------------


def test_root_lists_top_level_folders_with_their_access(world: Any, tree: dict[str, Any], login: Any) -> None:
    html = login(world.admin).get(_url("partner_root", world)).content.decode()
    assert "Avtal" in html and "Intern" in html and "2026" in html  # 2026 in the tree
    assert "access-read" in html and "access-none" in html


def test_create_top_level_folder_with_selected_users(world: Any, login: Any) -> None:
    response = login(world.staff).post(
        _url("partner_folder_create", world),
        {
            "name": "Lön",
            "customer_access": "read",
            "audience": "selected",
            "users": [world.customer_user.pk],
            "primary_contact_manages": "on",
        },
    )
    folder = Folder.objects.get(name="Lön")
    assert response.status_code == 302 and response["Location"] == _url("partner_folder", world, folder.pk)
    assert (folder.customer_access, folder.audience, folder.primary_contact_manages) == (
        "read",
        "selected",
        True,
    )
    assert access.rights_for(world.customer_user, folder) is not None
    # The primary contact manages the folder, so sees it, though not selected; may not upload (read).
    primary_rights = access.rights_for(world.primary, folder)
    assert primary_rights is not None and primary_rights.can_manage_access and not primary_rights.can_upload
    assert AuditEvent.objects.filter(action="folder.create", actor=world.staff).count() == 1


def test_create_subfolder_inherits_and_shows_no_access_fields(
    world: Any, tree: dict[str, Any], login: Any
) -> None:
    client = login(world.admin)
    url = _url("partner_folder_create", world) + f"?parent={tree['avtal'].pk}"
    page = client.get(url).content.decode()
    assert 'name="customer_access"' not in page and 'name="name"' in page
    response = client.post(url, {"name": "Bilagor", "customer_access": "none"})
    sub = Folder.objects.get(name="Bilagor")
    assert response.status_code == 302
    assert sub.parent_id == tree["avtal"].pk and sub.root_id == tree["avtal"].pk
    assert access.rights_for(world.customer_user, sub) is not None  # inherits Avtal's read for all


def test_new_folder_form_offers_the_customers_users(world: Any, login: Any) -> None:
    html = login(world.admin).get(_url("partner_folder_create", world)).content.decode()
    assert "Olle User" in html and "Karin Primary" in html
    assert 'name="audience"' in html and 'name="primary_contact_manages"' in html


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "Avtal", "customer_access": "none", "audience": "all"}, "already a folder"),
        ({"name": "avtal", "customer_access": "none", "audience": "all"}, "already a folder"),
        ({"name": "a/b", "customer_access": "none", "audience": "all"}, "cannot contain"),
        ({"name": "bad\x07name", "customer_access": "none", "audience": "all"}, "control characters"),
        ({"name": "..", "customer_access": "none", "audience": "all"}, "cannot contain"),
        ({"name": "  ", "customer_access": "none", "audience": "all"}, "required"),
        ({"name": "Ny", "customer_access": "read", "audience": "selected"}, "Select at least one user"),
        (
            {"name": "Ny", "customer_access": "read", "audience": "selected", "users": [999999]},
            "valid choice",
        ),
        ({"name": "Ny", "customer_access": "owner", "audience": "all"}, "valid choice"),
    ],
)
def test_bad_new_folder_is_422_and_changes_nothing(
    world: Any, tree: dict[str, Any], login: Any, data: dict[str, Any], error: str
) -> None:
    before = _state()
    response = login(world.admin).post(_url("partner_folder_create", world), data)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert _state() == before


def test_a_user_of_another_customer_cannot_be_selected(world: Any, login: Any) -> None:
    before = _state()
    response = login(world.admin).post(
        _url("partner_folder_create", world),
        {
            "name": "Ny",
            "customer_access": "read",
            "audience": "selected",
            "users": [world.outsider_customer_user.pk],
        },
    )
    assert response.status_code == 422
    assert _state() == before


def test_bad_parent_is_404(world: Any, login: Any) -> None:
    client = login(world.admin)
    other = services.folder_create(collaboration=world.other_collaboration, actor=world.admin, name="X")
    assert client.get(_url("partner_folder_create", world) + "?parent=abc").status_code == 404
    assert client.get(_url("partner_folder_create", world) + "?parent=" + "9" * 30).status_code == 404
    assert client.get(_url("partner_folder_create", world) + f"?parent={other.pk}").status_code == 404


def test_rename(world: Any, tree: dict[str, Any], login: Any) -> None:
    client = login(world.staff)
    response = client.post(_url("partner_folder_rename", world, tree["sub"].pk), {"name": "År 2026"})
    assert response.status_code == 302
    tree["sub"].refresh_from_db()
    assert tree["sub"].name == "År 2026"
    assert AuditEvent.objects.filter(action="folder.rename", details__old_name="2026").exists()


@pytest.mark.parametrize("name", ["Intern", "x/y", "tab\tname", ""])
def test_bad_rename_is_422_and_changes_nothing(
    world: Any, tree: dict[str, Any], login: Any, name: str
) -> None:
    before = _state()
    response = login(world.admin).post(_url("partner_folder_rename", world, tree["avtal"].pk), {"name": name})
    assert response.status_code == 422
    assert _state() == before


def test_move_page_offers_no_folder_of_its_own_subtree(world: Any, tree: dict[str, Any], login: Any) -> None:
    response = login(world.admin).get(_url("partner_folder_move", world, tree["sub"].pk))
    choices = [str(value) for value, _label in response.context["form"].fields["target"].choices]
    assert str(tree["intern"].pk) in choices and "" in choices
    assert str(tree["sub"].pk) not in choices and str(tree["q1"].pk) not in choices


def test_moving_into_its_own_subfolder_is_refused(world: Any, tree: dict[str, Any], login: Any) -> None:
    before = _state()
    client = login(world.admin)
    for target in (tree["q1"], tree["sub"]):
        response = client.post(_url("partner_folder_move", world, tree["sub"].pk), {"target": target.pk})
        assert response.status_code == 422
    assert _state() == before


def test_moving_to_a_folder_of_another_customer_is_refused(
    world: Any, tree: dict[str, Any], login: Any
) -> None:
    other = services.folder_create(collaboration=world.other_collaboration, actor=world.admin, name="X")
    before = _state()
    response = login(world.admin).post(
        _url("partner_folder_move", world, tree["sub"].pk), {"target": other.pk}
    )
    assert response.status_code == 422
    assert _state() == before


def test_move_into_another_folder_and_to_the_top_level(world: Any, tree: dict[str, Any], login: Any) -> None:
    client = login(world.admin)
    response = client.post(_url("partner_folder_move", world, tree["sub"].pk), {"target": tree["intern"].pk})
    assert response.status_code == 302
    q1 = Folder.objects.get(pk=tree["q1"].pk)
    assert q1.root_id == tree["intern"].pk and q1.path.startswith(tree["intern"].path)
    assert access.rights_for(world.customer_user, q1) is None  # Intern is internal
    response = client.post(_url("partner_folder_move", world, tree["sub"].pk), {"target": ""})
    sub = Folder.objects.get(pk=tree["sub"].pk)
    assert (
        response.status_code == 302 and sub.parent_id is None and sub.customer_access == CustomerAccess.NONE
    )


def test_a_name_taken_at_the_target_is_422(world: Any, tree: dict[str, Any], login: Any) -> None:
    _folder(world, "2026", parent=tree["intern"])
    before = _state()
    response = login(world.admin).post(
        _url("partner_folder_move", world, tree["sub"].pk), {"target": tree["intern"].pk}
    )
    assert response.status_code == 422 and "already a folder" in response.content.decode()
    assert _state() == before


def test_delete_asks_first_and_says_what_goes(world: Any, tree: dict[str, Any], login: Any) -> None:
    _upload(tree["q1"], world.admin, "kvitto.pdf", PDF + b"0123456789")
    client = login(world.admin)
    response = client.get(_url("partner_folder_delete", world, tree["avtal"].pk))
    html = response.content.decode()
    contents = response.context["contents"]
    assert (contents.folders, contents.documents, contents.bytes) == (2, 2, 2 * len(PDF) + 10)
    assert "2 subfolders" in html and "2 documents" in html and response.context["size"] in html
    assert Folder.objects.filter(pk=tree["avtal"].pk).exists()  # asking deletes nothing


def test_empty_folder_delete_page_says_so(world: Any, tree: dict[str, Any], login: Any) -> None:
    html = login(world.admin).get(_url("partner_folder_delete", world, tree["intern"].pk)).content.decode()
    assert "The folder is empty." in html


def test_delete_takes_the_subtree_and_returns_to_the_parent(
    world: Any, tree: dict[str, Any], login: Any
) -> None:
    client = login(world.staff)
    response = client.post(_url("partner_folder_delete", world, tree["sub"].pk))
    assert response["Location"] == _url("partner_folder", world, tree["avtal"].pk)
    assert not Folder.objects.filter(pk__in=[tree["sub"].pk, tree["q1"].pk]).exists()
    response = client.post(_url("partner_folder_delete", world, tree["avtal"].pk))
    assert response["Location"] == _url("partner_root", world)
    assert Document.objects.get(pk=tree["document"].pk).trash is not None


# --- Access dialog --------------------------------------------------------------------------


def test_access_dialog_shows_current_state(world: Any, login: Any) -> None:
    folder = _folder(
        world,
        "Lön",
        customer_access=CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    form = login(world.admin).get(_url("partner_folder_access", world, folder.pk)).context["form"]
    assert form.initial["customer_access"] == "edit"
    assert form.initial["audience"] == "selected" and form.initial["users"] == [world.customer_user.pk]


def test_access_dialog_on_a_subfolder_sends_to_its_top_level_folder(
    world: Any, tree: dict[str, Any], login: Any
) -> None:
    client = login(world.admin)
    target = _url("partner_folder_access", world, tree["avtal"].pk)
    assert client.get(_url("partner_folder_access", world, tree["q1"].pk))["Location"] == target
    before = _state()
    client.post(
        _url("partner_folder_access", world, tree["q1"].pk), {"customer_access": "none", "audience": "all"}
    )
    assert _state() == before
    # The subfolder's page links to the top-level folder's dialog.
    assert target in client.get(_url("partner_folder", world, tree["q1"].pk)).content.decode()


def test_access_dialog_saves(world: Any, tree: dict[str, Any], login: Any) -> None:
    response = login(world.staff).post(
        _url("partner_folder_access", world, tree["intern"].pk),
        {"customer_access": "edit", "audience": "selected", "users": [world.primary.pk]},
    )
    assert response.status_code == 302
    tree["intern"].refresh_from_db()
    rights = access.rights_for(world.primary, tree["intern"])
    assert rights is not None and rights.can_upload
    assert access.rights_for(world.customer_user, tree["intern"]) is None
    assert AuditEvent.objects.filter(action="folder.access", object_id=tree["intern"].pk).exists()


def test_access_dialog_selected_without_users_is_422(world: Any, tree: dict[str, Any], login: Any) -> None:
    before = _state()
    response = login(world.admin).post(
        _url("partner_folder_access", world, tree["avtal"].pk),
        {"customer_access": "read", "audience": "selected"},
    )
    assert response.status_code == 422 and "Select at least one user" in response.content.decode()
    assert _state() == before


# --- Folder page and file list --------------------------------------------------------------


def test_folder_page_shows_path_tree_subfolders_and_files(
    world: Any, tree: dict[str, Any], login: Any
) -> None:
    _row(tree["sub"], world.admin, "rapport.pdf", size=2_500_000, versions=3)
    response = login(world.admin).get(_url("partner_folder", world, tree["sub"].pk))
    html = response.content.decode()
    assert [f.name for f in response.context["ancestors"]] == ["Avtal"]
    assert f'href="{_url("partner_folder", world, tree["q1"].pk)}"' in html  # subfolder link
    assert "Intern" in html  # the tree
    assert "rapport.pdf" in html and "2.5 MB" in html and "3 versions" in html
    assert reverse("documents:document_detail", args=[response.context["documents"][0].pk]) in html
    version_id = response.context["documents"][0].version_id
    assert f'src="{reverse("documents:preview", args=[version_id])}"' in html
    assert 'aria-sort="ascending"' in html
    assert re.search(r'<label for="doc-\d+" class="visually-hidden">Select rapport.pdf</label>', html)


def test_a_file_without_a_preview_gets_a_type_icon(world: Any, tree: dict[str, Any], login: Any) -> None:
    html = login(world.admin).get(_url("partner_folder", world, tree["avtal"].pk)).content.decode()
    assert 'class="file-icon pdf"' in html
    version = tree["document"].current_version
    assert reverse("documents:preview", args=[version.pk]) not in html  # pending: no thumbnail yet


def _names(response: Any) -> list[str]:
    return [d.name for d in response.context["documents"]]


def test_sorting_by_name_date_and_size(world: Any, login: Any) -> None:
    folder = _folder(world, "Sort")
    _row(folder, world.admin, "b.pdf", size=300, age_days=1)
    _row(folder, world.admin, "a.pdf", size=200, age_days=3)
    _row(folder, world.admin, "c.pdf", size=100, age_days=2)
    client = login(world.admin)
    url = _url("partner_folder", world, folder.pk)
    assert _names(client.get(url)) == ["a.pdf", "b.pdf", "c.pdf"]
    assert _names(client.get(url, {"sort": "-name"})) == ["c.pdf", "b.pdf", "a.pdf"]
    assert _names(client.get(url, {"sort": "size"})) == ["c.pdf", "a.pdf", "b.pdf"]
    assert _names(client.get(url, {"sort": "-size"})) == ["b.pdf", "a.pdf", "c.pdf"]
    assert _names(client.get(url, {"sort": "date"})) == ["a.pdf", "c.pdf", "b.pdf"]
    response = client.get(url, {"sort": "-date"})
    assert _names(response) == ["b.pdf", "c.pdf", "a.pdf"]
    assert 'aria-sort="descending"' in response.content.decode()
    assert _names(client.get(url, {"sort": "'; drop table"})) == ["a.pdf", "b.pdf", "c.pdf"]


def test_pagination_keeps_the_sort(world: Any, login: Any, settings: Any) -> None:
    settings.PAGE_SIZE = 2
    folder = _folder(world, "Sida")
    for i in range(5):
        _row(folder, world.admin, f"f{i}.pdf", size=i + 1)
    client = login(world.admin)
    url = _url("partner_folder", world, folder.pk)
    response = client.get(url, {"sort": "-size"})
    assert _names(response) == ["f4.pdf", "f3.pdf"]
    assert f"{url}?sort=-size&amp;page=2" in response.content.decode()
    assert _names(client.get(url, {"sort": "-size", "page": 3})) == ["f0.pdf"]


def _count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_folder_page_queries_do_not_grow_with_documents(world: Any, login: Any) -> None:
    small, large = _folder(world, "Fem"), _folder(world, "Tvåhundra")
    _folder(world, "Under", parent=small)
    _folder(world, "Under", parent=large)
    for i in range(5):
        _row(small, world.staff, f"doc{i:03}.pdf", versions=2)
    for i in range(200):
        _row(large, world.staff, f"doc{i:03}.pdf", versions=2)
    client = login(world.staff)
    _count_queries(client, _url("partner_folder", world, small.pk))  # warm the session and caches
    for sort in ("name", "-size", "date"):
        few = _count_queries(client, _url("partner_folder", world, small.pk) + f"?sort={sort}")
        many = _count_queries(client, _url("partner_folder", world, large.pk) + f"?sort={sort}")
        assert few == many
        assert many <= 10
    assert _count_queries(client, _url("partner_folder", world, large.pk) + "?page=8") == many


def test_root_and_log_queries_are_bounded(world: Any, tree: dict[str, Any], login: Any) -> None:
    client = login(world.admin)
    _count_queries(client, _url("partner_root", world))
    for i in range(30):
        _folder(world, f"Mapp {i}")
    assert _count_queries(client, _url("partner_root", world)) <= 8
    log = reverse("documents:partner_audit", args=[world.collaboration.pk])
    few = _count_queries(client, log)
    for _i in range(30):
        services.download_record(version=tree["document"].current_version, actor=world.staff)
    assert _count_queries(client, log) == few <= 10


def test_upload_through_the_folder_page_form(world: Any, tree: dict[str, Any], login: Any) -> None:
    client = login(world.staff)
    page = client.get(_url("partner_folder", world, tree["intern"].pk)).content.decode()
    upload_url = reverse("documents:upload", args=[tree["intern"].pk])
    form = re.search(r"<form[^>]*data-uploader[^>]*>", page, re.S)
    assert form is not None
    assert f'action="{upload_url}"' in form.group(0) and 'enctype="multipart/form-data"' in form.group(0)
    assert 'name="files"' in page and "js/upload.js" in page
    response = client.post(
        upload_url,
        {"files": [SimpleUploadedFile("kvitto.pdf", PDF), SimpleUploadedFile("bild.txt", b"hej")]},
    )
    assert response.status_code == 302 and response["Location"] == _url(
        "partner_folder", world, tree["intern"].pk
    )
    html = client.get(response["Location"]).content.decode()
    assert "kvitto.pdf" in html and "bild.txt" in html


# --- Bulk -------------------------------------------------------------------------------------


def test_bulk_download_is_a_zip_of_the_ticked_files(world: Any, tree: dict[str, Any], login: Any) -> None:
    folder = tree["intern"]
    one = _upload(folder, world.admin, "ett.pdf", PDF + b"1")
    two = _upload(folder, world.admin, "två åäö.txt", b"hej hej")
    _upload(folder, world.admin, "tre.pdf", PDF + b"3")  # not ticked
    response = login(world.staff).post(
        _url("partner_bulk", world, folder.pk), {"action": "download", "documents": [one.pk, two.pk]}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "Intern.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["ett.pdf", "två åäö.txt"]
    assert archive.read("ett.pdf") == PDF + b"1" and archive.read("två åäö.txt") == b"hej hej"
    downloads = AuditEvent.objects.filter(action="document.download", actor=world.staff)
    assert set(downloads.values_list("object_id", flat=True)) == {one.pk, two.pk}
    assert downloads.count() == 2
    assert all(e.details["zip"] for e in downloads)


def test_bulk_delete(world: Any, tree: dict[str, Any], login: Any) -> None:
    folder = tree["intern"]
    keep = _upload(folder, world.admin, "behåll.pdf")
    gone = [_upload(folder, world.admin, f"bort{i}.pdf", PDF + bytes([i])) for i in range(2)]
    response = login(world.admin).post(
        _url("partner_bulk", world, folder.pk),
        {"action": "delete", "documents": [d.pk for d in gone], "sort": "-size"},
    )
    assert response.status_code == 302
    assert response["Location"] == _url("partner_folder", world, folder.pk) + "?sort=-size"
    assert Document.objects.filter(pk__in=[d.pk for d in gone], deleted_at__isnull=False).count() == 2
    assert Document.objects.get(pk=keep.pk).deleted_at is None


def test_bulk_move(world: Any, tree: dict[str, Any], login: Any) -> None:
    folder = tree["intern"]
    docs = [_upload(folder, world.admin, f"m{i}.pdf", PDF + bytes([i])) for i in range(2)]
    response = login(world.staff).post(
        _url("partner_bulk", world, folder.pk),
        {"action": "move", "documents": [d.pk for d in docs], "target": tree["q1"].pk},
    )
    assert response.status_code == 302
    assert set(Document.objects.filter(pk__in=[d.pk for d in docs]).values_list("folder_id", flat=True)) == {
        tree["q1"].pk
    }


def test_bulk_refuses_documents_of_another_folder(world: Any, tree: dict[str, Any], login: Any) -> None:
    folder = tree["intern"]
    mine = _upload(folder, world.admin, "min.pdf")
    other_customer_folder = services.folder_create(
        collaboration=world.other_collaboration, actor=world.admin, name="X"
    )
    foreign = _upload(other_customer_folder, world.admin, "främmande.pdf")
    client = login(world.admin)
    before = _state()
    for action in ("delete", "download", "move"):
        for stranger in (tree["document"], foreign):  # same customer, other folder; other customer
            response = client.post(
                _url("partner_bulk", world, folder.pk),
                {"action": action, "documents": [mine.pk, stranger.pk], "target": tree["q1"].pk},
            )
            assert response.status_code == 422, action
            assert "valid choice" in response.content.decode()
    assert _state() == before


@pytest.mark.parametrize(
    "data",
    [
        {"action": "delete"},  # nothing ticked
        {"action": "shred", "documents": ["DOC"]},
        {"action": "delete", "documents": ["9" * 30]},
        {"action": "delete", "documents": ["-1", "x"]},
        {"action": "move", "documents": ["DOC"]},  # no target
        {"action": "move", "documents": ["DOC"], "target": "SELF"},  # its own folder is no target
        {"action": "move", "documents": ["DOC"], "target": "FOREIGN"},
    ],
)
def test_bad_bulk_is_422_and_changes_nothing(
    world: Any, tree: dict[str, Any], login: Any, data: dict[str, Any]
) -> None:
    foreign = services.folder_create(collaboration=world.other_collaboration, actor=world.admin, name="X")
    swap = {"DOC": tree["document"].pk, "SELF": tree["avtal"].pk, "FOREIGN": foreign.pk}
    data = {
        k: ([swap.get(x, x) for x in v] if isinstance(v, list) else swap.get(v, v)) for k, v in data.items()
    }
    before = _state()
    response = login(world.admin).post(_url("partner_bulk", world, tree["avtal"].pk), data)
    assert response.status_code == 422
    assert 'class="errorlist nonfield"' in response.content.decode()
    assert _state() == before


def test_bulk_move_name_clash_is_422_and_moves_nothing(world: Any, tree: dict[str, Any], login: Any) -> None:
    folder = tree["intern"]
    a = _upload(folder, world.admin, "a.pdf")
    b = _upload(folder, world.admin, "avtal.pdf")  # Avtal has one already
    before = _state()
    response = login(world.admin).post(
        _url("partner_bulk", world, folder.pk),
        {"action": "move", "documents": [a.pk, b.pk], "target": tree["avtal"].pk},
    )
    assert (
        response.status_code == 422 and "already has a document named avtal.pdf" in response.content.decode()
    )
    assert f'value="{a.pk}" id="doc-{a.pk}" checked' in response.content.decode()
    assert _state() == before


# --- Audit log -------------------------------------------------------------------------------


def test_audit_log_lists_and_filters(world: Any, tree: dict[str, Any], login: Any) -> None:
    services.folder_rename(folder=tree["q1"], actor=world.staff, name="Kvartal 1")
    _upload(tree["avtal"], world.customer_user, "kund.pdf")
    services.download_record(version=tree["document"].current_version, actor=world.customer_user)
    AuditEvent.objects.filter(actor=world.customer_user).update(ip="192.0.2.7")
    # Events of other customers, the partner's other customer included, never show.
    services.folder_create(collaboration=world.other_collaboration, actor=world.admin, name="Hemlig A")
    services.folder_create(collaboration=world.outsider_collaboration, actor=world.outsider, name="Hemlig B")

    client = login(world.staff)
    url = reverse("documents:partner_audit", args=[world.collaboration.pk])
    response = client.get(url)
    html = response.content.decode()
    assert "Hemlig" not in html and "Per Outsider" not in html
    assert "Renamed a folder" in html and "was Q1" in html and "192.0.2.7" in html
    events = list(response.context["page"].object_list)
    assert {e.collaboration_id for e in events} == {world.collaboration.pk}
    assert len(events) == AuditEvent.objects.filter(collaboration_id=world.collaboration.pk).count()

    actor_choices = str(response.context["form"].fields["actor"].choices)
    assert (
        "Olle User" in actor_choices and "Sam Staff" in actor_choices and "Per Outsider" not in actor_choices
    )

    by_action = client.get(url, {"action": "document.download"}).context["page"].object_list
    assert [e.action for e in by_action] == ["document.download"]
    by_person = client.get(url, {"actor": world.customer_user.pk}).context["page"].object_list
    assert {e.actor_id for e in by_person} == {world.customer_user.pk} and len(by_person) == 2
    both = client.get(url, {"actor": world.customer_user.pk, "action": "document.upload"}).context["page"]
    assert [e.object_repr for e in both.object_list] == ["kund.pdf"]


def test_audit_log_bad_filter_is_422(world: Any, tree: dict[str, Any], login: Any) -> None:
    client = login(world.admin)
    url = reverse("documents:partner_audit", args=[world.collaboration.pk])
    assert client.get(url, {"actor": world.outsider.pk}).status_code == 422  # not in this log
    assert client.get(url, {"action": "everything"}).status_code == 422


def test_audit_log_pages_keep_the_filter(world: Any, tree: dict[str, Any], login: Any, settings: Any) -> None:
    settings.PAGE_SIZE = 2
    for _ in range(3):
        services.download_record(version=tree["document"].current_version, actor=world.staff)
    url = reverse("documents:partner_audit", args=[world.collaboration.pk])
    html = login(world.admin).get(url, {"action": "document.download"}).content.decode()
    assert "?action=document.download&amp;page=2" in html
