from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from customers import badges, selectors
from customers.models import Collaboration, CollaborationStatus, CustomerAccount
from customers.services import WORK_WITH_CUSTOMER
from docrequests.models import DocumentRequest
from docrequests.models import Status as DocrequestStatus
from partners.models import PartnerRole
from portal import sql
from portal.context import Organisation
from signing.models import AttentionKind, AttentionSeen
from signing.models import Status as SigningStatus
from tests.factories import (
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    signing_request,
    valid_orgnr,
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
def test_the_first_page_walks_the_customers_by_name(world: Any) -> None:
    """A firm with hundreds of customers: the page's statement can read the customers in name
    order through customer_account_name and stop after the page, instead of joining and sorting
    them all (issue 16)."""
    org = Organisation(kind="partner", id=world.partner.pk, name=world.partner.name, is_admin=True)
    customers = selectors.PartnerCustomers(user=world.admin, partner=org, include_ended=True)
    statement, params = customers.statement(0, 25)
    with connection.cursor() as cursor:
        # The tables are tiny here: keep the planner off a full sort and a sequential scan to see
        # that the ordered walk is there to take.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {statement}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_account_name" in plan, plan


# --- The page's statement -----------------------------------------------------------------------


def _row(c: Collaboration, names: list[str]) -> tuple[Any, ...]:
    """What a row of Mina samarbeten reads of a collaboration."""
    customer = c.customer
    return (
        c.pk,
        c.status,
        customer.name,
        customer.org_number,
        customer.kind,
        getattr(c, "primary_contact_name", None),
        getattr(c, "primary_contact_email", None),
        *(getattr(c, name) for name in names),
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
def test_the_page_statement_lists_what_the_orm_lists(world: Any) -> None:
    """customers.selectors.PartnerCustomers.page (one prepared statement around the rule's SQL)
    against its queryset() (the ORM, as SQLite runs it): for every kind of partner user, searched
    or not, pages at the start, in the middle, at the end and past it, with the other apps'
    columns (customers.badges) counted alike."""
    partner = world.partner
    ended = CollaborationFactory.create(
        partner=partner, customer__name="Avslutad Alfa AB", status=CollaborationStatus.ENDED
    )
    CollaborationFactory.create(
        partner=partner, customer__name="Avböjd AB", status=CollaborationStatus.DECLINED
    )
    CollaborationFactory.create(
        partner=partner, customer__name="Inbjuden AB", status=CollaborationStatus.INVITED
    )
    twin = CollaborationFactory.create(
        partner=partner, customer__name="Kund Alfa AB"
    )  # the id breaks the tie
    CustomerMembershipFactory.create(customer=twin.customer, is_primary_contact=True, user__name="Tvilling")
    for n in range(7):
        CollaborationFactory.create(partner=partner, customer__name=f"Bolag {n} 100% AB")
    now = timezone.now()
    signing_request(world.collaboration, world.admin, SigningStatus.PENDING)
    signing_request(
        world.collaboration, world.admin, SigningStatus.DECLINED, finished_at=now - dt.timedelta(days=1)
    )
    signing_request(twin, world.admin, SigningStatus.EXPIRED, finished_at=now - dt.timedelta(days=2))
    # Too old to show:
    signing_request(twin, world.admin, SigningStatus.EXPIRED, finished_at=now - dt.timedelta(days=90))
    signing_request(ended, world.admin, SigningStatus.DECLINED, finished_at=now - dt.timedelta(hours=1))
    AttentionSeen.objects.create(
        user=world.admin, collaboration=ended, kind=AttentionKind.DECLINED, seen_at=timezone.now()
    )
    for status in (DocrequestStatus.OPEN, DocrequestStatus.OPEN, DocrequestStatus.DONE):
        DocumentRequest.objects.create(
            collaboration=world.collaboration, title="Underlag", due_date=timezone.localdate(), status=status
        )
    assign_perm(WORK_WITH_CUSTOMER, world.staff, twin)
    assign_perm(WORK_WITH_CUSTOMER, world.staff, ended)  # ended: only an account administrator lists it
    # The other firm works with the same customer: its signings and requests are its own row's.
    shared = CollaborationFactory.create(partner=world.other_partner, customer=world.customer)
    for _ in range(3):
        signing_request(shared, world.outsider, SigningStatus.PENDING)
    DocumentRequest.objects.create(
        collaboration=shared, title="Underlag", due_date=timezone.localdate(), status=DocrequestStatus.OPEN
    )
    actors = [
        (world.admin, partner, True),
        (world.staff, partner, False),
        (world.staff_unassigned, partner, False),
        (world.outsider, world.other_partner, True),
    ]
    searches = ["", "alfa", "ALFA", world.customer.org_number[2:6], "100%", "%", "_", "zzz"]
    pages = [(0, 25), (0, 3), (1, 1), (3, 3), (9, 3), (12, 25), (40, 25)]
    totals: set[int] = set()
    values: set[tuple[Any, ...]] = set()
    for user, org_partner, is_admin in actors:
        org = Organisation(kind="partner", id=org_partner.pk, name=org_partner.name, is_admin=is_admin)
        annotations = badges.partner_annotations(user=user)
        names = [name for name, _expression in annotations]
        assert "signings_waiting" in names and "docrequests_open" in names
        for search in searches:
            customers = selectors.PartnerCustomers(
                user=user, partner=org, search=search, include_ended=is_admin, annotations=annotations
            )
            orm = customers.queryset()
            total = orm.count()
            for offset, size in pages:
                mine = customers.page(offset, size)
                theirs = [_row(c, names) for c in orm[offset : offset + size]]
                assert [_row(c, names) for c in mine.rows] == theirs, (user.name, search, offset, size)
                assert mine.total == total, (user.name, search, offset, size)
                values.update(row[5:] for row in theirs)
            totals.add(total)
    assert {0, 1, 2, 7}.issubset(totals), totals
    # The annotations were there to compare: waiting, declined and open requests for one customer,
    # and the other firm's own for the customer they share.
    assert any(v[2:5] == (1, 1, 0) and v[-1] == 2 for v in values), values
    assert any(v[2:5] == (3, 0, 0) and v[-1] == 1 for v in values), values
    outsider = Organisation(kind="partner", id=world.other_partner.pk, name="", is_admin=True)
    other_firm = selectors.PartnerCustomers(
        user=world.outsider, partner=outsider, annotations=badges.partner_annotations(user=world.outsider)
    ).page(0, 25)
    rows = [_row(c, ["signings_waiting", "docrequests_open"]) for c in other_firm.rows]
    counts = sorted((row[0], *row[-2:]) for row in rows)
    assert counts == [
        (world.outsider_collaboration.pk, 0, 0),
        (shared.pk, 3, 1),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
def test_a_page_is_one_prepared_statement(world: Any, login: Any, settings: Any) -> None:
    settings.DB_PREPARED_STATEMENTS = True
    client = login(world.admin)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("customers:customer_list"))
    assert response.status_code == 200
    pages = [
        q["sql"] for q in captured if "customers_collaboration" in q["sql"] or q["sql"].startswith("EXECUTE")
    ]
    assert len(pages) == 1 and pages[0].startswith("EXECUTE portal_q_"), pages


@pytest.mark.parametrize(
    ("asked", "shown", "reads"),
    [
        ("1", 1, 1),
        ("2", 2, 1),
        ("3", 3, 1),
        ("4", 3, 2),
        ("0", 3, 2),
        ("-2", 3, 2),
        ("x", 1, 1),
        ("2.0", 1, 1),
        ("", 1, 1),
        ("99999999999999999999999", 3, 2),
    ],
)
def test_the_page_asked_for_is_picked_as_get_page_picks_it(
    world: Any, login: Any, settings: Any, asked: str, shown: int, reads: int
) -> None:
    """Not a number: the first page; past the end or below 1: the last, read again only then."""
    settings.PAGE_SIZE = 2
    settings.DB_PREPARED_STATEMENTS = True
    for n in range(4):  # 6 customers in all: 3 pages of 2
        CollaborationFactory.create(partner=world.partner, customer__name=f"Extra {n} AB")
    with CaptureQueriesContext(connection) as captured:
        response = login(world.admin).get(reverse("customers:customer_list"), {"page": asked})
    assert response.status_code == 200
    page = response.context["page"]
    assert (page.number, page.paginator.num_pages, page.paginator.count) == (shown, 3, 6)
    names = [c.customer.name for c in page.object_list]
    expected = sorted(c.customer.name for c in Collaboration.objects.filter(partner=world.partner))
    assert names == expected[(shown - 1) * 2 : shown * 2]
    if connection.vendor == "postgresql":
        assert len([q for q in captured if q["sql"].startswith("EXECUTE portal_q_")]) == reads


@pytest.mark.parametrize("asked", ["2", "5", "0", "-1"])
def test_a_page_past_the_end_of_a_single_page_shows_the_customers(world: Any, login: Any, asked: str) -> None:
    """Every customer fits on the first page: a later page, or one below 1, is that page, rows and
    all, as Paginator.get_page gives it."""
    response = login(world.admin).get(reverse("customers:customer_list"), {"page": asked})
    assert response.status_code == 200
    page = response.context["page"]
    assert (page.number, page.paginator.num_pages) == (1, 1)
    assert [c.customer.name for c in page.object_list] == ["Bygg Alfa AB", "Kund Alfa AB"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
def test_the_first_pages_plan_is_kept(world: Any, login: Any, settings: Any) -> None:
    """The first page's statement waits on no parameter for its plan: after PostgreSQL's five
    custom plans it keeps the generic one instead of planning every page (1.2 ms at 1,000
    customers, where the plan for the values walks the names' index and one for no value in
    particular, not knowing the OFFSET, would sort them: with an OFFSET parameter PostgreSQL
    planned every execution)."""
    settings.DB_PREPARED_STATEMENTS = True
    customers = CustomerAccount.objects.bulk_create(
        CustomerAccount(name=f"Extra {n:04} AB", org_number=valid_orgnr(3_000_000 + n)) for n in range(1000)
    )
    Collaboration.objects.bulk_create(Collaboration(partner=world.partner, customer=c) for c in customers)
    with connection.cursor() as cursor:
        # Statistics of this data, not what earlier tests left behind: the choice is made on them.
        cursor.execute("ANALYZE")
        # PostgreSQL weighs a generic plan against the custom ones of the statement's life on this
        # connection: start it afresh, as on a new connection.
        cursor.execute("DEALLOCATE ALL")
    sql._prepared.pop(connection.connection, None)
    client = login(world.admin)
    with CaptureQueriesContext(connection) as captured:
        for _ in range(8):
            assert client.get(reverse("customers:customer_list")).status_code == 200
    names = {q["sql"].split("(")[0].split()[1] for q in captured if q["sql"].startswith("EXECUTE portal_q_")}
    assert len(names) == 1, names
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = %s", [*names]
        )
        generic, custom = cursor.fetchone()
    # Five custom plans, then the generic one.
    assert custom == 5 and generic >= 3, (generic, custom)
