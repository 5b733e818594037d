"""What the admin lets staff who are not superusers do: only superusers edit superusers (email,
password, deletion), nobody edits a staff member holding rights they lack, nobody makes anyone a
superuser, and every action needs the right it uses, so view-only staff run none of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Collaboration, CollaborationStatus, CustomerMembership
from documents import services as documents_services
from documents.models import Document, DocumentVersion, Folder, PreviewStatus
from portal.models import User
from signing.models import SigningRequest, Status
from tests.admin.test_admin import post_data
from tests.conftest import World
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-Otter-Canyon-42"


def staff_with(*codenames: str, **extra: Any) -> User:
    """A staff user (not a superuser) holding the given model permissions ("app.codename")."""
    user = UserFactory.create(is_staff=True, **extra)
    for name in codenames:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root() -> User:
    return User.objects.create_superuser(email="root@example.com", name="Root", password="root-password-1")


@pytest.fixture
def operator() -> User:
    """May view, add, change and delete users, nothing more."""
    return staff_with("portal.view_user", "portal.add_user", "portal.change_user", "portal.delete_user")


# --- Superusers are edited by superusers only ---------------------------------------------------------


def test_operator_cannot_set_a_superusers_password(root: User, operator: User) -> None:
    response = client_for(operator).post(
        reverse("admin:auth_user_password_change", args=[root.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("root-password-1")


def test_operator_cannot_change_a_superusers_email(root: User, operator: User) -> None:
    client = client_for(operator)
    url = reverse("admin:portal_user_change", args=[root.pk])
    page = client.get(url)
    assert page.status_code == 200  # may look: operators may view users
    assert page.context["has_change_permission"] is False
    response = client.post(url, {"email": "attacker@example.com", "name": "Root", "language": "sv"})
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.email == "root@example.com"


def test_operator_cannot_delete_a_superuser(root: User, operator: User) -> None:
    client = client_for(operator)
    response = client.post(reverse("admin:portal_user_delete", args=[root.pk]), {"post": "yes"})
    assert response.status_code == 403
    response = client.post(
        reverse("admin:portal_user_changelist"),
        {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=root.pk).exists()


def test_operator_still_changes_an_ordinary_users_email(operator: User) -> None:
    user = UserFactory.create(email="olle@example.com")
    client = client_for(operator)
    url = reverse("admin:portal_user_change", args=[user.pk])
    data = post_data(client.get(url))
    data["email"] = "olle.new@example.com"
    response = client.post(url, data)
    assert response.status_code == 302, getattr(response, "context", None) and response.context.get("errors")
    user.refresh_from_db()
    assert user.email == "olle.new@example.com"


def test_superuser_changes_another_superusers_password(root: User) -> None:
    other = User.objects.create_superuser(
        email="root2@example.com", name="Root 2", password="old-password-22"
    )
    response = client_for(root).post(
        reverse("admin:auth_user_password_change", args=[other.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.check_password(NEW_PASSWORD)


def test_operator_cannot_take_over_staff_with_more_rights(operator: User) -> None:
    """Setting the password of a staff member who may delete documents would hand the operator
    that right too."""
    stronger = staff_with("documents.delete_document", "portal.view_user", password="stronger-pass-1")
    response = client_for(operator).post(
        reverse("admin:auth_user_password_change", args=[stronger.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 403
    stronger.refresh_from_db()
    assert not stronger.check_password(NEW_PASSWORD)


def test_operator_cannot_make_anyone_a_superuser(operator: User) -> None:
    user = UserFactory.create(email="olle@example.com")
    client = client_for(operator)
    for target in (user, operator):
        url = reverse("admin:portal_user_change", args=[target.pk])
        data = post_data(client.get(url))
        data.update({"is_superuser": "on", "is_staff": "on"})
        client.post(url, data)
        target.refresh_from_db()
        assert target.is_superuser is False
    add = client.get(reverse("admin:portal_user_add"))
    assert "is_superuser" not in add.context["adminform"].form.fields


# --- Actions need their right -------------------------------------------------------------------------


def _run(user: User, model: str, action: str, ids: list[int]) -> Any:
    return client_for(user).post(
        reverse(f"admin:{model}_changelist"), {"action": action, "_selected_action": ids}, follow=True
    )


def _document(world: World) -> Document:
    folder = documents_services.folder_create(collaboration=world.collaboration, actor=world.admin, name="F")
    documents_services.document_upload(
        folder=folder, actor=world.admin, name="a.txt", chunks=[b"hello"], by_customer=False
    )
    return Document.objects.get(folder=folder)


def _offered(user: User, model: str) -> set[str]:
    response = client_for(user).get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action is offered
    return {value for value, _label in form.fields["action"].choices if value} if form else set()


def test_view_only_staff_cannot_delete_documents(world: World) -> None:
    document = _document(world)
    viewer = staff_with("documents.view_document")
    assert "delete_documents" not in _offered(viewer, "documents_document")
    _run(viewer, "documents_document", "delete_documents", [document.pk])
    document.refresh_from_db()
    assert document.deleted_at is None


def test_staff_who_may_delete_documents_can(world: World) -> None:
    document = _document(world)
    deleter = staff_with("documents.view_document", "documents.delete_document")
    assert "delete_documents" in _offered(deleter, "documents_document")
    _run(deleter, "documents_document", "delete_documents", [document.pk])
    document.refresh_from_db()
    assert document.deleted_at is not None


def test_view_only_staff_cannot_render_previews_again(world: World) -> None:
    document = _document(world)
    version = DocumentVersion.objects.get(document=document)
    DocumentVersion.objects.filter(pk=version.pk).update(preview_status=PreviewStatus.FAILED)
    viewer = staff_with("documents.view_documentversion")
    assert "render_previews_again" not in _offered(viewer, "documents_documentversion")
    _run(viewer, "documents_documentversion", "render_previews_again", [version.pk])
    version.refresh_from_db()
    assert version.preview_status == PreviewStatus.FAILED
    changer = staff_with("documents.view_documentversion", "documents.change_documentversion")
    assert "render_previews_again" in _offered(changer, "documents_documentversion")


def test_view_only_staff_cannot_make_a_primary_contact(world: World) -> None:
    membership = CustomerMembership.objects.get(user=world.customer_user, customer=world.customer)
    viewer = staff_with("customers.view_customermembership")
    assert "make_primary_contact" not in _offered(viewer, "customers_customermembership")
    _run(viewer, "customers_customermembership", "make_primary_contact", [membership.pk])
    membership.refresh_from_db()
    assert membership.is_primary_contact is False
    assert CustomerMembership.objects.get(user=world.primary, customer=world.customer).is_primary_contact


def test_view_only_staff_cannot_end_collaborations(world: World) -> None:
    viewer = staff_with("customers.view_collaboration")
    assert "end_collaborations" not in _offered(viewer, "customers_collaboration")
    _run(viewer, "customers_collaboration", "end_collaborations", [world.collaboration.pk])
    assert Collaboration.objects.get(pk=world.collaboration.pk).status == CollaborationStatus.ACTIVE


def test_staff_who_may_change_collaborations_can_end_them(world: World) -> None:
    changer = staff_with("customers.view_collaboration", "customers.change_collaboration")
    _run(changer, "customers_collaboration", "end_collaborations", [world.collaboration.pk])
    assert Collaboration.objects.get(pk=world.collaboration.pk).status == CollaborationStatus.ENDED


def test_view_only_staff_cannot_adjust_balances(world: World) -> None:
    viewer = staff_with("partners.view_partner")
    assert "adjust_balance" not in _offered(viewer, "partners_partner")


def test_every_admin_action_declares_its_permissions() -> None:
    from django.contrib import admin

    actions = [
        (model, model_admin.get_action(action))
        for model, model_admin in admin.site._registry.items()
        for action in model_admin.actions or ()
    ]
    assert len(actions) >= 5
    undeclared = [
        f"{model._meta.label}.{found[1] if found else '?'}"
        for model, found in actions
        if found is None or not getattr(found[0], "allowed_permissions", None)
    ]
    assert undeclared == []


# --- A document out for signing is held in the admin too ----------------------------------------


def _held(world: World) -> Document:
    document = _document(world)
    assert document.current_version is not None
    SigningRequest.objects.create(
        collaboration=world.collaboration,
        document=document,
        version=document.current_version,
        title=document.name,
        created_by=world.admin,
        deadline=timezone.now() + dt.timedelta(days=7),
        status=Status.PENDING,
    )
    return document


def test_deleting_a_document_out_for_signing_in_the_admin_says_why_and_keeps_it(
    root: User, world: World
) -> None:
    document = _held(world)
    response = _run(root, "documents_document", "delete_documents", [document.pk])
    assert response.status_code == 200
    assert "a.txt" in " ".join(str(m) for m in response.context["messages"])
    document.refresh_from_db()
    assert document.deleted_at is None


def test_deleting_a_folder_holding_a_document_out_for_signing_in_the_admin_is_refused(
    root: User, world: World
) -> None:
    document = _held(world)
    url = reverse("admin:documents_folder_delete", args=[document.folder_id])
    page = client_for(root).get(url)
    assert page.status_code == 200 and "a.txt" in page.content.decode()
    response = client_for(root).post(url, {"post": "yes"})
    assert response.status_code in (200, 403)
    assert Folder.objects.filter(pk=document.folder_id).exists()
    response = client_for(root).post(
        reverse("admin:documents_folder_changelist"),
        {"action": "delete_selected", "_selected_action": [document.folder_id], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert Folder.objects.filter(pk=document.folder_id).exists()
    document.refresh_from_db()
    assert document.deleted_at is None
