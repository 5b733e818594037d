"""Reads that always take the acting user and return permission-filtered querysets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from django.db import connection
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerAccount,
    CustomerKind,
    CustomerMembership,
)
from partners.models import PartnerMembership, PartnerRole
from portal import sql
from portal.context import Organisation
from portal.memo import remember
from portal.models import User

OPEN_STATUSES = [CollaborationStatus.ACTIVE, CollaborationStatus.INVITED]


def customer_organisations(user: User) -> list[Organisation]:
    """The customers `user` belongs to, for the organisation switcher; one query."""
    rows = CustomerMembership.objects.filter(user=user).values_list(
        "customer_id", "customer__name", "is_admin", "is_primary_contact"
    )
    return [
        Organisation("customer", customer_id, name, is_admin or is_primary, is_primary)
        for customer_id, name, is_admin, is_primary in sorted(rows, key=lambda row: row[1].lower())
    ]


def staff_assignment_exists(*, user: User) -> Exists:
    """True for collaborations `user` is assigned to, as one subquery over the direct permission table."""
    return Exists(
        CollaborationUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"),
            user=user,
            permission__codename="work_with_customer",
            permission__content_type__app_label="customers",
        )
    )


def partner_user_scope(
    *, user: User, partner: Organisation, include_ended: bool = False
) -> QuerySet[Collaboration]:
    """The partner's customers this user may see: all for an account administrator, the assigned
    ones for staff; open ones, and ended ones too with `include_ended`. Neither annotated nor
    ordered: the rule itself, for collaborations_for_partner_user and for a subquery. Mina
    samarbeten and the partner search keep the rule compiled per (partner.id, partner.is_admin,
    user.pk, include_ended) (partner_user_scope_sql): a rule that came to depend on anything else
    must be keyed by it there too."""
    statuses = [*OPEN_STATUSES, CollaborationStatus.ENDED] if include_ended else OPEN_STATUSES
    qs = Collaboration.objects.filter(partner_id=partner.id, status__in=statuses)
    if not partner.is_admin:
        qs = qs.filter(staff_assignment_exists(user=user))
    return qs


# The compiled access rule of each partner user (partner_user_scope as SQL and its parameters), by
# what it depends on: building and compiling it with the ORM took 0.2 ms of every partner search
# and of every page of Mina samarbeten. Bounded (portal.memo); emptied when full. What the rule
# lets through is decided when the SQL runs (the collaborations' status, the staff's assignments):
# only the SQL is kept.
_SCOPES: dict[tuple[int, bool, int, bool], tuple[str, tuple[Any, ...]]] = {}


def partner_user_scope_sql(
    *, user: User, partner: Organisation, include_ended: bool = False
) -> tuple[str, tuple[Any, ...]]:
    """partner_user_scope's collaboration ids as SQL (`SELECT id FROM ... WHERE ...`) and its
    parameters, compiled once per (partner.id, partner.is_admin, user.pk, include_ended)."""

    def compile_scope() -> tuple[str, tuple[Any, ...]]:
        scope = partner_user_scope(user=user, partner=partner, include_ended=include_ended)
        scope_sql, scope_params = scope.order_by().values("pk").query.get_compiler(connection.alias).as_sql()
        return scope_sql, tuple(scope_params)

    key = (partner.id, partner.is_admin, user.pk, include_ended)
    return remember(_SCOPES, key, compile_scope)


def _primary_contact_sql(column: str) -> str:
    """The customer's primary contact's `column` (of the user) as a scalar subquery of a query of
    collaborations, the table unaliased (portal.sql.outer)."""
    return (
        f"SELECT u.{column} FROM {sql.table(CustomerMembership)} m JOIN {sql.table(User)} u"  # noqa: S608 -- names quoted by portal.sql, no values
        f" ON u.id = m.user_id WHERE m.customer_id = {sql.outer(Collaboration, 'customer_id')}"
        " AND m.is_primary_contact ORDER BY u.id LIMIT 1"
    )


def collaborations_for_partner_user(
    *, user: User, partner: Organisation, search: str = "", include_ended: bool = False
) -> QuerySet[Collaboration]:
    """The partner's customers this user may see (partner_user_scope), annotated with the
    customer's primary contact, in a constant number of queries."""
    qs = partner_user_scope(user=user, partner=partner, include_ended=include_ended)
    if search.strip():
        term = search.strip()
        qs = qs.filter(Q(customer__name__icontains=term) | Q(customer__org_number__icontains=term))
    # The primary contact's name and email as SQL subqueries (portal.sql: cheaper to build).
    return (
        qs.select_related("customer")
        .annotate(
            primary_contact_name=sql.scalar(_primary_contact_sql("name"), [], CharField()),
            primary_contact_email=sql.scalar(_primary_contact_sql("email"), [], CharField()),
        )
        .order_by("customer__name", "pk")
    )


class CustomerPage(NamedTuple):
    """A page of PartnerCustomers: its collaborations (each with its customer and annotations)
    and how many there are in all."""

    rows: list[Collaboration]
    total: int


