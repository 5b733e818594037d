"""Who manages a customer's users, and that no firm can put its own people into a customer.

The creating firm manages the users of a free Documents account until the account is taken over:
another firm collaborates with it (or has invited it), or its own administrators have managed its
users or answered an invitation (README, Customers). After that only the customer's primary
contact and administrators do. Partner-side user management never adds a member of the acting
firm. Every refusal says why and changes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from customers import selectors, services
from customers.models import Collaboration, CollaborationStatus, CustomerAccount, CustomerMembership
from documents import services as documents_services
from documents.models import Audience, CustomerAccess, Folder, FolderUserObjectPermission
from portal.models import User
from tests.conftest import World
from tests.factories import CollaborationFactory, CustomerMembershipFactory, UserFactory, valid_orgnr

pytestmark = pytest.mark.django_db

MANAGES_ITSELF = "Kund Alfa AB manages its own users."
OWN_PEOPLE = "%s works at Alfa Byrå AB: a firm cannot make its own people users of its customers."


@pytest.fixture
def world(world: World) -> World:
    User.objects.update(language="en")
    return world


def _state() -> dict[str, Any]:
    return {
        "memberships": sorted(
            CustomerMembership.objects.values_list("customer_id", "user_id", "is_admin", "is_primary_contact")
        ),
        "users": sorted(User.objects.values_list("pk", "email")),
        "customers": sorted(CustomerAccount.objects.values_list("pk", "name", "taken_over_at")),
        "collaborations": sorted(
            Collaboration.objects.values_list("pk", "partner_id", "customer_id", "status")
        ),
        "grants": sorted(FolderUserObjectPermission.objects.values_list("content_object_id", "user_id")),
    }


def _add(client: Client, collaboration: Collaboration, email: str, *, is_admin: bool = True) -> Any:
    data = {"name": "Ny Person", "email": email, "language": "en", "send_welcome": "on"}
    if is_admin:
        data["is_admin"] = "on"
    return client.post(reverse("customers:customer_user_add", args=[collaboration.pk]), data)


def _b_shares_a_folder_with_all(world: World) -> tuple[Collaboration, Folder]:
    """Firm B collaborates with A's Documents customer and shares a folder with all its users."""
    b_collaboration = CollaborationFactory.create(partner=world.other_partner, customer=world.customer)
    folder = documents_services.folder_create(
        collaboration=b_collaboration,
        actor=world.outsider,
        name="Beta delar",
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )
    return b_collaboration, folder


# --- The reported leak ------------------------------------------------------------------------------


def test_creating_firm_cannot_add_itself_and_read_the_other_firms_folder(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    b_collaboration, folder = _b_shares_a_folder_with_all(world)
    client = login(world.admin)
    before = _state()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customers:customer_user_add", args=[world.collaboration.pk]),
            {"name": "Anna Admin", "email": world.admin.email, "language": "en", "is_admin": "on"},
            follow=True,
        )

    assert MANAGES_ITSELF in response.content.decode()
    assert _state() == before
    assert mailoutbox == []
    assert not CustomerMembership.objects.filter(customer=world.customer, user=world.admin).exists()
    # Switching to the customer is impossible, and B's folder stays B's.
    assert client.get(reverse("documents:customer_root", args=[b_collaboration.pk])).status_code == 404
    url = reverse("documents:customer_folder", args=[b_collaboration.pk, folder.pk])
    assert client.get(url).status_code == 404


