"""How common each trigram of the documents' search names is, from PostgreSQL's statistics: what
documents.selectors._match needs to ask the trigram index for the rarest trigram of each
word of a search rather than for every one of them.

A GIN index answers a search by reading the posting list of every trigram it is asked for, so its
cost is the sum of those lists' lengths, while the rows it can return are bounded by the shortest
list. For "kontoutdrag 0042" at 500,000 documents the nine trigrams of "kontoutdrag" are in a
tenth of all names each: asked for every trigram of both words the index read 570,000 entries in
3.4 ms, asked for the rarest of each ("tou", "042") 60,000 in 0.75 ms, and the same 1,001 rows
(plus one, removed by the check of the whole text) came out (bench/pages.py, issue 16).

The rarest trigram is not always enough: every trigram of "0004" is in a fifth of the bench's
names ("000", "004"), while the word itself is in one in fifty. Whether asking for a word whole
keeps out enough rows to pay for its other trigrams' lists depends on how common the word is,
which its trigrams cannot tell ("042" is in as many names as "0042"). So the words of the names
have statistics too: ANALYZE's element statistics of the names split into words.

The frequencies are ANALYZE's element statistics of show_trgm(search_name) and of
regexp_split_to_array(search_name, WORD_SEPARATOR) (the extended statistics objects of migrations
documents 0005 and 0008), read once per process every STATISTICS_TTL seconds. Without both (SQLite,
PostgreSQL before 14, a table not analysed yet, a role that may not read them) there are none,
and a search asks for every word whole, as before.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from django.db import connection

from portal.memo import remember

STATISTICS_NAME = "document_search_name_trigrams"
WORDS_STATISTICS_NAME = "document_search_name_words"
# What separates the words of a name in WORDS_STATISTICS_NAME's expression: anything but letters
# and digits, as documents.selectors._WORD finds a query's words (migration documents 0008).
WORD_SEPARATOR = "[^[:alnum:]]+"
# ANALYZE runs when autovacuum finds a tenth of the table changed: minutes are fresh enough for
# a choice that only makes a search cheaper or dearer, never different.
STATISTICS_TTL = 600.0

_STATISTICS_SQL = (
    "SELECT statistics_name, most_common_elems::text::text[], most_common_elem_freqs"
    " FROM pg_stats_ext_exprs WHERE statistics_schemaname = current_schema() AND statistics_name IN (%s, %s)"
)


@dataclass(frozen=True)
class Frequencies:
    """The share of names that contain each common trigram; `rare`, the lowest share listed, for
    every trigram that is not (ANALYZE lists the most common ones only). `words`: the share of
    names that have each common word (letters and digits between other characters)."""

    common: dict[str, float]
    rare: float
    words: dict[str, float] = field(default_factory=dict)
    _word_shares: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def of(self, trigram: str) -> float:
        return self.common.get(trigram, self.rare)

    def word(self, text: str) -> float | None:
        """About the share of names that contain `text` (a word of a query, search_name's form):
        the shares of the common words it is part of, added up (at most 1); None if it is part of
        none of them, which tells nothing (it may be part of many words too rare to be listed).
        Remembered: the listed words are read once for each word searched for."""
        return remember(self._word_shares, text, lambda: self._listed_share(text)) or None

    def _listed_share(self, text: str) -> float:
        return min(1.0, sum(share for word, share in self.words.items() if text in word))


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
        cursor.execute(_STATISTICS_SQL, [STATISTICS_NAME, WORDS_STATISTICS_NAME])
        rows = {name: (elements, shares) for name, elements, shares in cursor.fetchall()}
    trigram_row, word_row = rows.get(STATISTICS_NAME), rows.get(WORDS_STATISTICS_NAME)
    if trigram_row is None or word_row is None or None in (*trigram_row, *word_row):
        return None  # one of them not analysed yet (or dropped): both or neither
    trigram_shares, trigram_rare = _shares(*trigram_row)
    word_shares, _lowest = _shares(*word_row)
    return Frequencies(common=trigram_shares, rare=trigram_rare, words=word_shares)


def _shares(elements: list[str], shares: list[float]) -> tuple[dict[str, float], float]:
    """Each listed element's share, and the lowest share listed: most_common_elem_freqs ends with
    the lowest and highest of the shares listed and the share of empty arrays (PostgreSQL's
    pg_stats documentation)."""
    return dict(zip(elements, shares[: len(elements)], strict=True)), shares[len(elements)]
