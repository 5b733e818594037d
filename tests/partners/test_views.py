"""Partner Settings: the firm overview and the staff pages (invite, change role, remove)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from customers.models import CollaborationUserObjectPermission
from customers.services import WORK_WITH_CUSTOMER
from partners.models import PartnerMembership, PartnerRole
from portal.models import User
from tests.factories import PASSWORD, PartnerMembershipFactory
from tests.portal.test_twofactor import expire_reauth

pytestmark = pytest.mark.django_db

LAST_ADMIN = "Alfa Byrå AB must keep at least one account administrator."
ENGLISH_SUBJECT = "You have been invited to Alfa Byrå AB in the partner portal"


@pytest.fixture(autouse=True)
def _actors_speak_english(world: Any) -> None:
    """Pages speak the logged-in user's language and the factories make Swedish users. With
    English actors the asserted texts hold whether or not the Swedish catalogue is compiled."""
    User.objects.update(language="en")


def _membership(world: Any, user: User) -> PartnerMembership:
    return PartnerMembership.objects.get(partner=world.partner, user=user)


def _roles(world: Any) -> dict[str, str]:
    return dict(PartnerMembership.objects.filter(partner=world.partner).values_list("user__email", "role"))


def _invite(client: Client, capture: Any, **data: str) -> Any:
    payload = {"name": "Nina Ny", "email": "nina@example.com", "role": "staff", "language": "en", **data}
    with capture(execute=True):
        return client.post(reverse("partners:staff_list"), payload)


def _path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- Settings overview -------------------------------------------------------------


def test_admin_sees_the_firm_and_their_administrator_role(world: Any, login: Any) -> None:
    response = login(world.admin).get(reverse("partners:settings"))
    assert response.status_code == 200
    assert response.context["partner"] == world.partner
    assert response.context["is_admin"] is True
    assert world.partner.org_number in response.content.decode()
    assert "Account administrator" in response.content.decode()


def test_staff_sees_the_firm_as_staff(world: Any, login: Any) -> None:
    response = login(world.staff).get(reverse("partners:settings"))
    assert response.status_code == 200
    assert response.context["partner"] == world.partner
    assert response.context["is_admin"] is False


def test_customer_user_gets_404_on_settings(world: Any, login: Any) -> None:
    assert login(world.primary).get(reverse("partners:settings")).status_code == 404


def test_outsider_sees_only_their_own_firm(world: Any, login: Any) -> None:
    response = login(world.outsider).get(reverse("partners:settings"))
    assert response.status_code == 200
    assert response.context["partner"] == world.other_partner
    assert "Alfa Byrå AB" not in response.content.decode()


def test_anonymous_visitor_is_sent_to_login(world: Any, client: Client) -> None:
    response = client.get(reverse("partners:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Staff list ----------------------------------------------------------------------


def test_admin_sees_all_staff_with_invite_and_role_forms(world: Any, login: Any) -> None:
    response = login(world.admin).get(reverse("partners:staff_list"))
    assert response.status_code == 200
    assert [m.user.name for m in response.context["members"]] == [
        "Anna Admin",
        "Sam Staff",
        "Ulla Unassigned",
    ]
    content = response.content.decode()
    assert "Per Outsider" not in content
    assert "Invite a colleague" in content
    staff_membership = _membership(world, world.staff)
    assert reverse("partners:staff_change_role", args=[staff_membership.pk]) in content
    assert reverse("partners:staff_remove", args=[staff_membership.pk]) in content


def test_staff_sees_the_list_without_admin_actions(world: Any, login: Any) -> None:
    response = login(world.staff).get(reverse("partners:staff_list"))
    assert response.status_code == 200
    assert len(response.context["members"]) == 3
    content = response.content.decode()
    assert "Invite a colleague" not in content
    assert reverse("partners:staff_remove", args=[_membership(world, world.admin).pk]) not in content


def test_outsider_sees_only_their_own_staff(world: Any, login: Any) -> None:
    response = login(world.outsider).get(reverse("partners:staff_list"))
    assert response.status_code == 200
    assert [m.user for m in response.context["members"]] == [world.outsider]
    assert "Anna Admin" not in response.content.decode()


def test_customer_user_gets_404_on_staff_list(world: Any, login: Any) -> None:
    client = login(world.primary)
    assert client.get(reverse("partners:staff_list")).status_code == 404
    assert (
        client.post(reverse("partners:staff_list"), {"name": "X", "email": "x@example.com"}).status_code
        == 404
    )
    assert not User.objects.filter(email="x@example.com").exists()


def _staff_list_queries(client: Client, world: Any, extra_members: int) -> int:
    PartnerMembershipFactory.create_batch(extra_members, partner=world.partner)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("partners:staff_list"))
    assert response.status_code == 200
    assert len(response.context["members"]) == PartnerMembership.objects.filter(partner=world.partner).count()
    return len(ctx.captured_queries)


def test_staff_list_query_count_is_constant_with_more_members(world: Any, login: Any) -> None:
    client = login(world.admin)
    small = _staff_list_queries(client, world, 1)
    large = _staff_list_queries(client, world, 30)
    assert small == large
    assert large <= 10


# --- Inviting staff ---------------------------------------------------------------------


def test_admin_invites_a_new_person_who_gets_one_english_email_with_a_set_password_link(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(
        login(world.admin), django_capture_on_commit_callbacks, name="Nina Ny", email="Nina@Example.com"
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("partners:staff_list")
    invitee = User.objects.get(email="nina@example.com")
    assert invitee.name == "Nina Ny"
    assert invitee.language == "en"
    assert not invitee.has_usable_password()
    membership = _membership(world, invitee)
    assert membership.role == PartnerRole.STAFF
    assert membership.invited_by == world.admin
    assert membership.invitation_sent_at is not None

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["nina@example.com"]
    assert email.subject == ENGLISH_SUBJECT
    links = re.findall(r"https?://\S+/accounts/set-password/\S+/", email.body)
    assert len(links) == 1
    # The link is valid for the invitee: Django swaps the token for a session and redirects to the form.
    followed = Client().get(_path_of(links[0]))
    assert followed.status_code == 302
    assert followed["Location"].endswith("/set-password/")


def test_invited_staff_sees_a_success_message(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("partners:staff_list"),
            {"name": "Nina Ny", "email": "nina@example.com", "role": "staff", "language": "en"},
            follow=True,
        )
    assert response.status_code == 200
    assert "Nina Ny was invited." in response.content.decode()


def test_admin_can_invite_another_account_administrator(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(login(world.admin), django_capture_on_commit_callbacks, role="admin")
    assert response.status_code == 302
    assert (
        PartnerMembership.objects.get(partner=world.partner, user__email="nina@example.com").role == "admin"
    )
    assert len(mailoutbox) == 1


def _reauth_expired(client: Client) -> Client:
    expire_reauth(client)
    return client


def test_inviting_an_administrator_later_asks_to_confirm_and_invites_nobody(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = _reauth_expired(login(world.admin))
    response = _invite(client, django_capture_on_commit_callbacks, role="admin")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('reauthenticate')}?next=%2Fsettings%2Fstaff%2F"
    assert not User.objects.filter(email="nina@example.com").exists()
    assert mailoutbox == []
    # Confirmed, the same invitation goes through.
    client.post(reverse("reauthenticate"), {"password": PASSWORD})
    response = _invite(client, django_capture_on_commit_callbacks, role="admin")
    assert response.status_code == 302
    assert _membership(world, User.objects.get(email="nina@example.com")).role == PartnerRole.ADMIN
    assert len(mailoutbox) == 1


def test_inviting_staff_needs_no_new_confirmation(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = _reauth_expired(login(world.admin))
    response = _invite(client, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:staff_list")
    assert _membership(world, User.objects.get(email="nina@example.com")).role == PartnerRole.STAFF
    assert len(mailoutbox) == 1


def test_staff_cannot_invite_an_administrator_even_freshly_confirmed(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(login(world.staff), django_capture_on_commit_callbacks, role="admin")
    assert response.status_code == 403
    assert not User.objects.filter(email="nina@example.com").exists()
    response = _invite(_reauth_expired(login(world.staff)), django_capture_on_commit_callbacks, role="admin")
    assert response.status_code == 403
    assert mailoutbox == []


def test_invitation_in_swedish_has_a_swedish_subject(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(login(world.admin), django_capture_on_commit_callbacks, language="sv")
    assert response.status_code == 302
    assert User.objects.get(email="nina@example.com").language == "sv"
    assert len(mailoutbox) == 1
    subject = mailoutbox[0].subject
    with translation.override("sv"):
        swedish = translation.gettext("You have been invited to %(partner)s in the partner portal") % {
            "partner": "Alfa Byrå AB"
        }
    if swedish == ENGLISH_SUBJECT:
        pytest.skip("the Swedish catalogue (locale/sv/LC_MESSAGES/django.mo) is not compiled yet")
    assert subject != ENGLISH_SUBJECT
    assert subject == swedish


def test_inviting_an_existing_portal_user_links_to_login_not_set_password(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    password_before = User.objects.get(pk=world.primary.pk).password
    response = _invite(
        login(world.admin), django_capture_on_commit_callbacks, name="Another Name", email=world.primary.email
    )
    assert response.status_code == 302
    primary = User.objects.get(pk=world.primary.pk)
    assert _membership(world, primary).role == PartnerRole.STAFF
    assert primary.name == "Karin Primary"  # an existing user keeps their own name
    assert primary.password == password_before
    assert len(mailoutbox) == 1
    assert "/accounts/set-password/" not in mailoutbox[0].body
    assert reverse("login") in mailoutbox[0].body


def test_inviting_a_current_member_is_422_with_a_message_and_no_email(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    memberships_before = PartnerMembership.objects.count()
    users_before = User.objects.count()
    response = _invite(
        login(world.admin), django_capture_on_commit_callbacks, email=world.staff.email.upper()
    )
    assert response.status_code == 422
    assert f"{world.staff.email} is already a member of Alfa Byrå AB." in response.content.decode()
    assert PartnerMembership.objects.count() == memberships_before
    assert User.objects.count() == users_before
    assert _membership(world, world.staff).role == PartnerRole.STAFF
    assert mailoutbox == []


def test_inviting_with_an_invalid_email_is_422_and_creates_nothing(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    users_before = User.objects.count()
    response = _invite(login(world.admin), django_capture_on_commit_callbacks, email="not-an-email")
    assert response.status_code == 422
    assert response.context["form"].errors["email"]
    assert User.objects.count() == users_before
    assert mailoutbox == []


def test_staff_cannot_invite(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(login(world.staff), django_capture_on_commit_callbacks)
    assert response.status_code == 403
    assert not User.objects.filter(email="nina@example.com").exists()
    assert mailoutbox == []


def test_outsider_invites_only_to_their_own_firm(
    world: Any, login: Any, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _invite(login(world.outsider), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert list(
        PartnerMembership.objects.filter(user__email="nina@example.com").values_list("partner", flat=True)
    ) == [world.other_partner.pk]
    assert len(mailoutbox) == 1
    assert "Beta Byrå AB" in mailoutbox[0].subject


# --- Changing a role ------------------------------------------------------------------------


def _change_role(client: Client, membership: PartnerMembership, role: str, **kwargs: Any) -> Any:
    return client.post(reverse("partners:staff_change_role", args=[membership.pk]), {"role": role}, **kwargs)


def test_admin_promotes_staff_to_administrator(world: Any, login: Any) -> None:
    membership = _membership(world, world.staff)
    response = _change_role(login(world.admin), membership, "admin", follow=True)
    assert response.redirect_chain == [(reverse("partners:staff_list"), 302)]
    assert "The role of Sam Staff was changed." in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == PartnerRole.ADMIN


def test_admin_demotes_another_administrator_when_one_remains(world: Any, login: Any) -> None:
    second = PartnerMembershipFactory.create(partner=world.partner, role=PartnerRole.ADMIN)
    response = _change_role(login(world.admin), second, "staff")
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.role == PartnerRole.STAFF
    assert _membership(world, world.admin).role == PartnerRole.ADMIN


def test_demoting_the_last_administrator_is_refused_with_a_message(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    response = _change_role(login(world.admin), _membership(world, world.admin), "staff", follow=True)
    assert response.redirect_chain == [(reverse("partners:staff_list"), 302)]
    assert LAST_ADMIN in response.content.decode()
    assert "was changed" not in response.content.decode()
    assert _roles(world) == roles_before


def test_an_unknown_role_is_refused_with_a_message(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    response = _change_role(login(world.admin), _membership(world, world.staff), "owner", follow=True)
    assert "Choose a role." in response.content.decode()
    assert _roles(world) == roles_before


def test_staff_cannot_change_roles(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    response = _change_role(login(world.staff), _membership(world, world.staff), "admin")
    assert response.status_code == 403
    assert _roles(world) == roles_before


def test_customer_user_gets_404_on_change_role(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    assert _change_role(login(world.primary), _membership(world, world.staff), "admin").status_code == 404
    assert _roles(world) == roles_before


def test_outsider_gets_404_changing_a_role_at_another_partner(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    client = login(world.outsider)
    assert _change_role(client, _membership(world, world.staff), "admin").status_code == 404
    assert _change_role(client, _membership(world, world.admin), "staff").status_code == 404
    assert _roles(world) == roles_before


def test_change_role_refuses_get(world: Any, login: Any) -> None:
    url = reverse("partners:staff_change_role", args=[_membership(world, world.staff).pk])
    assert login(world.admin).get(url).status_code == 405


# --- Removing a member ----------------------------------------------------------------------


def _assignments(user: User) -> set[int]:
    return set(
        CollaborationUserObjectPermission.objects.filter(user=user).values_list(
            "content_object_id", flat=True
        )
    )


def test_admin_gets_a_confirmation_page_before_removing(world: Any, login: Any) -> None:
    membership = _membership(world, world.staff)
    response = login(world.admin).get(reverse("partners:staff_remove", args=[membership.pk]))
    assert response.status_code == 200
    assert "Remove Sam Staff?" in response.content.decode()
    assert PartnerMembership.objects.filter(pk=membership.pk).exists()


def test_admin_removes_staff_with_their_customer_assignments(world: Any, login: Any) -> None:
    from guardian.shortcuts import assign_perm

    # The same person also works for partner B; that assignment is not partner A's to remove.
    PartnerMembershipFactory.create(partner=world.other_partner, user=world.staff)
    assign_perm(WORK_WITH_CUSTOMER, world.staff, world.outsider_collaboration)
    assign_perm(WORK_WITH_CUSTOMER, world.staff, world.other_collaboration)
    assert _assignments(world.staff) == {
        world.collaboration.pk,
        world.other_collaboration.pk,
        world.outsider_collaboration.pk,
    }
    membership = _membership(world, world.staff)

    response = login(world.admin).post(reverse("partners:staff_remove", args=[membership.pk]), follow=True)

    assert response.redirect_chain == [(reverse("partners:staff_list"), 302)]
    assert "Sam Staff was removed." in response.content.decode()
    assert not PartnerMembership.objects.filter(pk=membership.pk).exists()
    assert _assignments(world.staff) == {world.outsider_collaboration.pk}
    assert User.objects.filter(pk=world.staff.pk).exists()  # their own account stays
    assert _membership(world, world.admin).role == PartnerRole.ADMIN


def test_removed_staff_can_no_longer_open_the_customer(world: Any, login: Any, client: Client) -> None:
    login(world.admin).post(reverse("partners:staff_remove", args=[_membership(world, world.staff).pk]))
    client.force_login(world.staff)
    assert client.get(reverse("customers:customer_detail", args=[world.collaboration.pk])).status_code == 404


def test_admin_removes_another_administrator_when_one_remains(world: Any, login: Any) -> None:
    second = PartnerMembershipFactory.create(partner=world.partner, role=PartnerRole.ADMIN)
    response = login(world.admin).post(reverse("partners:staff_remove", args=[second.pk]))
    assert response.status_code == 302
    assert not PartnerMembership.objects.filter(pk=second.pk).exists()


def test_removing_the_last_administrator_is_refused_with_a_message(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    membership = _membership(world, world.admin)
    response = login(world.admin).post(reverse("partners:staff_remove", args=[membership.pk]), follow=True)
    assert response.redirect_chain == [(reverse("partners:staff_list"), 302)]
    assert LAST_ADMIN in response.content.decode()
    assert "was removed" not in response.content.decode()
    assert _roles(world) == roles_before


def test_staff_cannot_remove_members(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    client = login(world.staff)
    target = _membership(world, world.staff_unassigned)
    assert client.get(reverse("partners:staff_remove", args=[target.pk])).status_code == 403
    assert client.post(reverse("partners:staff_remove", args=[target.pk])).status_code == 403
    assert _roles(world) == roles_before


def test_customer_user_gets_404_on_remove(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    client = login(world.primary)
    target = _membership(world, world.staff)
    assert client.get(reverse("partners:staff_remove", args=[target.pk])).status_code == 404
    assert client.post(reverse("partners:staff_remove", args=[target.pk])).status_code == 404
    assert _roles(world) == roles_before


def test_outsider_gets_404_removing_a_member_of_another_partner(world: Any, login: Any) -> None:
    roles_before = _roles(world)
    assignments_before = _assignments(world.staff)
    client = login(world.outsider)
    for user in (world.staff, world.admin):
        target = _membership(world, user)
        assert client.get(reverse("partners:staff_remove", args=[target.pk])).status_code == 404
        assert client.post(reverse("partners:staff_remove", args=[target.pk])).status_code == 404
    assert _roles(world) == roles_before
    assert _assignments(world.staff) == assignments_before


def test_removing_an_unknown_membership_is_404(world: Any, login: Any) -> None:
    assert login(world.admin).post(reverse("partners:staff_remove", args=[999_999])).status_code == 404
