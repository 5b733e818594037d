"""Scalar subqueries written as SQL, for the list pages that annotate every row.

Mina samarbeten annotates each customer with its primary contact and the other apps' counts
(customers.badges): nine correlated subqueries. Built with Subquery/OuterRef, the ORM spent about
11 ms of the page's 29 ms building and compiling them on every request, and PostgreSQL 1.5 ms
planning their GROUP BY wrappers (bench/pages.py, issue 16); as RawSQL they cost well under a
millisecond. The SQL is plain enough for PostgreSQL and SQLite alike.

`outer(Model, "column")` names a column of the outer query's table, which Django leaves
unaliased in a top-level query: a subquery built here belongs in the SELECT of a queryset of that
model, not inside another subquery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.db.models.expressions import RawSQL


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def outer(model: type[models.Model], column: str) -> str:
    """The outer query's `model`.`column`, quoted."""
    return f"{table(model)}.{connection.ops.quote_name(column)}"


def moment(value: dt.datetime) -> Any:
    """A datetime parameter as the database compares it (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def scalar(sql: str, params: Sequence[Any], output_field: models.Field[Any, Any]) -> RawSQL:
    """`(sql)` as an annotation: a subquery returning one value per row."""
    # The SQL is the caller's constant text with quoted names (table, outer); values go as params.
    return RawSQL(f"({sql})", tuple(params), output_field=output_field)  # noqa: S611
