"""Shared fixtures. `world` is the three-actor setup every view test uses:
the owner, a same-tenant user without the right, and an outsider of another tenant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from guardian.shortcuts import assign_perm

from customers.models import Collaboration, CustomerAccount
from customers.services import WORK_WITH_CUSTOMER
from partners.models import Partner, PartnerRole
from portal.celery import app as celery_app
from portal.models import User
from tests.factories import (
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    UserFactory,
)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher() -> Iterator[None]:
    """PBKDF2 costs ~0.3 s a user; tests make hundreds. Production keeps the default."""
    # override_settings sends setting_changed, which clears Django's cached hashers.
    override = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> Iterator[None]:
    """Tasks run in-process unless a test starts a real worker (tests/integration)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters (portal.throttle) live in the cache: each test starts with none. The
    login lockout's state is in the database and goes with each test's transaction."""
    cache.clear()


@dataclass
class World:
    """Partner A with an admin, an assigned staff member and an unassigned one; A's customer
    with a primary contact and a plain user; a second customer of A no staff is assigned to;
    partner B with its admin and its own customer (the outsiders)."""

    partner: Partner
    admin: User
    staff: User  # assigned to `collaboration`
    staff_unassigned: User
    customer: CustomerAccount
    collaboration: Collaboration
    primary: User  # primary contact of `customer`
    customer_user: User  # plain user of `customer`
    other_collaboration: Collaboration  # A's second customer, no staff assigned
    other_partner: Partner
    outsider: User  # admin of partner B
    outsider_collaboration: Collaboration
    outsider_customer_user: User  # primary contact of B's customer


@pytest.fixture
def world(db: None) -> World:
    partner = PartnerFactory.create(name="Alfa Byrå AB")
    admin = PartnerMembershipFactory.create(
        partner=partner, role=PartnerRole.ADMIN, user__name="Anna Admin"
    ).user
    staff = PartnerMembershipFactory.create(partner=partner, user__name="Sam Staff").user
    staff_unassigned = PartnerMembershipFactory.create(partner=partner, user__name="Ulla Unassigned").user
    collaboration = CollaborationFactory.create(partner=partner, customer__name="Kund Alfa AB")
    primary = CustomerMembershipFactory.create(
        customer=collaboration.customer, is_primary_contact=True, is_admin=True, user__name="Karin Primary"
    ).user
    customer_user = CustomerMembershipFactory.create(
        customer=collaboration.customer, user__name="Olle User"
    ).user
    assign_perm(WORK_WITH_CUSTOMER, staff, collaboration)
    other_collaboration = CollaborationFactory.create(partner=partner, customer__name="Bygg Alfa AB")
    CustomerMembershipFactory.create(
        customer=other_collaboration.customer, is_primary_contact=True, is_admin=True
    )

    other_partner = PartnerFactory.create(name="Beta Byrå AB")
    outsider = PartnerMembershipFactory.create(
        partner=other_partner, role=PartnerRole.ADMIN, user__name="Per Outsider"
    ).user
    outsider_collaboration = CollaborationFactory.create(partner=other_partner, customer__name="Kund Beta AB")
    outsider_customer_user = CustomerMembershipFactory.create(
        customer=outsider_collaboration.customer, is_primary_contact=True, is_admin=True
    ).user
    return World(
        partner=partner,
        admin=admin,
        staff=staff,
        staff_unassigned=staff_unassigned,
        customer=collaboration.customer,
        collaboration=collaboration,
        primary=primary,
        customer_user=customer_user,
        other_collaboration=other_collaboration,
        other_partner=other_partner,
        outsider=outsider,
        outsider_collaboration=outsider_collaboration,
        outsider_customer_user=outsider_customer_user,
    )


@pytest.fixture
def login(client: Client) -> Any:
    """login(user) -> the test client, logged in as `user`."""

    def _login(user: User) -> Client:
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def new_user(db: None) -> Any:
    return UserFactory