@dataclass(frozen=True)
class PartnerCustomers:
    """Mina samarbeten's list: collaborations_for_partner_user, each collaboration annotated
    with `annotations` besides (the other apps' columns, customers.badges: scalar subqueries as
    portal.sql writes them, the collaboration's table unaliased).

    On PostgreSQL a page is one prepared statement (portal.sql.prepared, one per shape: the rule's
    SQL, searched or not, the annotations' SQL, the first page or another, the page's size): how
    many, the page's ids in name order, and its rows with their customer and annotations, the
    annotations computed for the page's rows only. Through the ORM, building and compiling the
    queryset and its count, planning both (1.2 ms for the page's, whose eight subqueries
    PostgreSQL plans each time) and making the rows took about 3.5 of the page's 13 ms at 1,000
    customers, twice the floor page's time (bench/pages.py, issue 16). The first page has no
    OFFSET and its size is written in: with the OFFSET a parameter, PostgreSQL's plan for no
    value in particular (a full sort, not knowing how far to read) was estimated dearer than
    the ones for the values (walking the names' index), and it planned every execution; now the
    two come out alike and it keeps the generic plan after five executions (the statement 1.4
    ms against 2.8 at 1,000 customers; `tests/customers/test_customer_list.py` checks it on
    freshly analysed data). Where the estimates still differ (other statistics), PostgreSQL
    plans each execution, as before. The rule is
    partner_user_scope's own SQL (partner_user_scope_sql). queryset() is the same list as the ORM
    writes it (SQLite; the tests compare the two)."""

    user: User
    partner: Organisation
    search: str = ""
    include_ended: bool = False
    annotations: tuple[tuple[str, RawSQL], ...] = ()

    def queryset(self) -> QuerySet[Collaboration]:
        collaborations = collaborations_for_partner_user(
            user=self.user, partner=self.partner, search=self.search, include_ended=self.include_ended
        )
        return collaborations.annotate(**dict(self.annotations))

    def page(self, offset: int, size: int) -> CustomerPage:
        """The `size` collaborations after the first `offset`, and the count of all; no rows past
        the end (the count still tells where the end is)."""
        if connection.vendor != "postgresql":
            collaborations = self.queryset()
            return CustomerPage(list(collaborations[offset : offset + size]), collaborations.count())
        statement, params = self.statement(offset, size)
        rows = sql.prepared(statement).fetchall(params)
        names = ["primary_contact_name", "primary_contact_email", *(name for name, _e in self.annotations)]
        width = sum(len(model._meta.concrete_fields) for model in _ROW_MODELS)
        customer_field = Collaboration._meta.get_field("customer")
        found = []
        for row in rows:
            collaboration, customer = sql.row_instances(_ROW_MODELS, row[1 : 1 + width])
            if collaboration is None:  # the one row of an empty page: its count only
                continue
            customer_field.set_cached_value(collaboration, customer)
            for name, value in zip(names, row[1 + width :], strict=True):
                setattr(collaboration, name, value)
            found.append(cast(Collaboration, collaboration))
        return CustomerPage(found, rows[0][0])

    def statement(self, offset: int, size: int) -> tuple[str, list[Any]]:
        """The page's statement on PostgreSQL (_customers_statement) and its parameters."""
        scope_sql, scope_params = partner_user_scope_sql(
            user=self.user, partner=self.partner, include_ended=self.include_ended
        )
        term = self.search.strip()
        matched: list[Any] = [self.partner.id, *scope_params]
        if term:
            pattern = f"%{connection.ops.prep_for_like_query(term)}%"
            matched.extend([pattern, pattern])
        # The count of the rule alone (unsearched) is its own SQL's rows.
        params = [*(matched if term else scope_params), *matched, *([offset] if offset else [])]
        for _name, expression in self.annotations:
            params.extend(expression.params)
        shape = (
            scope_sql,
            bool(term),
            tuple((name, e.sql) for name, e in self.annotations),
            bool(offset),
            int(size),
        )
        return remember(_PAGES, shape, lambda: _customers_statement(*shape)), params


_ROW_MODELS = (Collaboration, CustomerAccount)
# PartnerCustomers' statements by shape (_customers_statement's arguments): written once.
_PAGES: dict[tuple[str, bool, tuple[tuple[str, str], ...], bool, int], str] = {}


