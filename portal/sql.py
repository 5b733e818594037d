"""SQL written by hand where the ORM's own cost dominates a page: scalar subqueries for the list
pages that annotate every row, and statements prepared once per connection (Prepared).

Mina samarbeten annotates each customer with its primary contact and the other apps' counts
(customers.badges): nine correlated subqueries. Built with Subquery/OuterRef, the ORM spent about
11 ms of the page's 29 ms building and compiling them on every request, and PostgreSQL 1.5 ms
planning their GROUP BY wrappers (bench/pages.py, issue 16); as RawSQL they cost well under a
millisecond. The SQL is plain enough for PostgreSQL and SQLite alike.

`outer(Model, "column")` names a column of the outer query's table, which Django leaves
unaliased in a top-level query: a subquery built here belongs in the SELECT of a queryset of that
model (or of a statement naming that table unaliased, as customers.selectors.PartnerCustomers'),
not inside another subquery.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models.expressions import RawSQL


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def outer(model: type[models.Model], column: str) -> str:
    """The outer query's `model`.`column`, quoted."""
    return f"{table(model)}.{connection.ops.quote_name(column)}"


def column(alias: str, model: type[models.Model], name: str) -> str:
    """The column of `model`'s field `name` ("pk" for the primary key) under the table alias
    `alias`, quoted."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return f"{alias}.{connection.ops.quote_name(str(field.column))}"  # type: ignore[union-attr]


def joined(alias: str, model: type[models.Model], other: str) -> str:
    """`model`'s table as `alias`, joined on its primary key being `other` (a column()): what
    follows INNER JOIN or LEFT OUTER JOIN."""
    return f"{table(model)} {alias} ON {column(alias, model, 'pk')} = {other}"


def moment(value: dt.datetime) -> Any:
    """A datetime parameter as the database compares it (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def scalar(sql: str, params: Sequence[Any], output_field: models.Field[Any, Any]) -> RawSQL:
    """`(sql)` as an annotation: a subquery returning one value per row."""
    # The SQL is the caller's constant text with quoted names (table, outer); values go as params.
    return RawSQL(f"({sql})", tuple(params), output_field=output_field)  # noqa: S611


# --- Prepared statements ------------------------------------------------------------------------

# The names prepared on each open PostgreSQL connection (the DB-API object: a reconnect starts
# empty, and so does the server's session).
_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Prepared:
    """A fixed SELECT that PostgreSQL parses and plans once per connection (PREPARE, then EXECUTE
    name(params)), for a query on every page whose planning costs more than running it: the folder
    of a folder page with its collaboration, firm, customer and top-level folder joined is 0.9 ms
    of planning against 0.2 ms of execution, and compiling it with the ORM 1.2 ms more
    (bench/pages.py, issue 16). Elsewhere (SQLite) the statement runs as it is.

    `make_sql` gives the statement with %s placeholders, built once on first use (from model
    metadata: the apps must be loaded). The PREPARE goes straight to the connection, outside
    Django's query log, so that a page's query count does not depend on whether its connection
    has served the page before; the EXECUTE is an ordinary, logged query. A prepared statement
    belongs to the database session, not to a transaction: a rollback does not undo it. It does
    not survive a connection pooler that hands sessions around by transaction (PgBouncer's
    transaction mode), which this portal does not use (docker-compose.yml connects directly):
    behind one, PORTAL_DB_PREPARED_STATEMENTS=false runs the statement as it is.
    """

    def __init__(self, name: str, make_sql: Callable[[], str]) -> None:
        if not _NAME.match(name):
            raise ValueError(f"not a statement name: {name!r}")
        self.name = name
        self._make_sql = make_sql
        self._sql: str | None = None

    @property
    def sql(self) -> str:
        if self._sql is None:
            self._sql = self._make_sql()
        return self._sql

    def fetchone(self, params: Sequence[Any]) -> tuple[Any, ...] | None:
        with connection.cursor() as cursor:
            self._execute(cursor, params)
            return cursor.fetchone()

    def fetchall(self, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            self._execute(cursor, params)
            return cursor.fetchall()

    def _execute(self, cursor: Any, params: Sequence[Any]) -> None:
        if connection.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
            cursor.execute(self.sql, params)
            return
        raw = connection.connection
        names = _prepared.setdefault(raw, set())
        if self.name not in names:
            numbered = iter(range(1, len(params) + 1))
            body = re.sub("%s", lambda _m: f"${next(numbered)}", self.sql)
            # Through Django's error wrapper, as every query is: a server gone meanwhile (a
            # restart, a failover) raises django.db's OperationalError, the 503 page's, and marks
            # the connection as failed so that it is closed rather than reused.
            with connection.wrap_database_errors:
                raw.execute(f"PREPARE {self.name} AS {body}").close()
            names.add(self.name)
        placeholders = ", ".join(["%s"] * len(params))
        cursor.execute(f"EXECUTE {self.name}({placeholders})", params)


@functools.lru_cache(maxsize=256)
def prepared(statement: str) -> Prepared:
    """A Prepared for a statement built at run time from a bounded set of shapes (the partner
    search's, documents.selectors.FoundAtPartner; Mina samarbeten's, customers.selectors.
    PartnerCustomers), named after a digest of its text: the same text
    is the same statement on every connection, another text another one. The text holds names and
    placeholders only, never values."""
    digest = hashlib.blake2b(statement.encode(), digest_size=12).hexdigest()
    return Prepared(f"portal_q_{digest}", lambda: statement)


def select_columns(model: type[models.Model], alias: str) -> str:
    """Every concrete column of `model` under the table alias `alias`, in field order, as
    row_instances reads them."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def row_columns(models_in_row: Sequence[type[models.Model]], aliases: str) -> str:
    """select_columns of each model of `models_in_row` under its one-letter alias in `aliases`,
    side by side: the row row_instances reads back."""
    return ", ".join(select_columns(m, a) for m, a in zip(models_in_row, aliases, strict=True))


def row_instances(
    models_in_row: Sequence[type[models.Model]], row: Sequence[Any]
) -> list[models.Model | None]:
    """One instance per model of `models_in_row` from a row of their select_columns side by side,
    with the database's conversions applied (SQLite's datetimes, booleans), as the ORM makes them;
    None for a model whose primary key is NULL (a LEFT JOIN that found nothing)."""
    made: list[models.Model | None] = []
    start = 0
    for model in models_in_row:
        attnames, pk_index, converters = _reading(model, connection.vendor)
        values = list(row[start : start + len(attnames)])
        start += len(attnames)
        for i, col, convert in converters:
            values[i] = convert(values[i], col, connection)
        if values[pk_index] is None:
            made.append(None)
        else:
            made.append(model.from_db(connection.alias, attnames, values))
    return made


@functools.cache
def _reading(model: type[models.Model], vendor: str) -> tuple[list[str], int, list[tuple[int, Any, Any]]]:
    """How row_instances reads `model` on `vendor`: its fields' attribute names, the primary key's
    place, and the conversions (place, column, function) the ORM would apply."""
    fields = model._meta.concrete_fields
    converters: list[tuple[int, Any, Any]] = []
    for i, field in enumerate(fields):
        col = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)  # type: ignore[attr-defined]
        converters.extend((i, col, convert) for convert in found)
    return [f.attname for f in fields], fields.index(model._meta.pk), converters
