"""A partner gives a new customer user's personnummer (for BankID login): checked, normalised to
12 digits, never shared by two users, and never tied to someone else's existing account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from customers.models import CustomerMembership
from portal.models import User
from tests.customers.test_partner_views import _add_user, _counts, _create

pytestmark = pytest.mark.django_db

KARIN = "198503122387"
BO = "197211056572"


@pytest.fixture(autouse=True)
def _english(world: Any) -> None:
    User.objects.update(language="en")


def test_a_new_customer_and_its_users_get_their_personnummer(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _create(
        login(world.staff),
        django_capture_on_commit_callbacks,
        contact_personnummer="850312-2387",
        **{"users-0-personnummer": "19721105-6572"},
    )
    assert response.status_code == 302
    assert User.objects.get(email="cecilia@example.com").personnummer == KARIN
    assert User.objects.get(email="ulf@example.com").personnummer == BO
    assert User.objects.get(email="quiet@example.com").personnummer == ""
    page = login(world.staff).get(reverse("customers:customer_create")).content.decode()
    assert 'name="contact_personnummer"' in page and 'name="users-0-personnummer"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("contact_personnummer", "198503122388", "check digit is wrong"),
        ("users-0-personnummer", "19850332-2387", "not valid"),
        ("contact_personnummer", "1985-03-12", "YYYYMMDD-NNNN"),
    ],
)
def test_a_bad_personnummer_is_422_and_creates_nothing(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any, field: str, value: str, message: str
) -> None:
    before = _counts()
    response = _create(login(world.admin), django_capture_on_commit_callbacks, **{field: value})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert _counts() == before


def test_a_personnummer_another_user_has_is_422_and_creates_nothing(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(pk=world.outsider_customer_user.pk).update(personnummer=BO)
    before = _counts()
    response = _create(
        login(world.admin), django_capture_on_commit_callbacks, **{"users-0-personnummer": "197211056572"}
    )
    assert response.status_code == 422
    assert "ulf@example.com: another user already has this personal identity number" in (
        response.content.decode()
    )
    assert _counts() == before


def test_an_added_user_gets_the_personnummer(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    response = _add_user(
        login(world.staff), django_capture_on_commit_callbacks, world.collaboration, personnummer="8503122387"
    )
    assert response.status_code == 302
    assert User.objects.get(email="nils@example.com").personnummer == KARIN


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("198503122388", "check digit is wrong"),
        (BO, "another user already has this personal identity number"),
    ],
)
def test_adding_a_user_with_a_bad_or_taken_personnummer_is_422(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any, value: str, message: str
) -> None:
    User.objects.filter(pk=world.outsider_customer_user.pk).update(personnummer=BO)
    before = _counts()
    response = _add_user(
        login(world.admin), django_capture_on_commit_callbacks, world.collaboration, personnummer=value
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert _counts() == before
    assert not CustomerMembership.objects.filter(user__email="nils@example.com").exists()


def test_nobody_ties_a_bankid_to_someone_else_s_existing_account(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The outsider's customer user has an account and no personnummer: a partner adding them
    may not set one, or whoever holds that BankID would log in as them."""
    someone = world.outsider_customer_user
    before = _counts()
    response = _add_user(
        login(world.admin),
        django_capture_on_commit_callbacks,
        world.collaboration,
        email=someone.email,
        personnummer=KARIN,
    )
    assert response.status_code == 422
    assert "already has an account: only they can set its personal identity number" in (
        response.content.decode()
    )
    assert User.objects.get(pk=someone.pk).personnummer == ""
    assert _counts() == before


@pytest.mark.parametrize("who", ["outsider", "staff_unassigned", "primary"])
def test_others_cannot_add_a_user_with_a_personnummer(
    world: Any, login: Any, django_capture_on_commit_callbacks: Any, who: str
) -> None:
    before = _counts()
    response = _add_user(
        login(getattr(world, who)),
        django_capture_on_commit_callbacks,
        world.collaboration,
        personnummer=KARIN,
    )
    assert response.status_code in (403, 404)
    assert _counts() == before
    assert not User.objects.filter(personnummer=KARIN).exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_personnummer_added_at_once_for_three_customers_goes_to_one_user(world: Any) -> None:
    """Adds to different customers do not wait for each other (each locks its own customer): all
    may pass the check before any has written. The unique constraint decides, and the others
    get the form's message, never a 500."""
    from customers import services
    from customers.services import NewCustomerUser
    from tests.parallel import run_in_parallel

    places = [
        (world.collaboration, world.admin),
        (world.other_collaboration, world.admin),
        (world.outsider_collaboration, world.outsider),
    ]

    def add(collaboration: Any, actor: User, email: str, number: str) -> Callable[[], object]:
        return lambda: services.customer_user_add_by_partner(
            collaboration=collaboration,
            actor=actor,
            spec=NewCustomerUser(name="Person", email=email, personnummer=number, send_welcome=False),
        )

    for round_, number in enumerate([KARIN, BO, "199604302407", "196802145315"]):
        calls = [add(c, a, f"p{round_}-{i}@example.com", number) for i, (c, a) in enumerate(places)]
        assert sorted(run_in_parallel(calls)) == ["ok", "refused", "refused"]
        assert User.objects.filter(personnummer=number).count() == 1
