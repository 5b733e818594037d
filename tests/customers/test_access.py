"""customers.access.may_work_with is the one answer to "may this partner user work with this
collaboration"; the customers, documents and signing pages all ask it and so agree, for every
actor and every state of the collaboration."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from django.urls import reverse

from customers.access import may_work_with
from customers.models import Collaboration, CollaborationStatus
from portal.context import OrganisationContext
from portal.models import User
from tests.conftest import World
from tests.factories import CustomerMembershipFactory

pytestmark = pytest.mark.django_db

ACTORS = (
    "admin",
    "staff",
    "staff_unassigned",
    "primary",
    "customer_user",
    "outsider",
    "outsider_customer_user",
    "admin_also_customer",  # A's administrator who is also a user of the customer
    "unassigned_also_customer",  # A's unassigned staff who is also a user of the customer
)
MAY = {"admin", "staff", "admin_also_customer"}
OPEN = {CollaborationStatus.ACTIVE, CollaborationStatus.INVITED}
PAGES = (
    "customers:customer_detail",
    "customers:customer_users",
    "documents:partner_root",
    "signing:partner_list",
)


def _actor(world: World, name: str) -> User:
    if name == "admin_also_customer":
        CustomerMembershipFactory.create(customer=world.customer, user=world.admin, is_admin=True)
        return world.admin
    if name == "unassigned_also_customer":
        CustomerMembershipFactory.create(customer=world.customer, user=world.staff_unassigned, is_admin=True)
        return world.staff_unassigned
    user: User = getattr(world, name)
    return user


def _orgs(user: User) -> OrganisationContext:
    request: Any = RequestFactory().get("/")
    request.user = user
    request.session = {}
    return OrganisationContext(request)


@pytest.mark.parametrize("status", list(CollaborationStatus))
@pytest.mark.parametrize("actor", ACTORS)
def test_every_partner_side_entry_point_gives_the_same_answer(
    world: World, client: Any, actor: str, status: str
) -> None:
    user = _actor(world, actor)
    Collaboration.objects.filter(pk=world.collaboration.pk).update(status=status)
    collaboration = Collaboration.objects.select_related("partner", "customer").get(pk=world.collaboration.pk)
    expected = actor in MAY and status in OPEN

    without_orgs = may_work_with(user, collaboration)
    with_orgs = may_work_with(user, collaboration, orgs=_orgs(user))
    assert (without_orgs is not None) is expected
    assert with_orgs == without_orgs
    if expected:
        assert without_orgs is not None
        assert (without_orgs.kind, without_orgs.id) == ("partner", world.partner.pk)
        assert without_orgs.is_admin is (actor != "staff")

    client.force_login(user)
    for page in PAGES:
        response = client.get(reverse(page, args=[collaboration.pk]))
        assert response.status_code == (200 if expected else 404), (page, response.status_code)


def test_nobody_anonymous_or_inactive_works_with_anything(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert may_work_with(AnonymousUser(), world.collaboration) is None  # type: ignore[arg-type]
    User.objects.filter(pk=world.admin.pk).update(is_active=False)
    world.admin.refresh_from_db()
    assert may_work_with(world.admin, world.collaboration) is None
