"""The customer side: Samarbeten, invitations and the customer's own users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import services
from customers.models import (
    Collaboration,
    CollaborationStatus,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from portal.models import User
from tests.conftest import World
from tests.factories import (
    CollaborationFactory,
    CustomerAccountFactory,
    CustomerMembershipFactory,
    PartnerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world: World) -> World:
    """The shared world, with everyone reading English so that messages can be asserted as written."""
    User.objects.update(language="en")
    return world


def _membership(world: World, user: User) -> CustomerMembership:
    return CustomerMembership.objects.get(customer=world.customer, user=user)


def _page(response: Any) -> str:
    return response.content.decode()


# --- Samarbeten: the list ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["primary", "customer_user"])
def test_every_customer_user_sees_the_partner_they_collaborate_with(
    world: World, login: Any, who: str
) -> None:
    response = login(getattr(world, who)).get(reverse("customers:collaboration_list"))
    assert response.status_code == 200
    assert [c.partner.name for c in response.context["collaborations"]] == ["Alfa Byrå AB"]
    assert "Alfa Byrå AB" in _page(response)
    assert "Beta Byrå AB" not in _page(response)


def test_outsiders_customer_user_sees_only_their_own_partner(world: World, login: Any) -> None:
    response = login(world.outsider_customer_user).get(reverse("customers:collaboration_list"))
    assert response.status_code == 200
    assert [c.partner.name for c in response.context["collaborations"]] == ["Beta Byrå AB"]
    assert "Alfa Byrå AB" not in _page(response)


def test_partner_only_user_gets_404_on_collaborations(world: World, login: Any) -> None:
    assert login(world.admin).get(reverse("customers:collaboration_list")).status_code == 404
    assert login(world.staff).get(reverse("customers:collaboration_list")).status_code == 404


def test_ended_and_declined_collaborations_are_not_listed(world: World, login: Any) -> None:
    CollaborationFactory.create(
        customer=world.customer, partner__name="Slut Byrå AB", status=CollaborationStatus.ENDED
    )
    CollaborationFactory.create(
        customer=world.customer, partner__name="Nej Byrå AB", status=CollaborationStatus.DECLINED
    )
    response = login(world.primary).get(reverse("customers:collaboration_list"))
    assert [c.partner.name for c in response.context["collaborations"]] == ["Alfa Byrå AB"]
    assert "Slut Byrå AB" not in _page(response)
    assert "Nej Byrå AB" not in _page(response)


def test_invitations_are_shown_to_customer_admins_only(world: World, login: Any) -> None:
    invitation = CollaborationFactory.create(
        customer=world.customer, partner__name="Gamma Byrå AB", status=CollaborationStatus.INVITED
    )
    response = login(world.primary).get(reverse("customers:collaboration_list"))
    assert list(response.context["invitations"]) == [invitation]
    assert "Gamma Byrå AB" in _page(response)
    assert reverse("customers:invitation_respond", args=[invitation.pk]) in _page(response)
    # An invitation is not yet a collaboration.
    assert [c.partner.name for c in response.context["collaborations"]] == ["Alfa Byrå AB"]

    response = login(world.customer_user).get(reverse("customers:collaboration_list"))
    assert response.status_code == 200
    assert list(response.context["invitations"]) == []
    assert "Gamma Byrå AB" not in _page(response)
    assert reverse("customers:invitation_respond", args=[invitation.pk]) not in _page(response)


def _queries_for_collaboration_list(client: Client, n_partners: int) -> tuple[int, int]:
    customer = CustomerAccountFactory.create()
    member = CustomerMembershipFactory.create(customer=customer, is_primary_contact=True, is_admin=True).user
    for _ in range(n_partners):
        CollaborationFactory.create(partner=PartnerFactory.create(), customer=customer)
    client.force_login(member)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("customers:collaboration_list"))
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["collaborations"])


def test_collaboration_list_query_count_is_constant_with_3_and_60_partners(client: Client) -> None:
    small, shown_small = _queries_for_collaboration_list(client, 3)
    large, shown_large = _queries_for_collaboration_list(client, 60)
    assert (shown_small, shown_large) == (3, 60)
    assert small == large
    # session, user, the user's two membership kinds, collaborations, invitations (+1 slack)
    assert large <= 7


# --- Samarbeten: one partner --------------------------------------------------------------


@pytest.mark.parametrize("who", ["primary", "customer_user"])
def test_customer_user_opens_their_collaboration(world: World, login: Any, who: str) -> None:
    response = login(getattr(world, who)).get(
        reverse("customers:collaboration_detail", args=[world.collaboration.pk]), follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("documents:customer_root", args=[world.collaboration.pk])
    assert response.context["collaboration"] == world.collaboration
    assert "Alfa Byrå AB" in _page(response)


def test_user_of_another_customer_gets_404_on_collaboration(world: World, login: Any) -> None:
    client = login(world.outsider_customer_user)
    assert (
        client.get(reverse("customers:collaboration_detail", args=[world.collaboration.pk])).status_code
        == 404
    )
    # The same partner's other customer is no way in either.
    other_user = CustomerMembershipFactory.create(customer=world.other_collaboration.customer).user
    response = login(other_user).get(reverse("customers:collaboration_detail", args=[world.collaboration.pk]))
    assert response.status_code == 404


def test_partner_admin_gets_404_on_the_customer_page_of_their_own_collaboration(
    world: World, login: Any
) -> None:
    response = login(world.admin).get(
        reverse("customers:collaboration_detail", args=[world.collaboration.pk])
    )
    assert response.status_code == 404


def test_collaboration_ended_with_its_files_deleted_is_404_for_its_customer(world: World, login: Any) -> None:
    services.collaboration_end(
        collaboration=world.collaboration,
        actor=world.admin,
        delete_files=True,
        confirm=world.collaboration.customer.name,
    )
    response = login(world.primary).get(
        reverse("customers:collaboration_detail", args=[world.collaboration.pk])
    )
    assert response.status_code == 404


def test_invitation_not_yet_accepted_is_404_for_its_customer(world: World, login: Any) -> None:
    invited = CollaborationFactory.create(customer=world.customer, status=CollaborationStatus.INVITED)
    response = login(world.primary).get(reverse("customers:collaboration_detail", args=[invited.pk]))
    assert response.status_code == 404


def test_opening_a_collaboration_switches_to_its_customer(world: World, login: Any) -> None:
    """A person at two customers follows a link to the second one: the header follows."""
    CustomerMembershipFactory.create(customer=world.outsider_collaboration.customer, user=world.primary)
    client = login(world.primary)
    response = client.get(
        reverse("customers:collaboration_detail", args=[world.outsider_collaboration.pk]), follow=True
    )
    assert response.status_code == 200
    assert client.session["portal_org"] == f"customer:{world.outsider_collaboration.customer_id}"


# --- Invitations --------------------------------------------------------------------------


@dataclass
class Invitation:
    collaboration: Collaboration
    token: str
    customer: CustomerAccount
    admin: User  # an administrator (not the primary contact) of the invited customer
    plain: User  # a user without admin rights at the invited customer


@pytest.fixture
def invitation(world: World) -> Invitation:
    customer = CustomerAccountFactory.create(kind=CustomerKind.SUBSCRIPTION, name="Egen Prenumeration AB")
    admin = CustomerMembershipFactory.create(customer=customer, is_admin=True, user__language="en").user
    plain = CustomerMembershipFactory.create(customer=customer, user__language="en").user
    collaboration, token = services.customer_invite(
        partner=world.partner, actor=world.admin, org_number=customer.org_number, email=admin.email
    )
    assert collaboration.status == CollaborationStatus.INVITED
    return Invitation(collaboration=collaboration, token=token, customer=customer, admin=admin, plain=plain)


def _token_url(invitation: Invitation) -> str:
    return reverse("customers:invitation_by_token", args=[invitation.token])


def _respond_url(invitation: Invitation) -> str:
    return reverse("customers:invitation_respond", args=[invitation.collaboration.pk])


def test_admin_accepts_invitation(invitation: Invitation, login: Any) -> None:
    client = login(invitation.admin)
    response = client.post(_respond_url(invitation), {"decision": "accept"})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "customers:collaboration_detail", args=[invitation.collaboration.pk]
    )
    invitation.collaboration.refresh_from_db()
    assert invitation.collaboration.status == CollaborationStatus.ACTIVE
    assert invitation.collaboration.responded_by == invitation.admin
    assert invitation.collaboration.responded_at is not None
    response = client.get(response["Location"], follow=True)
    assert response.status_code == 200
    assert "You now collaborate with Alfa Byrå AB." in _page(response)
    listed = client.get(reverse("customers:collaboration_list")).context["collaborations"]
    assert [c.partner.name for c in listed] == ["Alfa Byrå AB"]


def test_admin_accepts_invitation_through_the_emailed_link(invitation: Invitation, login: Any) -> None:
    client = login(invitation.admin)
    response = client.get(_token_url(invitation))
    assert response.status_code == 200
    assert "Invitation from Alfa Byrå AB" in _page(response)
    assert 'value="accept"' in _page(response)
    response = client.post(_token_url(invitation), {"decision": "accept"})
    assert response.status_code == 302
    invitation.collaboration.refresh_from_db()
    assert invitation.collaboration.status == CollaborationStatus.ACTIVE
    assert invitation.collaboration.responded_by == invitation.admin


def test_answering_twice_says_already_answered_and_changes_nothing(
    invitation: Invitation, login: Any
) -> None:
    client = login(invitation.admin)
    client.post(_respond_url(invitation), {"decision": "accept"})
    invitation.collaboration.refresh_from_db()
    answered_at = invitation.collaboration.responded_at

    for url, decision in [(_respond_url(invitation), "accept"), (_token_url(invitation), "decline")]:
        response = client.post(url, {"decision": decision}, follow=True)
        assert response.status_code == 200
        assert "This invitation has already been answered." in _page(response)
        invitation.collaboration.refresh_from_db()
        assert invitation.collaboration.status == CollaborationStatus.ACTIVE
        assert invitation.collaboration.responded_at == answered_at


def test_admin_declines_invitation(invitation: Invitation, login: Any) -> None:
    client = login(invitation.admin)
    response = client.post(_token_url(invitation), {"decision": "decline"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("customers:collaboration_list")
    assert "The invitation from Alfa Byrå AB was declined." in _page(response)
    invitation.collaboration.refresh_from_db()
    assert invitation.collaboration.status == CollaborationStatus.DECLINED
    assert invitation.collaboration.responded_by == invitation.admin
    assert list(response.context["collaborations"]) == []
    assert list(response.context["invitations"]) == []


def test_response_without_a_decision_changes_nothing(invitation: Invitation, login: Any) -> None:
    response = login(invitation.admin).post(_respond_url(invitation), {"decision": "maybe"}, follow=True)
    assert "Choose to accept or decline." in _page(response)
    invitation.collaboration.refresh_from_db()
    assert invitation.collaboration.status == CollaborationStatus.INVITED
    assert invitation.collaboration.responded_by is None


def test_plain_user_of_the_invited_customer_gets_403_and_nothing_changes(
    invitation: Invitation, login: Any
) -> None:
    client = login(invitation.plain)
    assert client.get(_token_url(invitation)).status_code == 403
    assert client.post(_token_url(invitation), {"decision": "accept"}).status_code == 403
    assert client.post(_respond_url(invitation), {"decision": "accept"}).status_code == 403
    invitation.collaboration.refresh_from_db()
    assert invitation.collaboration.status == CollaborationStatus.INVITED
    assert invitation.collaboration.responded_by is None
    assert invitation.collaboration.responded_at is None


def test_admin_of_another_customer_gets_404_with_the_token(
    world: World, invitation: Invitation, login: Any
) -> None:
    client = login(world.outsider_customer_user)
    assert client.get(_token_url(invitation)).status_code == 404
    assert client.post(_token_url(invitation), {"decision": "accept"}).status_code == 404
    assert client.post(_respond_url(invitation), {"decision": "accept"}).status_code == 404
    invitation.collaboration.refresh_from_db()
    assert invitation.collaboration.status == CollaborationStatus.INVITED


def test_partner_admin_who_sent_the_invitation_cannot_answer_it(
    world: World, invitation: Invitation, login: Any
) -> None:
    client = login(world.admin)
    assert client.post(_token_url(invitation), {"decision": "accept"}).status_code == 404
    invitation.collaboration.refresh_from_db()
    assert invitation.collaboration.status == CollaborationStatus.INVITED


def test_unknown_token_is_404(invitation: Invitation, login: Any) -> None:
    url = reverse("customers:invitation_by_token", args=["not-" + invitation.token])
    assert login(invitation.admin).get(url).status_code == 404


def test_opening_the_link_after_answering_says_already_answered(invitation: Invitation, login: Any) -> None:
    client = login(invitation.admin)
    client.post(_token_url(invitation), {"decision": "decline"})
    response = client.get(_token_url(invitation))
    assert response.status_code == 200
    assert response.context["answered"] is True
    assert "This invitation has already been answered." in _page(response)
    assert 'value="accept"' not in _page(response)


def test_link_of_an_ended_collaboration_is_404(world: World, invitation: Invitation, login: Any) -> None:
    client = login(invitation.admin)
    client.post(_token_url(invitation), {"decision": "accept"})
    services.collaboration_end(collaboration=invitation.collaboration, actor=world.admin)
    assert client.get(_token_url(invitation)).status_code == 404


def test_invitation_reaches_the_companys_own_subscription_rather_than_its_documents_account(
    world: World,
) -> None:
    """The same company may have a Documents account (made by another firm) and its own
    subscription, administered by the same person: the invitation goes to the subscription."""
    person = UserFactory.create(language="en")
    documents = CustomerAccountFactory.create(kind=CustomerKind.DOCUMENTS)
    subscription = CustomerAccountFactory.create(
        kind=CustomerKind.SUBSCRIPTION, org_number=documents.org_number
    )
    CustomerMembershipFactory.create(customer=documents, user=person, is_primary_contact=True, is_admin=True)
    CustomerMembershipFactory.create(customer=subscription, user=person, is_admin=True)
    collaboration, _token = services.customer_invite(
        partner=world.partner, actor=world.admin, org_number=documents.org_number, email=person.email
    )
    assert collaboration.customer == subscription


# --- The customer's own users ------------------------------------------------------------


def _add_user_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Nina Ny",
        "email": "nina@example.com",
        "language": "en",
        "send_welcome": "on",
        **overrides,
    }


@pytest.mark.parametrize("who", ["primary", "customer_user"])
def test_every_customer_user_sees_the_users_page(world: World, login: Any, who: str) -> None:
    response = login(getattr(world, who)).get(reverse("customers:org_users"))
    assert response.status_code == 200
    assert [m.user.name for m in response.context["users"]] == ["Karin Primary", "Olle User"]
    assert "Karin Primary" in _page(response)
    assert "Olle User" in _page(response)


def _queries_for_users_page(client: Client, n_users: int) -> tuple[int, int]:
    customer = CustomerAccountFactory.create()
    primary = CustomerMembershipFactory.create(customer=customer, is_primary_contact=True, is_admin=True).user
    CustomerMembershipFactory.create_batch(n_users - 1, customer=customer)
    client.force_login(primary)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("customers:org_users"))
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["users"])


def test_users_page_query_count_is_constant_with_3_and_40_users(client: Client) -> None:
    small, shown_small = _queries_for_users_page(client, 3)
    large, shown_large = _queries_for_users_page(client, 40)
    assert (shown_small, shown_large) == (3, 40)
    assert small == large
    assert large <= 7


def test_only_managers_see_the_add_form_and_actions(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    remove_url = reverse("customers:org_user_remove", args=[membership.pk])
    manager_page = _page(login(world.primary).get(reverse("customers:org_users")))
    assert "Add a user" in manager_page
    assert remove_url in manager_page
    plain_page = _page(login(world.customer_user).get(reverse("customers:org_users")))
    assert "Add a user" not in plain_page
    assert remove_url not in plain_page


def test_partner_only_user_gets_404_on_users_page(world: World, login: Any) -> None:
    assert login(world.admin).get(reverse("customers:org_users")).status_code == 404


def test_primary_contact_adds_a_user_who_gets_one_welcome_email(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.primary)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:org_users"), _add_user_data(email="Nina@Example.com"))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:org_users")
    membership = CustomerMembership.objects.get(customer=world.customer, user__email="nina@example.com")
    assert membership.is_admin is False
    assert membership.is_primary_contact is False
    assert membership.user.name == "Nina Ny"
    assert membership.user.language == "en"
    assert membership.welcome_sent_at is not None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nina@example.com"]
    assert mailoutbox[0].subject == "Welcome to the partner portal, Kund Alfa AB"
    assert "Nina Ny was added." in _page(client.get(response["Location"]))


def test_added_user_can_be_made_admin_and_without_welcome_email(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    data = _add_user_data(is_admin="on")
    del data["send_welcome"]
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.primary).post(reverse("customers:org_users"), data)
    assert response.status_code == 302
    membership = CustomerMembership.objects.get(customer=world.customer, user__email="nina@example.com")
    assert membership.is_admin is True
    assert membership.welcome_sent_at is None
    assert mailoutbox == []


def test_adding_an_existing_portal_user_reuses_their_account(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    users_before = User.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.primary).post(
            reverse("customers:org_users"),
            _add_user_data(name="Someone Else", email=world.outsider.email.upper()),
        )
    assert response.status_code == 302
    assert User.objects.count() == users_before
    assert CustomerMembership.objects.filter(customer=world.customer, user=world.outsider).exists()
    world.outsider.refresh_from_db()
    assert world.outsider.name == "Per Outsider"  # their name is theirs to change
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [world.outsider.email]


def test_plain_user_cannot_add_users(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.customer_user).post(reverse("customers:org_users"), _add_user_data())
    assert response.status_code == 403
    assert not User.objects.filter(email="nina@example.com").exists()
    assert CustomerMembership.objects.filter(customer=world.customer).count() == 2
    assert mailoutbox == []


def test_adding_an_email_that_is_already_a_member_is_422_with_a_clear_message(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.primary).post(
            reverse("customers:org_users"), _add_user_data(email=world.customer_user.email.upper())
        )
    assert response.status_code == 422
    assert response.context["form"].errors["email"] == [
        f"{world.customer_user.email} is already a user at Kund Alfa AB."
    ]
    assert f"{world.customer_user.email} is already a user at Kund Alfa AB." in _page(response)
    assert CustomerMembership.objects.filter(customer=world.customer).count() == 2
    assert mailoutbox == []


def test_add_form_with_invalid_email_is_422(world: World, login: Any) -> None:
    response = login(world.primary).post(reverse("customers:org_users"), _add_user_data(email="not-an-email"))
    assert response.status_code == 422
    assert "email" in response.context["form"].errors
    assert CustomerMembership.objects.filter(customer=world.customer).count() == 2


# --- Admin rights -------------------------------------------------------------------------


def test_primary_contact_grants_and_revokes_admin_rights(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    url = reverse("customers:org_user_set_admin", args=[membership.pk])
    client = login(world.primary)

    response = client.post(url, {"is_admin": "1"}, follow=True)
    assert response.redirect_chain == [(reverse("customers:org_users"), 302)]
    assert "The rights of Olle User were changed." in _page(response)
    membership.refresh_from_db()
    assert membership.is_admin is True

    client.post(url, {"is_admin": "0"})
    membership.refresh_from_db()
    assert membership.is_admin is False


def test_new_admin_may_then_manage_users(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    login(world.primary).post(
        reverse("customers:org_user_set_admin", args=[membership.pk]), {"is_admin": "1"}
    )
    response = login(world.customer_user).post(
        reverse("customers:org_users"), _add_user_data(send_welcome="")
    )
    assert response.status_code == 302
    assert CustomerMembership.objects.filter(customer=world.customer, user__email="nina@example.com").exists()


def test_primary_contact_keeps_admin_rights(world: World, login: Any) -> None:
    admin = CustomerMembershipFactory.create(customer=world.customer, is_admin=True, user__language="en").user
    primary = _membership(world, world.primary)
    response = login(admin).post(
        reverse("customers:org_user_set_admin", args=[primary.pk]), {"is_admin": "0"}, follow=True
    )
    assert response.status_code == 200
    assert "The primary contact is always an administrator." in _page(response)
    primary.refresh_from_db()
    assert primary.is_admin is True


def test_plain_user_cannot_change_admin_rights(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    response = login(world.customer_user).post(
        reverse("customers:org_user_set_admin", args=[membership.pk]), {"is_admin": "1"}
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.is_admin is False


def test_outsider_customer_admin_gets_404_on_set_admin(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    response = login(world.outsider_customer_user).post(
        reverse("customers:org_user_set_admin", args=[membership.pk]), {"is_admin": "1"}
    )
    assert response.status_code == 404
    membership.refresh_from_db()
    assert membership.is_admin is False


def test_set_admin_needs_post(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    response = login(world.primary).get(reverse("customers:org_user_set_admin", args=[membership.pk]))
    assert response.status_code == 405


# --- Primary contact ----------------------------------------------------------------------


def test_making_someone_primary_leaves_exactly_one_and_the_old_one_stays_admin(
    world: World, login: Any
) -> None:
    new_primary = _membership(world, world.customer_user)
    response = login(world.primary).post(
        reverse("customers:org_user_make_primary", args=[new_primary.pk]), follow=True
    )
    assert response.status_code == 200
    assert "Olle User is now the primary contact." in _page(response)
    primaries = CustomerMembership.objects.filter(customer=world.customer, is_primary_contact=True)
    assert [m.user for m in primaries] == [world.customer_user]
    new_primary.refresh_from_db()
    assert new_primary.is_admin is True
    old = _membership(world, world.primary)
    assert old.is_primary_contact is False
    assert old.is_admin is True
    # The other customer's primary contact is untouched.
    assert CustomerMembership.objects.filter(
        customer=world.other_collaboration.customer, is_primary_contact=True
    ).exists()


def test_plain_user_cannot_make_themselves_primary(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    response = login(world.customer_user).post(
        reverse("customers:org_user_make_primary", args=[membership.pk])
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.is_primary_contact is False
    assert _membership(world, world.primary).is_primary_contact is True


def test_outsider_customer_admin_gets_404_on_make_primary(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    response = login(world.outsider_customer_user).post(
        reverse("customers:org_user_make_primary", args=[membership.pk])
    )
    assert response.status_code == 404
    assert _membership(world, world.primary).is_primary_contact is True


# --- Removing users -----------------------------------------------------------------------


def test_remove_asks_for_confirmation_first(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    response = login(world.primary).get(reverse("customers:org_user_remove", args=[membership.pk]))
    assert response.status_code == 200
    assert "Remove Olle User?" in _page(response)
    assert CustomerMembership.objects.filter(pk=membership.pk).exists()


def test_primary_contact_removes_a_user(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    client = login(world.primary)
    response = client.post(reverse("customers:org_user_remove", args=[membership.pk]), follow=True)
    assert response.redirect_chain == [(reverse("customers:org_users"), 302)]
    assert "Olle User was removed." in _page(response)
    assert not CustomerMembership.objects.filter(pk=membership.pk).exists()
    assert User.objects.filter(pk=world.customer_user.pk).exists()  # the person keeps their login
    # ... but no longer reaches the customer's pages.
    assert login(world.customer_user).get(reverse("customers:collaboration_list")).status_code == 404


def test_removing_the_primary_contact_is_refused(world: World, login: Any) -> None:
    admin = CustomerMembershipFactory.create(customer=world.customer, is_admin=True, user__language="en").user
    primary = _membership(world, world.primary)
    response = login(admin).post(reverse("customers:org_user_remove", args=[primary.pk]), follow=True)
    assert response.status_code == 200
    assert "Make someone else the primary contact before removing Karin Primary." in _page(response)
    assert CustomerMembership.objects.filter(pk=primary.pk, is_primary_contact=True).exists()


def test_plain_user_cannot_remove_users(world: World, login: Any) -> None:
    primary = _membership(world, world.primary)
    own = _membership(world, world.customer_user)
    client = login(world.customer_user)
    assert client.get(reverse("customers:org_user_remove", args=[own.pk])).status_code == 403
    assert client.post(reverse("customers:org_user_remove", args=[own.pk])).status_code == 403
    assert client.post(reverse("customers:org_user_remove", args=[primary.pk])).status_code == 403
    assert CustomerMembership.objects.filter(customer=world.customer).count() == 2


def test_outsider_customer_admin_gets_404_on_remove(world: World, login: Any) -> None:
    membership = _membership(world, world.customer_user)
    client = login(world.outsider_customer_user)
    assert client.get(reverse("customers:org_user_remove", args=[membership.pk])).status_code == 404
    assert client.post(reverse("customers:org_user_remove", args=[membership.pk])).status_code == 404
    assert CustomerMembership.objects.filter(pk=membership.pk).exists()


# --- Welcome email again ------------------------------------------------------------------


def test_manager_resends_the_welcome_email(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    membership = _membership(world, world.customer_user)
    earlier = timezone.now() - timedelta(days=3)
    CustomerMembership.objects.filter(pk=membership.pk).update(welcome_sent_at=earlier)
    client = login(world.primary)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:org_user_resend_welcome", args=[membership.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:org_users")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [world.customer_user.email]
    membership.refresh_from_db()
    assert membership.welcome_sent_at is not None
    assert membership.welcome_sent_at > earlier
    assert f"A welcome email is on its way to {world.customer_user.email}." in _page(
        client.get(response["Location"])
    )


def test_plain_user_cannot_resend_welcome(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    membership = _membership(world, world.primary)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.customer_user).post(
            reverse("customers:org_user_resend_welcome", args=[membership.pk])
        )
    assert response.status_code == 403
    assert mailoutbox == []


def test_outsider_customer_admin_gets_404_on_resend_welcome(
    world: World, login: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    membership = _membership(world, world.customer_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.outsider_customer_user).post(
            reverse("customers:org_user_resend_welcome", args=[membership.pk])
        )
    assert response.status_code == 404
    assert mailoutbox == []