def test_an_invitation_from_another_firm_takes_the_account_over_even_if_declined(
    world: World, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    outsider = login(world.outsider)
    with django_capture_on_commit_callbacks(execute=True):
        response = outsider.post(
            reverse("customers:customer_invite"),
            {"org_number": world.customer.org_number, "email": world.primary.email},
        )
    assert response.status_code == 302
    invitation = Collaboration.objects.get(partner=world.other_partner, customer=world.customer)
    assert invitation.status == CollaborationStatus.INVITED
    world.customer.refresh_from_db()
    assert world.customer.taken_over_at is not None
    services.invitation_respond(collaboration=invitation, actor=world.primary, accept=False)

    client = login(world.admin)
    before = _state()
    response = _add(client, world.collaboration, "nils@example.com")
    assert response.status_code == 302
    assert MANAGES_ITSELF in client.get(response["Location"]).content.decode()
    assert _state() == before


def test_customer_managing_its_own_users_takes_the_account_over(
    world: World, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Before: the creating firm manages the users.
    client = login(world.admin)
    page = client.get(reverse("customers:customer_users", args=[world.collaboration.pk]))
    assert page.context["can_manage"] is True

    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.primary).post(
            reverse("customers:org_users"),
            {"name": "Kalle Kollega", "email": "kalle@example.com", "language": "en"},
        )
    assert response.status_code == 302
    world.customer.refresh_from_db()
    assert world.customer.taken_over_at is not None

    client = login(world.admin)
    page = client.get(reverse("customers:customer_users", args=[world.collaboration.pk]))
    assert page.context["can_manage"] is False
    assert "Kund Alfa AB manages its users itself." in page.content.decode()
    before = _state()
    response = _add(client, world.collaboration, "nils@example.com")
    assert response.status_code == 302
    assert _state() == before


@pytest.mark.parametrize("step", ["set_admin", "make_primary", "remove", "answer_invitation"])
def test_every_customer_side_change_of_users_takes_the_account_over(world: World, step: str) -> None:
    membership = CustomerMembership.objects.get(customer=world.customer, user=world.customer_user)
    match step:
        case "set_admin":
            services.customer_user_set_admin(membership=membership, actor=world.primary, is_admin=True)
        case "make_primary":
            services.customer_primary_contact_transfer(membership=membership, actor=world.primary)
        case "remove":
            services.customer_user_remove(membership=membership, actor=world.primary)
        case _:
            invitation = Collaboration.objects.create(
                partner=world.other_partner, customer=world.customer, status=CollaborationStatus.INVITED
            )
            services.invitation_respond(collaboration=invitation, actor=world.primary, accept=True)
    world.customer.refresh_from_db()
    assert world.customer.taken_over_at is not None
    assert selectors.partner_manages_users(collaboration=world.collaboration) is False


def test_the_site_operator_in_the_admin_does_not_take_the_account_over(world: World) -> None:
    operator = UserFactory.create(is_staff=True, is_superuser=True)
    membership = CustomerMembership.objects.get(customer=world.customer, user=world.customer_user)
    services.customer_user_set_admin(membership=membership, actor=operator, is_admin=True)
    world.customer.refresh_from_db()
    assert world.customer.taken_over_at is None
    assert selectors.partner_manages_users(collaboration=world.collaboration) is True


def test_the_service_refuses_a_taken_over_account_too(world: World) -> None:
    _b_shares_a_folder_with_all(world)
    before = _state()
    with translation.override("en"), pytest.raises(services.ServiceError, match="manages its own users"):
        services.customer_user_add_by_partner(
            collaboration=world.collaboration,
            actor=world.admin,
            spec=services.NewCustomerUser(name="Nils Ny", email="nils@example.com"),
        )
    assert _state() == before


# --- Never the acting firm's own people --------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "staff", "staff_unassigned"])
def test_partner_never_adds_its_own_people_to_its_customer(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any, who: str
) -> None:
    member: User = getattr(world, who)
    client = login(world.admin)
    before = _state()
    with django_capture_on_commit_callbacks(execute=True):
        response = _add(client, world.collaboration, member.email.upper())
    assert response.status_code == 422
    assert OWN_PEOPLE % member.email in response.content.decode()
    assert _state() == before
    assert mailoutbox == []


def test_partner_adds_a_member_of_another_firm_as_an_ordinary_newcomer(
    world: World, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Only the acting firm's own people are refused: a customer's bookkeeper may also work elsewhere.
    with django_capture_on_commit_callbacks(execute=True):
        response = _add(login(world.admin), world.collaboration, world.outsider.email, is_admin=False)
    assert response.status_code == 302
    assert CustomerMembership.objects.filter(customer=world.customer, user=world.outsider).exists()


@pytest.mark.parametrize("where", ["primary_contact", "more_users"])
def test_create_customer_refuses_the_firms_own_people(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any, where: str
) -> None:
    data = {
        "name": "Ny Kund AB",
        "org_number": valid_orgnr(6_000_001),
        "contact_name": "Karl Kontakt",
        "contact_email": "karl@example.com",
        "contact_language": "en",
        "users-TOTAL_FORMS": "2",
        "users-INITIAL_FORMS": "0",
        "users-MIN_NUM_FORMS": "0",
        "users-MAX_NUM_FORMS": "50",
        "users-0-name": "Olof Extra",
        "users-0-email": "olof@example.com",
        "users-0-language": "en",
        "users-1-language": "en",
    }
    if where == "primary_contact":
        data["contact_email"] = world.staff.email
    else:
        data["users-1-name"] = "Sam Staff"
        data["users-1-email"] = world.staff.email
    before = _state()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.admin).post(reverse("customers:customer_create"), data)
    assert response.status_code == 422
    assert OWN_PEOPLE % world.staff.email in response.content.decode()
    assert _state() == before
    assert mailoutbox == []


def test_a_member_of_both_firm_and_customer_from_before_stays_but_is_never_added_again(
    world: World, login: Any
) -> None:
    # Seeded before the fix: Anna is also an administrator of A's customer. Nothing purges her, but
    # the partner side cannot add her anywhere else either.
    CustomerMembershipFactory.create(customer=world.customer, user=world.admin, is_admin=True)
    other = world.other_collaboration
    before = _state()
    response = _add(login(world.admin), other, world.admin.email)
    assert response.status_code == 422
    assert _state() == before


# --- The primary contact hands over the role -----------------------------------------------------------


def test_a_customer_admin_cannot_make_themselves_primary_contact(world: World, login: Any) -> None:
    admin = CustomerMembershipFactory.create(customer=world.customer, is_admin=True, user__language="en")
    before = _state()
    response = login(admin.user).post(
        reverse("customers:org_user_make_primary", args=[admin.pk]), follow=True
    )
    assert response.status_code == 200
    assert "Only the primary contact can hand over the role." in response.content.decode()
    assert _state() == before
    assert (
        CustomerMembership.objects.get(customer=world.customer, is_primary_contact=True).user == world.primary
    )


def test_a_customer_admin_cannot_make_someone_else_primary_contact_either(world: World, login: Any) -> None:
    admin = CustomerMembershipFactory.create(customer=world.customer, is_admin=True, user__language="en")
    target = CustomerMembership.objects.get(customer=world.customer, user=world.customer_user)
    before = _state()
    response = login(admin.user).post(reverse("customers:org_user_make_primary", args=[target.pk]))
    assert response.status_code == 302
    assert _state() == before


def test_only_the_primary_contact_is_offered_the_hand_over(world: World, login: Any) -> None:
    admin = CustomerMembershipFactory.create(customer=world.customer, is_admin=True, user__language="en")
    assert "Make primary contact" in login(world.primary).get(reverse("customers:org_users")).content.decode()
    assert (
        "Make primary contact" not in login(admin.user).get(reverse("customers:org_users")).content.decode()
    )


# --- Removing a user removes their folder grants --------------------------------------------------------


def test_removing_a_user_removes_their_grants_and_re_adding_does_not_bring_them_back(
    world: World, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    folder = documents_services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Löner",
        customer_access=CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    # A grant on another customer's folder is no business of this removal.
    CustomerMembershipFactory.create(customer=world.other_collaboration.customer, user=world.customer_user)
    elsewhere = documents_services.folder_create(
        collaboration=world.other_collaboration,
        actor=world.admin,
        name="Annat",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    membership = CustomerMembership.objects.get(customer=world.customer, user=world.customer_user)
    assert FolderUserObjectPermission.objects.filter(content_object=folder, user=world.customer_user).exists()

    response = login(world.primary).post(reverse("customers:org_user_remove", args=[membership.pk]))
    assert response.status_code == 302

    assert not FolderUserObjectPermission.objects.filter(
        content_object__collaboration__customer=world.customer, user=world.customer_user
    ).exists()
    assert FolderUserObjectPermission.objects.filter(
        content_object=elsewhere, user=world.customer_user
    ).exists()

    with django_capture_on_commit_callbacks(execute=True):
        login(world.primary).post(
            reverse("customers:org_users"),
            {"name": "Olle User", "email": world.customer_user.email, "language": "en"},
        )
    assert CustomerMembership.objects.filter(customer=world.customer, user=world.customer_user).exists()
    url = reverse("documents:customer_folder", args=[world.collaboration.pk, folder.pk])
    assert login(world.customer_user).get(url).status_code == 404


def test_a_refused_removal_keeps_the_grants(world: World) -> None:
    folder = documents_services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.primary.pk],
    )
    primary = CustomerMembership.objects.get(customer=world.customer, user=world.primary)
    with pytest.raises(services.ServiceError):
        services.customer_user_remove(membership=primary, actor=world.primary)
    assert FolderUserObjectPermission.objects.filter(content_object=folder, user=world.primary).exists()
