"""What apps above customers show on the collaboration lists; customers imports none of them.

Mina samarbeten (the firm's customer list) has a column per contributing app: signing's signings
that need attention, docrequests' open requests. The app gives the annotations of the page's
collaborations: scalar subqueries (so the list costs no extra query whatever its length) written
as SQL with portal.sql.scalar, naming the collaboration's table unaliased (portal.sql.outer),
which the page's prepared statement puts in its own SELECT (customers.selectors.PartnerCustomers);
and it names the partial that renders one row's cell from them (`c` is the collaboration), for
the rows `shows` says have anything (customers.rows).

Samarbeten (the customer's list of firms) has a section per contributing app above the firms:
the signings waiting on the user, the document requests asking the user. The app gives a boolean
for annotating the collaborations, and the section's items, loaded (in one query) only when some
collaboration has any; the partial reads them under the section's name.

Each app registers in its AppConfig.ready(), as customers.hooks does for ending a collaboration;
the order is INSTALLED_APPS'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Expression, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.functional import Promise

from customers.models import Collaboration


@dataclass(frozen=True)
class PartnerColumn:
    heading: str | Promise  # the column's heading and each cell's label (lazily translated)
    template: str  # renders one row's cell; `c` is the annotated collaboration
    # annotations(user=...) -> {name: portal.sql.scalar(...)}: what the template reads
    annotations: Callable[..., dict[str, RawSQL]]
    # shows(c): whether the row has anything for this column; without, the cell is a dash and the
    # template is not rendered (customers.rows: most rows have nothing)
    shows: Callable[[Collaboration], bool]


@dataclass(frozen=True)
class CustomerSection:
    name: str  # the template's variable holding the items
    template: str  # renders the section (nothing when the items are empty)
    exists: Callable[..., Expression]  # exists(user=...): a boolean, for annotating collaborations
    items: Callable[..., Iterable[Any]]  # items(user=..., collaboration_ids=[...])


_columns: list[PartnerColumn] = []
_sections: list[CustomerSection] = []


def register_partner_column(column: PartnerColumn) -> None:
    if column not in _columns:
        _columns.append(column)


def register_customer_section(section: CustomerSection) -> None:
    if section not in _sections:
        _sections.append(section)


def partner_columns() -> list[PartnerColumn]:
    return list(_columns)


def partner_annotations(*, user: Any) -> tuple[tuple[str, RawSQL], ...]:
    """Every registered column's annotations, in order (customers.selectors.PartnerCustomers)."""
    return tuple(item for column in _columns for item in column.annotations(user=user).items())


def customer_sections(
    collaborations: QuerySet[Collaboration], *, user: Any
) -> tuple[list[Collaboration], dict[str, Any]]:
    """The collaborations (evaluated, one query) and each registered section's items by name; a
    section's items are read only when some collaboration has any. Also `sections`: the partials
    to include, in order."""
    flags = {f"has_{section.name}": section.exists(user=user) for section in _sections}
    rows = list(collaborations.annotate(**flags))
    ids = [c.pk for c in rows]
    context: dict[str, Any] = {"sections": [section.template for section in _sections]}
    for section in _sections:
        wanted = any(getattr(c, f"has_{section.name}") for c in rows)
        context[section.name] = list(section.items(user=user, collaboration_ids=ids)) if wanted else []
    return rows, context
