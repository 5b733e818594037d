"""Partner services: a partner never ends up without an account administrator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.utils import translation
from guardian.shortcuts import assign_perm

from customers.models import CollaborationUserObjectPermission
from customers.services import WORK_WITH_CUSTOMER
from partners import services
from partners.models import Partner, PartnerMembership, PartnerRole
from portal.errors import ServiceError
from portal.models import User
from tests.factories import CollaborationFactory, PartnerFactory, PartnerMembershipFactory
from tests.parallel import run_in_parallel


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Outside a request Django speaks LANGUAGE_CODE (Swedish); the messages asserted here are English.
    with translation.override("en"):
        yield


def _admins(partner: Partner) -> set[int]:
    return set(
        PartnerMembership.objects.filter(partner=partner, role=PartnerRole.ADMIN).values_list(
            "user_id", flat=True
        )
    )


@pytest.mark.django_db
class TestChangeRole:
    def test_promotes_staff(self, world: Any) -> None:
        membership = PartnerMembership.objects.get(user=world.staff)
        result = services.membership_change_role(
            membership=membership, actor=world.admin, role=PartnerRole.ADMIN
        )
        assert result.role == PartnerRole.ADMIN
        assert _admins(world.partner) == {world.admin.pk, world.staff.pk}

    def test_refuses_to_demote_the_only_admin(self, world: Any) -> None:
        membership = PartnerMembership.objects.get(user=world.admin)
        with pytest.raises(ServiceError, match="must keep at least one account administrator"):
            services.membership_change_role(membership=membership, actor=world.admin, role=PartnerRole.STAFF)
        assert _admins(world.partner) == {world.admin.pk}

    def test_demotes_one_of_two_admins_but_not_the_second(self, world: Any) -> None:
        second = PartnerMembershipFactory.create(partner=world.partner, role=PartnerRole.ADMIN)
        first = PartnerMembership.objects.get(user=world.admin)
        services.membership_change_role(membership=second, actor=world.admin, role=PartnerRole.STAFF)
        with pytest.raises(ServiceError):
            services.membership_change_role(membership=first, actor=world.admin, role=PartnerRole.STAFF)
        assert _admins(world.partner) == {world.admin.pk}

    def test_decides_on_the_current_role_not_a_stale_copy(self, world: Any) -> None:
        # The caller's object says "staff", but the row has since become the only admin.
        second = PartnerMembershipFactory.create(partner=world.partner, role=PartnerRole.ADMIN)
        stale = PartnerMembership.objects.get(pk=second.pk)
        stale.role = PartnerRole.STAFF
        PartnerMembership.objects.filter(user=world.admin).update(role=PartnerRole.STAFF)
        with pytest.raises(ServiceError):
            services.membership_change_role(membership=stale, actor=world.admin, role=PartnerRole.STAFF)
        assert _admins(world.partner) == {second.user_id}

    def test_setting_the_same_role_is_a_no_op_even_for_the_only_admin(self, world: Any) -> None:
        membership = PartnerMembership.objects.get(user=world.admin)
        result = services.membership_change_role(
            membership=membership, actor=world.admin, role=PartnerRole.ADMIN
        )
        assert result.role == PartnerRole.ADMIN
        assert _admins(world.partner) == {world.admin.pk}

    def test_refuses_an_unknown_role(self, world: Any) -> None:
        membership = PartnerMembership.objects.get(user=world.staff)
        with pytest.raises(ServiceError) as excinfo:
            services.membership_change_role(membership=membership, actor=world.admin, role="owner")
        assert excinfo.value.field == "role"
        membership.refresh_from_db()
        assert membership.role == PartnerRole.STAFF

    def test_admins_of_another_partner_do_not_count(self, world: Any) -> None:
        # Partner B has an admin too; partner A still has only one.
        PartnerMembershipFactory.create(partner=world.other_partner, role=PartnerRole.ADMIN)
        with pytest.raises(ServiceError):
            services.membership_change_role(
                membership=PartnerMembership.objects.get(user=world.admin),
                actor=world.admin,
                role=PartnerRole.STAFF,
            )


@pytest.mark.django_db
class TestRemove:
    def test_refuses_to_remove_the_only_admin(self, world: Any) -> None:
        membership = PartnerMembership.objects.get(user=world.admin)
        with pytest.raises(ServiceError, match="must keep at least one account administrator"):
            services.membership_remove(membership=membership, actor=world.admin)
        assert PartnerMembership.objects.filter(pk=membership.pk).exists()

    def test_removes_one_of_two_admins_but_not_the_second(self, world: Any) -> None:
        second = PartnerMembershipFactory.create(partner=world.partner, role=PartnerRole.ADMIN)
        services.membership_remove(membership=second, actor=world.admin)
        assert not PartnerMembership.objects.filter(pk=second.pk).exists()
        with pytest.raises(ServiceError):
            services.membership_remove(
                membership=PartnerMembership.objects.get(user=world.admin), actor=world.admin
            )
        assert _admins(world.partner) == {world.admin.pk}

    def test_removes_staff_with_their_assignments_at_this_partner_only(self, world: Any) -> None:
        PartnerMembershipFactory.create(partner=world.other_partner, user=world.staff)
        assign_perm(WORK_WITH_CUSTOMER, world.staff, world.outsider_collaboration)
        services.membership_remove(
            membership=PartnerMembership.objects.get(partner=world.partner, user=world.staff),
            actor=world.admin,
        )
        assert not PartnerMembership.objects.filter(partner=world.partner, user=world.staff).exists()
        assert list(
            CollaborationUserObjectPermission.objects.filter(user=world.staff).values_list(
                "content_object_id", flat=True
            )
        ) == [world.outsider_collaboration.pk]
        assert User.objects.filter(pk=world.staff.pk).exists()


@pytest.mark.django_db
class TestInvite:
    def test_refuses_a_current_member_and_changes_nothing(self, world: Any) -> None:
        before = PartnerMembership.objects.count()
        with pytest.raises(ServiceError) as excinfo:
            services.staff_invite(
                partner=world.partner, actor=world.admin, email=world.admin.email.upper(), name="X"
            )
        assert excinfo.value.field == "email"
        assert PartnerMembership.objects.count() == before

    def test_creates_a_passwordless_user_in_the_chosen_language(self, world: Any) -> None:
        membership = services.staff_invite(
            partner=world.partner,
            actor=world.admin,
            email=" New@Example.com ",
            name="New Person",
            language="en",
        )
        assert membership.user.email == "new@example.com"
        assert membership.user.language == "en"
        assert not membership.user.has_usable_password()
        assert membership.role == PartnerRole.STAFF
        assert membership.invited_by == world.admin


# --- Concurrency: two admins demote (or remove) each other at the same moment -------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operation", ["demote", "remove"])
def test_two_admins_acting_on_each_other_at_once_leave_one_admin(operation: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")
    partner = PartnerFactory.create()
    first = PartnerMembershipFactory.create(partner=partner, role=PartnerRole.ADMIN)
    second = PartnerMembershipFactory.create(partner=partner, role=PartnerRole.ADMIN)
    CollaborationFactory.create(partner=partner)

    def act(actor: PartnerMembership, target: PartnerMembership) -> Callable[[], object]:
        if operation == "demote":
            return lambda: services.membership_change_role(
                membership=target, actor=actor.user, role=PartnerRole.STAFF
            )
        return lambda: services.membership_remove(membership=target, actor=actor.user)

    real_admin_count = services._admin_count

    def slow_admin_count(partner: Partner) -> int:
        # Widen the race: without a lock, both threads would count two admins before either writes.
        count = real_admin_count(partner)
        time.sleep(0.3)
        return count

    with mock.patch.object(services, "_admin_count", side_effect=slow_admin_count):
        outcomes = run_in_parallel([act(first, second), act(second, first)])

    assert sorted(outcomes) == ["ok", "refused"]
    remaining_admins = PartnerMembership.objects.filter(partner=partner, role=PartnerRole.ADMIN)
    assert remaining_admins.count() == 1
    expected_members = 2 if operation == "demote" else 1
    assert PartnerMembership.objects.filter(partner=partner).count() == expected_members