def _customers_statement(
    scope_sql: str, searched: bool, annotations: tuple[tuple[str, str], ...], offset: bool, size: int
) -> str:
    """PartnerCustomers' statement. Its parameters: the rule's (for the count) or, if `searched`,
    the matching conditions' (the partner's id, the rule's, the search's two patterns); the
    matching conditions'; the page's offset if `offset`; then the annotations'. The page's size
    is written in.

    The count and the page's ids (in name order) are read apart, and the page's columns and
    subqueries only for its ids. One row even for a page past the end (the count, LEFT JOIN
    nothing), so that the count comes with every page: the count, then the collaboration's and
    the customer's columns (NULL past the end), the primary contact's name and email and the
    annotations."""
    c = sql.column
    collaboration = sql.table(Collaboration)
    pk, name = c("k", Collaboration, "pk"), c("o", CustomerAccount, "name")
    conditions = [f"{c('k', Collaboration, 'partner')} = %s", f"{pk} IN ({scope_sql})"]
    if searched:  # as the ORM's __icontains on PostgreSQL
        conditions.append(
            f"(UPPER({name}::text) LIKE UPPER(%s)"
            f" OR UPPER({c('o', CustomerAccount, 'org_number')}::text) LIKE UPPER(%s))"
        )
    customer = sql.joined("o", CustomerAccount, c("k", Collaboration, "customer"))
    joined = f"{collaboration} k INNER JOIN {customer}"
    where = " AND ".join(conditions)
    # Unsearched, the count is of the rule's own rows.
    counted = f"SELECT count(*) AS found FROM {f'{joined} WHERE {where}' if searched else f'({scope_sql}) s'}"  # noqa: S608 -- as below
    ids = f"SELECT {pk} AS id, {name} AS name FROM {joined} WHERE {where} ORDER BY {name}, {pk}"  # noqa: S608 -- as below
    skip = " OFFSET %s" if offset else ""
    # The annotations and the primary contact name the collaboration's table unaliased
    # (sql.outer): so it is in the outer query.
    columns = [
        sql.select_columns(Collaboration, collaboration),
        sql.select_columns(CustomerAccount, "o"),
        f"({_primary_contact_sql('name')})",
        f"({_primary_contact_sql('email')})",
        *(f"({annotation})" for _name, annotation in annotations),
    ]
    return (
        f"WITH n AS ({counted}), h AS ({ids}{skip} LIMIT {size:d})"  # noqa: S608 -- names from the models and the ORM's SQL; values are parameters
        f" SELECT n.found, {', '.join(columns)} FROM n LEFT JOIN (h"
        f" INNER JOIN {collaboration} ON {sql.outer(Collaboration, 'id')} = h.id"
        f" INNER JOIN {sql.joined('o', CustomerAccount, sql.outer(Collaboration, 'customer_id'))}) ON TRUE"
        " ORDER BY h.name, h.id"
    )


def collaborations_for_customer_user(*, customer: Organisation) -> QuerySet[Collaboration]:
    """The active collaborations of the customer the user acts for: the partners under Samarbeten,
    with those ended whose files the customer may still read (read_until not passed)."""
    ended_readable = Q(status=CollaborationStatus.ENDED, read_until__gt=timezone.now())
    return (
        Collaboration.objects.filter(customer_id=customer.id)
        .filter(Q(status=CollaborationStatus.ACTIVE) | ended_readable)
        .select_related("partner")
        .order_by("partner__name", "pk")
    )


def invitations_for_customer_admin(*, customer: Organisation) -> QuerySet[Collaboration]:
    if not customer.is_admin:
        return Collaboration.objects.none()
    return (
        Collaboration.objects.filter(customer_id=customer.id, status=CollaborationStatus.INVITED)
        .select_related("partner", "created_by")
        .order_by("created_at")
    )


def customer_users(*, customer_id: int) -> QuerySet[CustomerMembership]:
    """The users of a customer; the caller has checked that the acting user may see them."""
    return (
        CustomerMembership.objects.filter(customer_id=customer_id)
        .select_related("user")
        .order_by("-is_primary_contact", "user__name", "user__email")
    )


def customer_users_for_partner(*, collaboration: Collaboration) -> QuerySet[CustomerMembership]:
    """The customer's users as its partner sees them: only once the collaboration is active, so
    that an invitation alone reveals nothing about the people of the invited company."""
    if not collaboration.is_active:
        return CustomerMembership.objects.none()
    return customer_users(customer_id=collaboration.customer_id)


def partner_staff_for_assignment(*, collaboration: Collaboration) -> QuerySet[PartnerMembership]:
    """Staff members of the collaboration's partner, each annotated with whether they are assigned."""
    assigned = CollaborationUserObjectPermission.objects.filter(
        content_object=collaboration, user=OuterRef("user_id"), permission__codename="work_with_customer"
    )
    return (
        PartnerMembership.objects.filter(partner_id=collaboration.partner_id, role=PartnerRole.STAFF)
        .select_related("user")
        .annotate(is_assigned=Exists(assigned))
        .order_by("user__name")
    )


def partner_manages_users(*, collaboration: Collaboration) -> bool:
    """Whether the collaboration's partner adds users to the customer (README, Customers).

    Only the partner that created a free Documents account, while that collaboration is active,
    and until the account is taken over, for good: when another partner has a collaboration with
    it (invited, active, declined or ended), or its own primary contact or administrators have
    changed its users or answered an invitation (`taken_over_at`). From then on only they manage
    its users. A customer with its own subscription always manages its users itself.
    """
    customer = collaboration.customer
    return (
        customer.kind == CustomerKind.DOCUMENTS
        and customer.created_by_partner_id == collaboration.partner_id
        and collaboration.status == CollaborationStatus.ACTIVE
        and customer.taken_over_at is None
        and not Collaboration.objects.filter(customer_id=customer.pk)
        .exclude(partner_id=collaboration.partner_id)
        .exists()
    )
