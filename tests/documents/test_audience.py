"""documents.selectors.folder_audience must name exactly the people documents.access.rights_for
lets into a folder: notifications go to the audience and must never reach anyone else."""

from __future__ import annotations

import pytest

from customers.models import Collaboration, CollaborationStatus
from documents import access, selectors, services
from documents.models import Audience, CustomerAccess, Folder
from portal.models import User
from tests.conftest import World
from tests.factories import CustomerMembershipFactory

CASES = [
    pytest.param(CustomerAccess.NONE, Audience.ALL, False, id="internal"),
    pytest.param(CustomerAccess.READ, Audience.ALL, False, id="read-for-all"),
    pytest.param(CustomerAccess.EDIT, Audience.SELECTED, False, id="edit-for-selected"),
    pytest.param(CustomerAccess.READ, Audience.SELECTED, True, id="selected-primary-contact-manages"),
]


def everyone(world: World) -> list[User]:
    return list(User.objects.all())


def expected(folder: Folder, users: list[User]) -> set[int]:
    return {u.pk for u in users if access.rights_for(u, folder) is not None}


@pytest.mark.parametrize(("customer_access", "audience", "manages"), CASES)
def test_the_audience_is_who_may_see_the_folder(
    world: World, customer_access: str, audience: str, manages: bool
) -> None:
    CustomerMembershipFactory.create(customer=world.customer, user__name="Third User")
    top = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Top",
        customer_access=customer_access,
        audience=audience,
        selected_user_ids=[world.customer_user.pk] if audience == Audience.SELECTED else [],
        primary_contact_manages=manages,
    )
    sub = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Sub", parent=top)
    users = everyone(world)
    for folder in (top, sub):
        folder = Folder.objects.select_related("collaboration", "root").get(pk=folder.pk)
        audience_ids = set(selectors.folder_audience(folder).values_list("pk", flat=True))
        assert audience_ids == expected(folder, users)
        assert world.admin.pk in audience_ids and world.staff.pk in audience_ids
        assert world.staff_unassigned.pk not in audience_ids and world.outsider.pk not in audience_ids
        customer_side = set(
            selectors.folder_audience(folder, customer_only=True).values_list("pk", flat=True)
        )
        assert customer_side == audience_ids - {world.admin.pk, world.staff.pk}


def test_an_invited_or_ended_collaboration_shows_the_customer_nothing(world: World) -> None:
    folder = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.READ,
    )
    for status in (CollaborationStatus.INVITED, CollaborationStatus.ENDED):
        Collaboration.objects.filter(pk=world.collaboration.pk).update(status=status)
        folder = Folder.objects.select_related("collaboration", "root").get(pk=folder.pk)
        assert set(selectors.folder_audience(folder).values_list("pk", flat=True)) == expected(
            folder, everyone(world)
        )
