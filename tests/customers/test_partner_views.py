"""The partner side of customers: create, invite, the customer's pages, staff assignment, ending."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from customers.invitations import invitation_token_hash
from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from portal.models import User
from tests.factories import (
    CollaborationFactory,
    CustomerAccountFactory,
    CustomerMembershipFactory,
    valid_orgnr,
)

pytestmark = pytest.mark.django_db

NEW_ORGNR = valid_orgnr(5_000_001)
BAD_LUHN_ORGNR = "559900-1005"
NOT_FOUND = "No customer account with that organisation number has an administrator with that email."


@pytest.fixture(autouse=True)
def _actors_speak_english(world: Any) -> None:
    """Pages speak the logged-in user's language and the factories make Swedish users. With
    English actors the asserted texts hold whether or not the Swedish catalogue is compiled."""
    User.objects.update(language="en")


def _assigned(collaboration: Collaboration) -> set[int]:
    return set(
        CollaborationUserObjectPermission.objects.filter(content_object=collaboration).values_list(
            "user_id", flat=True
        )
    )


def _counts() -> tuple[int, int, int, int]:
    return (
        CustomerAccount.objects.count(),
        CustomerMembership.objects.count(),
        Collaboration.objects.count(),
        User.objects.count(),
    )


def _path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- Creating a Documents customer ----------------------------------------------------------------


def _create_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Ny Kund AB",
        "org_number": NEW_ORGNR,
        "contact_name": "Cecilia Contact",
        "contact_email": "Cecilia@Example.com",
        "contact_language": "en",
        "contact_send_welcome": "on",
        "users-TOTAL_FORMS": "3",
        "users-INITIAL_FORMS": "0",
        "users-MIN_NUM_FORMS": "0",
        "users-MAX_NUM_FORMS": "1000",
        "users-0-name": "Ulf User",
        "users-0-email": "ulf@example.com",
        "users-0-language": "sv",
        "users-0-send_welcome": "on",
        "users-1-name": "Quiet Person",
        "users-1-email": "quiet@example.com",
        "users-1-language": "en",
        # users-1 has no send_welcome: an unchecked box. users-2 is an empty row, which is ignored.
        "users-2-name": "",
        "users-2-email": "",
        "users-2-language": "sv",
    }
    data.update(overrides)
    return data


def _create(client: Client, capture: Any, **overrides: str) -> Any:
    with capture(execute=True):
        return client.post(reverse("customers:customer_create"), _create_data(**overrides))


def test_admin_creates_a_documents_customer_with_users_and_welcome_emails(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _create(login(world.admin), django_capture_on_commit_callbacks)

    customer = CustomerAccount.objects.get(org_number=NEW_ORGNR)
    collaboration = Collaboration.objects.get(customer=customer)
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_detail", args=[collaboration.pk])
    assert customer.name == "Ny Kund AB"
    assert customer.kind == CustomerKind.DOCUMENTS
    assert customer.created_by_partner == world.partner
    assert collaboration.partner == world.partner
    assert collaboration.status == CollaborationStatus.ACTIVE
    assert collaboration.created_by == world.admin

    members = {
        m.user.email: m for m in CustomerMembership.objects.filter(customer=customer).select_related("user")
    }
    assert set(members) == {"cecilia@example.com", "ulf@example.com", "quiet@example.com"}
    assert [e for e, m in members.items() if m.is_primary_contact] == ["cecilia@example.com"]
    assert members["cecilia@example.com"].is_admin
    assert not members["ulf@example.com"].is_admin
    assert not members["quiet@example.com"].is_admin
    assert members["ulf@example.com"].user.language == "sv"
    # Admins see every customer; they need no assignment.
    assert _assigned(collaboration) == set()

    assert sorted(email.to[0] for email in mailoutbox) == ["cecilia@example.com", "ulf@example.com"]
    to_cecilia = next(email for email in mailoutbox if email.to == ["cecilia@example.com"])
    assert to_cecilia.subject == "Alfa Byrå AB shares documents with you in the partner portal"
    links = re.findall(r"https?://\S+/accounts/set-password/\S+/", to_cecilia.body)
    assert len(links) == 1
    followed = Client().get(_path_of(links[0]))
    assert followed.status_code == 302  # a valid token for Cecilia, swapped for a session
    assert CustomerMembership.objects.get(pk=members["cecilia@example.com"].pk).welcome_sent_at is not None
    assert CustomerMembership.objects.get(pk=members["quiet@example.com"].pk).welcome_sent_at is None


def test_created_customer_shows_a_success_message_and_is_listed(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:customer_create"), _create_data(), follow=True)
    assert response.status_code == 200
    assert "Ny Kund AB was created." in response.content.decode()
    listed = client.get(reverse("customers:customer_list"))
    assert "Ny Kund AB" in [c.customer.name for c in listed.context["page"].object_list]


def test_staff_who_create_a_customer_are_assigned_and_can_open_it(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.staff_unassigned)
    assert client.get(reverse("customers:customer_create")).status_code == 200
    response = _create(client, django_capture_on_commit_callbacks)
    collaboration = Collaboration.objects.get(customer__org_number=NEW_ORGNR)
    assert response.status_code == 302
    assert _assigned(collaboration) == {world.staff_unassigned.pk}
    assert client.get(reverse("customers:customer_detail", args=[collaboration.pk])).status_code == 200
    listed = client.get(reverse("customers:customer_list"))
    assert [c.customer.name for c in listed.context["page"].object_list] == ["Ny Kund AB"]


def test_a_bad_check_digit_in_the_org_number_is_422_and_creates_nothing(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = _counts()
    response = _create(login(world.admin), django_capture_on_commit_callbacks, org_number=BAD_LUHN_ORGNR)
    assert response.status_code == 422
    assert "The organisation number is not valid (the check digit is wrong)." in response.content.decode()
    assert _counts() == before
    assert mailoutbox == []


def test_the_same_email_twice_in_the_form_is_422_and_creates_nothing(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = _counts()
    response = _create(
        login(world.admin), django_capture_on_commit_callbacks, **{"users-1-email": "CECILIA@example.com"}
    )
    assert response.status_code == 422
    assert "This email address is already in the form." in response.content.decode()
    assert _counts() == before
    assert mailoutbox == []


def test_an_org_number_the_partner_already_has_is_422_and_creates_nothing(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = _counts()
    existing = world.customer.org_number
    response = _create(login(world.admin), django_capture_on_commit_callbacks, org_number=existing)
    assert response.status_code == 422
    assert f"You already have a customer with organisation number {existing}." in response.content.decode()
    assert _counts() == before
    assert mailoutbox == []


def test_an_org_number_only_another_partner_has_is_allowed(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    other = world.outsider_collaboration.customer.org_number
    response = _create(login(world.admin), django_capture_on_commit_callbacks, org_number=other)
    assert response.status_code == 302
    assert Collaboration.objects.filter(partner=world.partner, customer__org_number=other).count() == 1


def test_a_user_row_with_email_but_no_name_is_422(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = _counts()
    response = _create(login(world.admin), django_capture_on_commit_callbacks, **{"users-0-name": ""})
    assert response.status_code == 422
    assert "Enter the person&#x27;s name." in response.content.decode()
    assert _counts() == before


def test_customer_user_gets_404_on_create(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.primary)
    before = _counts()
    assert client.get(reverse("customers:customer_create")).status_code == 404
    assert _create(client, django_capture_on_commit_callbacks).status_code == 404
    assert _counts() == before


def test_outsider_creates_a_customer_for_their_own_partner_only(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _create(login(world.outsider), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert list(
        Collaboration.objects.filter(customer__org_number=NEW_ORGNR).values_list("partner", flat=True)
    ) == [world.other_partner.pk]
    assert not Collaboration.objects.filter(partner=world.partner, customer__org_number=NEW_ORGNR).exists()


# --- Inviting an existing customer -------------------------------------------------------------------


@pytest.fixture
def subscriber(world: Any) -> CustomerMembership:
    """The administrator of a company with its own subscription, not yet a customer of partner A."""
    customer = CustomerAccountFactory.create(kind=CustomerKind.SUBSCRIPTION, name="Egen Prenumeration AB")
    return CustomerMembershipFactory.create(
        customer=customer, is_admin=True, user__language="en", user__name="Sven Sub"
    )


def _invite(client: Client, capture: Any, org_number: str, email: str, **kwargs: Any) -> Any:
    with capture(execute=True):
        return client.post(
            reverse("customers:customer_invite"), {"org_number": org_number, "email": email}, **kwargs
        )


def test_admin_invites_an_existing_customer_whose_admin_gets_one_email_with_the_link(
    world: Any, login: Any, subscriber: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.admin)
    assert client.get(reverse("customers:customer_invite")).status_code == 200
    response = _invite(
        client,
        django_capture_on_commit_callbacks,
        subscriber.customer.org_number,
        subscriber.user.email.upper(),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_list")
    collaboration = Collaboration.objects.get(partner=world.partner, customer=subscriber.customer)
    assert collaboration.status == CollaborationStatus.INVITED
    assert collaboration.invited_email == subscriber.user.email
    assert collaboration.created_by == world.admin
    assert collaboration.invitation_sent_at is not None

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == [subscriber.user.email]
    assert email.subject == "Alfa Byrå AB invites you to collaborate in the partner portal"
    tokens = re.findall(r"/collaborations/invitations/t/([^/\s]+)/", email.body)
    assert len(tokens) == 1
    assert invitation_token_hash(tokens[0]) == collaboration.invitation_token_hash
    # The link works for the customer's administrator.
    invitee = Client()
    invitee.force_login(subscriber.user)
    page = invitee.get(reverse("customers:invitation_by_token", args=[tokens[0]]))
    assert page.status_code == 200
    assert page.context["collaboration"] == collaboration


def test_invitation_shows_a_success_message(
    world: Any, login: Any, subscriber: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(
        login(world.admin),
        django_capture_on_commit_callbacks,
        subscriber.customer.org_number,
        subscriber.user.email,
        follow=True,
    )
    assert (
        "Egen Prenumeration AB was invited. Their administrator has been emailed."
        in response.content.decode()
    )


@pytest.mark.parametrize("wrong", ["email", "org_number", "plain_user"])
def test_inviting_with_details_that_do_not_match_is_422_with_the_same_generic_message(
    world: Any,
    login: Any,
    subscriber: Any,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
    wrong: str,
) -> None:
    org_number, email = subscriber.customer.org_number, subscriber.user.email
    if wrong == "email":
        email = "someone.else@example.com"
    elif wrong == "org_number":
        org_number = valid_orgnr(5_000_002)
    else:  # a user of the customer who is not its administrator
        email = CustomerMembershipFactory.create(customer=subscriber.customer).user.email
    before = Collaboration.objects.count()
    response = _invite(login(world.admin), django_capture_on_commit_callbacks, org_number, email)
    assert response.status_code == 422
    assert NOT_FOUND in response.content.decode()
    assert Collaboration.objects.count() == before
    assert mailoutbox == []


def test_inviting_with_an_invalid_org_number_is_422(
    world: Any, login: Any, subscriber: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = Collaboration.objects.count()
    response = _invite(
        login(world.admin), django_capture_on_commit_callbacks, BAD_LUHN_ORGNR, subscriber.user.email
    )
    assert response.status_code == 422
    assert "check digit is wrong" in response.content.decode()
    assert Collaboration.objects.count() == before
    assert mailoutbox == []


def test_inviting_the_same_customer_again_says_it_is_already_invited(
    world: Any, login: Any, subscriber: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.admin)
    org_number, email = subscriber.customer.org_number, subscriber.user.email
    assert _invite(client, django_capture_on_commit_callbacks, org_number, email).status_code == 302
    response = _invite(client, django_capture_on_commit_callbacks, org_number, email)
    assert response.status_code == 422
    assert "Egen Prenumeration AB has already been invited." in response.content.decode()
    assert Collaboration.objects.filter(partner=world.partner, customer=subscriber.customer).count() == 1
    assert len(mailoutbox) == 1


def test_inviting_a_current_customer_says_you_already_collaborate(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = Collaboration.objects.count()
    response = _invite(
        login(world.admin), django_capture_on_commit_callbacks, world.customer.org_number, world.primary.email
    )
    assert response.status_code == 422
    assert "You already collaborate with Kund Alfa AB." in response.content.decode()
    assert Collaboration.objects.count() == before
    assert mailoutbox == []


def test_an_invited_customer_prefers_its_own_subscription_over_a_documents_account(
    world: Any, login: Any, subscriber: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The same company also has a free Documents account at partner B, administered by the same person.
    documents = CollaborationFactory.create(
        partner=world.other_partner,
        customer__org_number=subscriber.customer.org_number,
        customer__kind=CustomerKind.DOCUMENTS,
        customer__name="Egen Prenumeration (Documents)",
    ).customer
    CustomerMembershipFactory.create(
        customer=documents, user=subscriber.user, is_primary_contact=True, is_admin=True
    )
    response = _invite(
        login(world.admin),
        django_capture_on_commit_callbacks,
        subscriber.customer.org_number,
        subscriber.user.email,
    )
    assert response.status_code == 302
    assert Collaboration.objects.get(partner=world.partner, status=CollaborationStatus.INVITED).customer == (
        subscriber.customer
    )


def test_staff_who_invite_a_customer_are_assigned_to_it(
    world: Any, login: Any, subscriber: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(
        login(world.staff_unassigned),
        django_capture_on_commit_callbacks,
        subscriber.customer.org_number,
        subscriber.user.email,
    )
    assert response.status_code == 302
    collaboration = Collaboration.objects.get(partner=world.partner, customer=subscriber.customer)
    assert _assigned(collaboration) == {world.staff_unassigned.pk}


def test_customer_user_gets_404_on_invite(
    world: Any, login: Any, subscriber: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.primary)
    before = Collaboration.objects.count()
    assert client.get(reverse("customers:customer_invite")).status_code == 404
    response = _invite(
        client, django_capture_on_commit_callbacks, subscriber.customer.org_number, subscriber.user.email
    )
    assert response.status_code == 404
    assert Collaboration.objects.count() == before
    assert mailoutbox == []


# --- The customer's pages: overview and users ---------------------------------------------------------


@pytest.mark.parametrize("url_name", ["customers:customer_detail", "customers:customer_users"])
def test_admin_and_assigned_staff_see_the_customer_and_its_users(
    world: Any, login: Any, client: Client, url_name: str
) -> None:
    for user in (world.admin, world.staff):
        response = login(user).get(reverse(url_name, args=[world.collaboration.pk]))
        assert response.status_code == 200
        assert response.context["collaboration"] == world.collaboration
        assert [m.user.name for m in response.context["users"]] == ["Karin Primary", "Olle User"]
        content = response.content.decode()
        assert "Kund Alfa AB" in content
        assert "Karin Primary" in content


@pytest.mark.parametrize("url_name", ["customers:customer_detail", "customers:customer_users"])
def test_admin_sees_customers_no_staff_is_assigned_to(world: Any, login: Any, url_name: str) -> None:
    response = login(world.admin).get(reverse(url_name, args=[world.other_collaboration.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("url_name", ["customers:customer_detail", "customers:customer_users"])
def test_unassigned_staff_customer_user_and_outsider_get_404(world: Any, login: Any, url_name: str) -> None:
    url = reverse(url_name, args=[world.collaboration.pk])
    for user in (world.staff_unassigned, world.primary, world.customer_user, world.outsider):
        assert login(user).get(url).status_code == 404, user
    assert login(world.staff).get(reverse(url_name, args=[world.other_collaboration.pk])).status_code == 404


def test_an_unknown_customer_is_404(world: Any, login: Any) -> None:
    assert login(world.admin).get(reverse("customers:customer_detail", args=[999_999])).status_code == 404


def test_users_page_offers_the_add_form_for_documents_customers_only(world: Any, login: Any) -> None:
    client = login(world.admin)
    response = client.get(reverse("customers:customer_users", args=[world.collaboration.pk]))
    assert response.context["can_manage"] is True
    subscription = CollaborationFactory.create(
        partner=world.partner, customer__kind=CustomerKind.SUBSCRIPTION
    )
    response = client.get(reverse("customers:customer_users", args=[subscription.pk]))
    assert response.status_code == 200
    assert response.context["can_manage"] is False
    assert "manages its users itself" in response.content.decode()


# --- Adding a customer user ---------------------------------------------------------------------------


def _add_user(client: Client, capture: Any, collaboration: Collaboration, **overrides: str) -> Any:
    data = {
        "name": "Nils Ny",
        "email": "nils@example.com",
        "language": "en",
        "send_welcome": "on",
        **overrides,
    }
    follow = data.pop("follow", None) == "yes"
    with capture(execute=True):
        return client.post(
            reverse("customers:customer_user_add", args=[collaboration.pk]), data, follow=follow
        )


@pytest.mark.parametrize("actor", ["admin", "staff"])
def test_admin_and_assigned_staff_add_a_user_who_gets_a_welcome_email(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any, actor: str
) -> None:
    response = _add_user(
        login(getattr(world, actor)), django_capture_on_commit_callbacks, world.collaboration, is_admin="on"
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_users", args=[world.collaboration.pk])
    membership = CustomerMembership.objects.get(customer=world.customer, user__email="nils@example.com")
    assert membership.is_admin
    assert not membership.is_primary_contact
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["nils@example.com"]
    assert mailoutbox[0].subject == "Alfa Byrå AB shares documents with you in the partner portal"
    assert "/accounts/set-password/" in mailoutbox[0].body


def test_added_user_without_welcome_gets_no_email_and_a_success_message(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.admin)
    data = {"name": "Nils Ny", "email": "nils@example.com", "language": "en"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customers:customer_user_add", args=[world.collaboration.pk]), data, follow=True
        )
    assert "Nils Ny was added." in response.content.decode()
    membership = CustomerMembership.objects.get(customer=world.customer, user__email="nils@example.com")
    assert not membership.is_admin
    assert mailoutbox == []


def test_adding_a_current_user_is_422_with_a_message(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = _counts()
    response = _add_user(
        login(world.admin),
        django_capture_on_commit_callbacks,
        world.collaboration,
        email=world.customer_user.email,
    )
    assert response.status_code == 422
    assert f"{world.customer_user.email} is already a user at Kund Alfa AB." in response.content.decode()
    assert _counts() == before
    assert mailoutbox == []


def test_partner_cannot_add_users_to_a_customer_with_its_own_subscription(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    subscription = CollaborationFactory.create(
        partner=world.partner, customer__kind=CustomerKind.SUBSCRIPTION, customer__name="Egen AB"
    )
    before = _counts()
    response = _add_user(login(world.admin), django_capture_on_commit_callbacks, subscription, follow="yes")
    assert response.redirect_chain == [(reverse("customers:customer_users", args=[subscription.pk]), 302)]
    assert "Egen AB manages its own users." in response.content.decode()
    assert _counts() == before
    assert mailoutbox == []


def test_partner_cannot_add_users_to_a_customer_that_has_not_accepted_the_invitation(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # A Documents account partner B created; partner A knows its org number and admin email and invites
    # it. Until the customer accepts, partner A must not add people (say, itself as an admin) to it.
    client = login(world.admin)
    target = world.outsider_collaboration.customer
    response = _invite(
        client, django_capture_on_commit_callbacks, target.org_number, world.outsider_customer_user.email
    )
    assert response.status_code == 302
    invited = Collaboration.objects.get(partner=world.partner, customer=target)
    assert invited.status == CollaborationStatus.INVITED
    members_before = set(CustomerMembership.objects.filter(customer=target).values_list("user_id", flat=True))

    response = _add_user(
        client, django_capture_on_commit_callbacks, invited, email=world.admin.email, is_admin="on"
    )

    assert response.status_code == 302
    assert (
        set(CustomerMembership.objects.filter(customer=target).values_list("user_id", flat=True))
        == members_before
    )
    assert client.get(reverse("customers:customer_users", args=[invited.pk])).context["can_manage"] is False


def test_unassigned_staff_customer_user_and_outsider_get_404_adding_a_user(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    before = _counts()
    for user in (world.staff_unassigned, world.primary, world.outsider):
        response = _add_user(login(user), django_capture_on_commit_callbacks, world.collaboration)
        assert response.status_code == 404, user
    assert _counts() == before
    assert mailoutbox == []


def test_adding_a_user_refuses_get(world: Any, login: Any) -> None:
    url = reverse("customers:customer_user_add", args=[world.collaboration.pk])
    assert login(world.admin).get(url).status_code == 405


# --- Settings: staff assignment ---------------------------------------------------------------------


def _assign(client: Client, collaboration: Collaboration, user_ids: list[int], **kwargs: Any) -> Any:
    return client.post(
        reverse("customers:customer_settings", args=[collaboration.pk]), {"staff": user_ids}, **kwargs
    )


def test_admin_sees_the_staff_assignment_form_with_staff_only(world: Any, login: Any) -> None:
    response = login(world.admin).get(reverse("customers:customer_settings", args=[world.collaboration.pk]))
    assert response.status_code == 200
    assert {m.user_id: m.is_assigned for m in response.context["staff"]} == {
        world.staff.pk: True,
        world.staff_unassigned.pk: False,
    }
    assert response.context["form"]["staff"].initial == [world.staff.pk]
    content = response.content.decode()
    assert "Save assignment" in content
    assert reverse("customers:customer_end", args=[world.collaboration.pk]) in content


def test_admin_replaces_the_assigned_staff(world: Any, login: Any) -> None:
    response = _assign(login(world.admin), world.collaboration, [world.staff_unassigned.pk], follow=True)
    assert response.redirect_chain == [
        (reverse("customers:customer_settings", args=[world.collaboration.pk]), 302)
    ]
    assert "The staff assignment was saved." in response.content.decode()
    assert _assigned(world.collaboration) == {world.staff_unassigned.pk}
    assert _assigned(world.other_collaboration) == set()


def test_admin_unassigns_everyone_and_the_staff_loses_access(world: Any, login: Any) -> None:
    assert _assign(login(world.admin), world.collaboration, []).status_code == 302
    assert _assigned(world.collaboration) == set()
    assert (
        login(world.staff)
        .get(reverse("customers:customer_detail", args=[world.collaboration.pk]))
        .status_code
        == 404
    )


@pytest.mark.parametrize("who", ["outsider", "admin", "customer_user"])
def test_assigning_someone_who_is_not_staff_is_refused_and_changes_nothing(
    world: Any, login: Any, who: str
) -> None:
    response = _assign(
        login(world.admin), world.collaboration, [world.staff_unassigned.pk, getattr(world, who).pk]
    )
    assert response.status_code == 422
    assert "is not one of the available choices" in response.content.decode()
    assert _assigned(world.collaboration) == {world.staff.pk}


def test_assigned_staff_sees_settings_read_only_and_cannot_assign(world: Any, login: Any) -> None:
    client = login(world.staff)
    response = client.get(reverse("customers:customer_settings", args=[world.collaboration.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Save assignment" not in content
    assert reverse("customers:customer_end", args=[world.collaboration.pk]) not in content
    assert (
        _assign(client, world.collaboration, [world.staff.pk, world.staff_unassigned.pk]).status_code == 403
    )
    assert _assigned(world.collaboration) == {world.staff.pk}


def test_unassigned_staff_customer_user_and_outsider_get_404_on_settings(world: Any, login: Any) -> None:
    url = reverse("customers:customer_settings", args=[world.collaboration.pk])
    for user in (world.staff_unassigned, world.primary, world.outsider):
        client = login(user)
        assert client.get(url).status_code == 404, user
        assert _assign(client, world.collaboration, [world.staff_unassigned.pk]).status_code == 404, user
    assert _assigned(world.collaboration) == {world.staff.pk}


# --- Ending a collaboration ---------------------------------------------------------------------------


def _end(client: Client, collaboration: Collaboration, data: Any = None, **kwargs: Any) -> Any:
    return client.post(
        reverse("customers:customer_end", args=[collaboration.pk]), data or {"outcome": "keep"}, **kwargs
    )


def test_admin_ends_a_collaboration_and_the_customer_disappears(world: Any, login: Any) -> None:
    client = login(world.admin)
    response = _end(client, world.collaboration, follow=True)

    assert response.redirect_chain == [(reverse("customers:customer_list"), 302)]
    assert "The collaboration with Kund Alfa AB has ended." in response.content.decode()
    world.collaboration.refresh_from_db()
    assert world.collaboration.status == CollaborationStatus.ENDED
    assert world.collaboration.ended_at is not None
    assert _assigned(world.collaboration) == set()
    # Still listed for account administrators, as ended (its files are kept for a while).
    listed = {c.customer.name: c.status for c in response.context["page"].object_list}
    assert listed == {"Bygg Alfa AB": CollaborationStatus.ACTIVE, "Kund Alfa AB": CollaborationStatus.ENDED}
    for url_name in ("customer_detail", "customer_users", "customer_settings"):
        assert client.get(reverse(f"customers:{url_name}", args=[world.collaboration.pk])).status_code == 404
    assert (
        login(world.staff)
        .get(reverse("customers:customer_detail", args=[world.collaboration.pk]))
        .status_code
        == 404
    )
    # Partner B's collaborations and the customer account itself are untouched.
    assert Collaboration.objects.get(pk=world.outsider_collaboration.pk).status == CollaborationStatus.ACTIVE
    assert CustomerAccount.objects.filter(pk=world.customer.pk).exists()


def test_ending_twice_is_404(world: Any, login: Any) -> None:
    client = login(world.admin)
    assert _end(client, world.collaboration).status_code == 302
    assert _end(client, world.collaboration).status_code == 404


def test_assigned_staff_cannot_end_a_collaboration(world: Any, login: Any) -> None:
    assert _end(login(world.staff), world.collaboration).status_code == 403
    world.collaboration.refresh_from_db()
    assert world.collaboration.status == CollaborationStatus.ACTIVE
    assert _assigned(world.collaboration) == {world.staff.pk}


def test_unassigned_staff_customer_user_and_outsider_get_404_ending(world: Any, login: Any) -> None:
    for user in (world.staff_unassigned, world.primary, world.outsider):
        assert _end(login(user), world.collaboration).status_code == 404, user
    world.collaboration.refresh_from_db()
    assert world.collaboration.status == CollaborationStatus.ACTIVE
    assert _assigned(world.collaboration) == {world.staff.pk}


def test_ending_asks_first_and_get_changes_nothing(world: Any, login: Any) -> None:
    response = login(world.admin).get(reverse("customers:customer_end", args=[world.collaboration.pk]))
    assert response.status_code == 200
    assert b'method="post"' in response.content
    world.collaboration.refresh_from_db()
    assert world.collaboration.status == CollaborationStatus.ACTIVE


def test_admin_can_end_an_invitation_that_was_not_answered(
    world: Any, login: Any, subscriber: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.admin)
    _invite(client, django_capture_on_commit_callbacks, subscriber.customer.org_number, subscriber.user.email)
    invited = Collaboration.objects.get(partner=world.partner, customer=subscriber.customer)
    assert _end(client, invited).status_code == 302
    invited.refresh_from_db()
    assert invited.status == CollaborationStatus.ENDED
    assert invited.invitation_token_hash == ""


def test_end_confirmation_page_is_for_admins_only(world: Any, login: Any) -> None:
    url = reverse("customers:customer_end", args=[world.collaboration.pk])
    assert login(world.staff).get(url).status_code == 403
    for user in (world.staff_unassigned, world.primary, world.outsider):
        assert login(user).get(url).status_code == 404, user
