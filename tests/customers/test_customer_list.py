from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners.models import PartnerRole
from tests.factories import (
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
)

pytestmark = pytest.mark.django_db


def test_admin_sees_every_customer_of_the_partner(world: Any, login: Any) -> None:
    response = login(world.admin).get(reverse("customers:customer_list"))
    assert response.status_code == 200
    names = [c.customer.name for c in response.context["page"].object_list]
    assert names == ["Bygg Alfa AB", "Kund Alfa AB"]
    assert f'<p class="lead">{world.partner.name}</p>' in response.content.decode()
    assert b"Kund Beta AB" not in response.content


def test_staff_sees_only_assigned_customers(world: Any, login: Any) -> None:
    response = login(world.staff).get(reverse("customers:customer_list"))
    assert [c.customer.name for c in response.context["page"].object_list] == ["Kund Alfa AB"]


def test_unassigned_staff_sees_no_customers(world: Any, login: Any) -> None:
    response = login(world.staff_unassigned).get(reverse("customers:customer_list"))
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []


def test_outsider_sees_only_their_own_customers(world: Any, login: Any) -> None:
    response = login(world.outsider).get(reverse("customers:customer_list"))
    assert [c.customer.name for c in response.context["page"].object_list] == ["Kund Beta AB"]
    assert b"Kund Alfa AB" not in response.content


def test_customer_user_gets_404_on_partner_pages(world: Any, login: Any) -> None:
    assert login(world.primary).get(reverse("customers:customer_list")).status_code == 404


def test_search_by_name_and_org_number(world: Any, login: Any) -> None:
    client = login(world.admin)
    response = client.get(reverse("customers:customer_list"), {"q": "bygg"})
    assert [c.customer.name for c in response.context["page"].object_list] == ["Bygg Alfa AB"]
    org = world.customer.org_number[:8]
    response = client.get(reverse("customers:customer_list"), {"q": org})
    assert world.customer.name in [c.customer.name for c in response.context["page"].object_list]


def test_list_shows_primary_contact(world: Any, login: Any) -> None:
    response = login(world.admin).get(reverse("customers:customer_list"))
    assert b"Karin Primary" in response.content


def _queries_for_list(client: Any, n_customers: int, role: str) -> tuple[int, int]:
    partner = PartnerFactory.create()
    member = PartnerMembershipFactory.create(partner=partner, role=role).user
    from guardian.shortcuts import assign_perm

    from customers.services import WORK_WITH_CUSTOMER

    for _ in range(n_customers):
        collaboration = CollaborationFactory.create(partner=partner)
        CustomerMembershipFactory.create(
            customer=collaboration.customer, is_primary_contact=True, is_admin=True
        )
        assign_perm(WORK_WITH_CUSTOMER, member, collaboration)
    client.force_login(member)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("customers:customer_list"))
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["page"].object_list)


@pytest.mark.parametrize("role", [PartnerRole.ADMIN, PartnerRole.STAFF])
def test_query_count_is_constant_with_3_and_60_customers(client: Any, role: str, settings: Any) -> None:
    settings.PAGE_SIZE = 100  # all rows on one page, so a per-row query would show
    small, shown_small = _queries_for_list(client, 3, role)
    large, shown_large = _queries_for_list(client, 60, role)
    assert (shown_small, shown_large) == (3, 60)
    assert small == large
    assert large <= 7  # the firm's name comes from the organisation context, not a query


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_the_first_page_walks_the_customers_by_name(world: Any, login: Any) -> None:
    """A firm with hundreds of customers: the page's query can read the customers in name order
    through customer_account_name and stop after the page, instead of joining and sorting them
    all (issue 16)."""
    with CaptureQueriesContext(connection) as captured:
        login(world.admin).get(reverse("customers:customer_list"))
    (page_sql,) = [q["sql"] for q in captured if q["sql"].startswith('SELECT "customers_collaboration"."id"')]
    with connection.cursor() as cursor:
        # The tables are tiny here: keep the planner off a full sort and a sequential scan to see
        # that the ordered walk is there to take.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {page_sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_account_name" in plan, plan
