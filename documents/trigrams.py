"""How common each trigram of the documents' search names is, from PostgreSQL's statistics: what
documents.selectors._match needs to ask the trigram index for the rarest trigram of each
word of a search rather than for every one of them.

A GIN index answers a search by reading the posting list of every trigram it is asked for, so its
cost is the sum of those lists' lengths, while the rows it can return are bounded by the shortest
list. For "kontoutdrag 0042" at 500,000 documents the nine trigrams of "kontoutdrag" are in a
tenth of all names each: asked for every trigram of both words the index read 570,000 entries in
3.4 ms, asked for the rarest of each ("tou", "042") 60,000 in 0.75 ms, and the same 1,001 rows
(plus one, removed by the check of the whole text) came out (bench/pages.py, issue 16).

The frequencies are ANALYZE's element statistics of show_trgm(search_name) (the extended
statistics object of migration documents 0005), read once per process every STATISTICS_TTL
seconds. Without them (SQLite, PostgreSQL before 14, a table not analysed yet, a role that may not
read them) there are none, and a search asks for every trigram, as before.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db import connection

STATISTICS_NAME = "document_search_name_trigrams"
# ANALYZE runs when autovacuum finds a tenth of the table changed: minutes are fresh enough for
# a choice that only makes a search cheaper or dearer, never different.
STATISTICS_TTL = 600.0

_STATISTICS_SQL = (
    "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats_ext_exprs"
    " WHERE statistics_schemaname = current_schema() AND statistics_name = %s"
)


@dataclass(frozen=True)
class Frequencies:
    """The share of names that contain each common trigram; `rare`, the lowest share listed, for
    every trigram that is not (ANALYZE lists the most common ones only)."""

    common: dict[str, float]
    rare: float

    def of(self, trigram: str) -> float:
        return self.common.get(trigram, self.rare)


_lock = threading.Lock()
_cached: tuple[float, Frequencies | None] | None = None


def frequencies() -> Frequencies | None:
    """The current statistics, or None where there are none. One query per process every
    STATISTICS_TTL seconds, sent outside Django's query log (as portal.sql.Prepared's PREPARE), so
    that a page's query count does not depend on whether its process has searched lately."""
    global _cached
    if connection.vendor != "postgresql":
        return None
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < STATISTICS_TTL:
        return cached[1]
    with _lock:
        cached = _cached
        if cached is not None and now - cached[0] < STATISTICS_TTL:
            return cached[1]
        loaded = _load()
        _cached = (time.monotonic(), loaded)
        return loaded


def forget() -> None:
    """Read the statistics again at the next search (tests, after an ANALYZE)."""
    global _cached
    _cached = None


def _load() -> Frequencies | None:
    connection.ensure_connection()
    if connection.pg_version < 140000:  # type: ignore[attr-defined]  # no statistics on expressions
        return None
    # Through Django's error wrapper, as every query is: a server gone meanwhile raises django.db's
    # OperationalError (the 503 page's) and marks the connection as failed.
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.execute(_STATISTICS_SQL, [STATISTICS_NAME])
        row = cursor.fetchone()
    if row is None or row[0] is None or row[1] is None:
        return None
    elements, shares = row
    # most_common_elem_freqs ends with the lowest and highest of the shares listed and the share of
    # empty arrays (PostgreSQL's pg_stats documentation).
    common = dict(zip(elements, shares[: len(elements)], strict=True))
    return Frequencies(common=common, rare=shares[len(elements)])
