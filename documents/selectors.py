"""Reads for folders and documents. Each takes the acting user; access to the collaboration or
folder was decided by documents.access before these are called."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import (
    Collaboration,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerAccount,
    CustomerMembership,
)
from customers.selectors import OPEN_STATUSES, partner_user_scope, partner_user_scope_sql
from documents import trigrams
from documents.access import (
    customer_membership,
    visible_root_ids,
    visible_root_ids_at_customer,
)
from documents.models import (
    Audience,
    CustomerAccess,
    Document,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
    path_ids,
)
from documents.names import search_key
from partners.models import Partner, PartnerMembership, PartnerRole
from portal import sql
from portal.context import Organisation
from portal.memo import remember
from portal.models import AuditEvent, User

SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "date": ("updated_at", "pk"),
    "-date": ("-updated_at", "-pk"),
    "size": ("current_version__size", "pk"),
    "-size": ("-current_version__size", "-pk"),
}


def _folders_of_sql() -> str:
    """Every live folder of one collaboration (the parameter), by path, as
    Folder.objects.filter(collaboration=...).order_by("path") reads it: the folder list of both
    sides (folders_visible_to)."""
    c = sql.column
    return (
        f"SELECT {sql.select_columns(Folder, 'f')} FROM {sql.table(Folder)} f"  # noqa: S608 -- names from the model, quoted; the value a parameter
        f" WHERE {c('f', Folder, 'collaboration')} = %s AND {c('f', Folder, 'deleted_at')} IS NULL"
        f" ORDER BY {c('f', Folder, 'path')}"
    )


# Prepared once per connection (portal.sql.Prepared): on every folder and root page of either
# side, where compiling the queryset cost more than running it.
_FOLDERS_OF = sql.Prepared("portal_documents_folders_of", _folders_of_sql)


def folders_visible_to(
    *, user: User, collaboration: Collaboration, rights_side: str, root_ids: Sequence[int] | None = None
) -> list[Folder]:
    """Every folder of the collaboration the user may see, by path: all of them on the partner
    side, the granted ones on the customer side. `root_ids`, when the caller has them from
    rights_for (FolderRights.visible_root_ids), saves working them out again.

    One query on either side (_FOLDERS_OF, prepared). Each folder's `root` is read without a
    query: it is one of the list (whoever sees a folder sees its top-level folder), linked here
    rather than joined, which made a second model instance of every row (about a millisecond of a
    folder page's Python, bench/pages.py)."""
    if rights_side != "partner" and root_ids is None:
        membership = customer_membership(user, collaboration)
        root_ids = visible_root_ids(user=user, collaboration=collaboration, membership=membership)
    rows = _FOLDERS_OF.fetchall([collaboration.pk])
    folders = [f for (f,) in (sql.row_instances((Folder,), row) for row in rows) if isinstance(f, Folder)]
    if rights_side != "partner":
        # Only what is under the visible top-level folders. The collaboration's folders are read
        # by the same prepared statement as on the partner side (a collaboration has tens of
        # them, not thousands), and kept here.
        visible = set(root_ids or ())
        folders = [f for f in folders if f.root_id in visible]
    by_id = {f.pk: f for f in folders}
    root_field = Folder._meta.get_field("root")
    for f in folders:
        root = by_id.get(f.root_id) if f.root_id is not None else None
        if root is not None:
            root_field.set_cached_value(f, root)
    return folders


@dataclass
class FolderNode:
    folder: Folder
    children: list[FolderNode] = field(default_factory=list)


def folder_tree(folders: QuerySet[Folder] | list[Folder]) -> list[FolderNode]:
    """Nest a flat folder list (from one query) into a tree, sorted by name at each level.
    A folder whose parent is not in the list (not visible) is shown at the top."""
    nodes = {f.pk: FolderNode(f) for f in folders}
    roots: list[FolderNode] = []
    for node in nodes.values():
        parent = nodes.get(node.folder.parent_id) if node.folder.parent_id else None
        (parent.children if parent else roots).append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: n.folder.name.lower())
    roots.sort(key=lambda n: n.folder.name.lower())
    return roots


def documents_in(*, folder: Folder, sort: str = "name") -> QuerySet[Document]:
    """The folder's live documents with their current version and uploader: a constant number of
    queries whatever the number of rows."""
    order = SORTS.get(sort, SORTS["name"])
    return (
        Document.objects.filter(folder=folder, deleted_at__isnull=True)
        .select_related("current_version", "current_version__uploaded_by")
        .order_by(*order)
    )


class FileRow(NamedTuple):
    """What a row of a folder's file list shows (documents.views.partner._file_row); the same
    names as views.partner.file_rows' tuples."""

    pk: int
    name: str
    version_count: int
    updated_at: dt.datetime
    version_id: int | None
    version_size: int | None
    version_type: str | None
    version_preview: str | None
    version_by_customer: bool | None
    uploader_name: str | None
    uploader_email: str | None


# How each sort orders the rows below (SORTS, in the {column} names of _file_rows_sql).
_FILE_ORDER = {
    "name": "{name} ASC, {id} ASC",
    "-name": "{name} DESC, {id} DESC",
    "date": "{updated_at} ASC, {id} ASC",
    "-date": "{updated_at} DESC, {id} DESC",
    "size": "{size} ASC, {id} ASC",
    "-size": "{size} DESC, {id} DESC",
}


def _file_rows_sql(tail: str) -> str:
    """FileRow for the live documents of one folder (the first parameter), then `tail`: more
    conditions, the order and the limit, naming the columns {id}, {name}, {updated_at}, {size}."""
    c = sql.column
    columns = ", ".join(
        [
            c("d", Document, "pk"),
            c("d", Document, "name"),
            c("d", Document, "version_count"),
            c("d", Document, "updated_at"),
            c("d", Document, "current_version"),
            c("v", DocumentVersion, "size"),
            c("v", DocumentVersion, "content_type"),
            c("v", DocumentVersion, "preview_status"),
            c("v", DocumentVersion, "uploaded_by_customer"),
            c("u", User, "name"),
            c("u", User, "email"),
        ]
    )
    names = {
        "id": c("d", Document, "pk"),
        "name": c("d", Document, "name"),
        "updated_at": c("d", Document, "updated_at"),
        "size": c("v", DocumentVersion, "size"),
    }
    return (
        f"SELECT {columns} FROM {sql.table(Document)} d"  # noqa: S608 -- names from the models, quoted; values are parameters
        f" LEFT OUTER JOIN {sql.joined('v', DocumentVersion, c('d', Document, 'current_version'))}"
        f" LEFT OUTER JOIN {sql.joined('u', User, c('v', DocumentVersion, 'uploaded_by'))}"
        f" WHERE {c('d', Document, 'folder')} = %s AND {c('d', Document, 'deleted_at')} IS NULL "
        + tail.format(**names)
    )


def _file_statement(key: str, tail: str) -> sql.Prepared:
    return sql.Prepared(f"portal_documents_file_rows_{key}", lambda: _file_rows_sql(tail))


# Prepared once per connection (portal.sql.Prepared), on every folder page of either side: the
# page of rows by each sort (LIMIT, OFFSET), the rows past a name cursor walking up or down
# (documents.paging: name, name, name, id, limit), and the count. Through the ORM, compiling them
# cost about as much as running them (1.1 of 2.1 ms; bench/pages.py, issue 16).
_FILE_PAGE = {
    sort: _file_statement(sort.replace("-", "desc_"), f"ORDER BY {order} LIMIT %s OFFSET %s")
    for sort, order in _FILE_ORDER.items()
}
_FILE_BEYOND = {
    descending: _file_statement(
        "down" if descending else "up",
        f"AND {{name}} {'<=' if descending else '>='} %s"
        f" AND ({{name}} {'<' if descending else '>'} %s"
        f" OR ({{name}} = %s AND {{id}} {'<' if descending else '>'} %s))"
        f" ORDER BY {_FILE_ORDER['-name' if descending else 'name']} LIMIT %s",
    )
    for descending in (False, True)
}


def _file_count_sql() -> str:
    c = sql.column
    return (
        f"SELECT COUNT(*) FROM {sql.table(Document)} d"  # noqa: S608 -- names from the model, quoted; the folder a parameter
        f" WHERE {c('d', Document, 'folder')} = %s AND {c('d', Document, 'deleted_at')} IS NULL"
    )


_FILE_COUNT = sql.Prepared("portal_documents_file_count", _file_count_sql)


class PreparedFileSource:
    """A folder's file rows for documents.paging.file_page, as FileRows, read through the
    statements above: what documents_in(folder, sort) through views.partner.file_rows reads
    (PostgreSQL; views.partner.file_source picks it)."""

    def __init__(self, folder_id: int, sort: str) -> None:
        self.folder_id = folder_id
        self.sort = sort if sort in _FILE_ORDER else "name"

    def count(self) -> int:
        row = _FILE_COUNT.fetchone([self.folder_id])
        return int(row[0]) if row else 0

    def slice(self, offset: int, limit: int) -> list[FileRow]:
        rows = _FILE_PAGE[self.sort].fetchall([self.folder_id, limit, offset])
        return [FileRow(*row) for row in rows]

    def beyond(self, cursor: tuple[str, int], *, backwards: bool, limit: int) -> list[FileRow]:
        name, pk = cursor
        descending = (self.sort == "-name") != backwards
        rows = _FILE_BEYOND[descending].fetchall([self.folder_id, name, name, name, pk, limit])
        return [FileRow(*row) for row in rows]


def versions_of(*, document: Document) -> QuerySet[DocumentVersion]:
    return (
        DocumentVersion.objects.filter(document=document)
        .select_related("uploaded_by", "deleted_by")
        .order_by("-number")
    )


@dataclass(frozen=True)
class FolderContents:
    folders: int
    documents: int
    bytes: int


def folder_contents(*, folder: Folder) -> FolderContents:
    """What deleting `folder` would take with it: subfolders, live documents and their stored bytes."""
    subtree = Folder.objects.filter(path__startswith=folder.path)
    docs = Document.objects.filter(folder__in=subtree, deleted_at__isnull=True)
    stored = DocumentVersion.objects.filter(document__in=docs, deleted_at__isnull=True).aggregate(
        total=Sum("size")
    )
    return FolderContents(folders=subtree.count() - 1, documents=docs.count(), bytes=stored["total"] or 0)


@dataclass(frozen=True)
class AccessState:
    audience: str
    selected_user_ids: frozenset[int]


def folder_access_state(*, folder: Folder) -> AccessState:
    root = folder.root or folder
    selected = FolderUserObjectPermission.objects.filter(
        content_object=root, permission__codename="view_folder"
    ).values_list("user_id", flat=True)
    return AccessState(audience=root.audience, selected_user_ids=frozenset(selected))


def customer_users_for_access(*, collaboration: Collaboration) -> QuerySet[CustomerMembership]:
    return (
        CustomerMembership.objects.filter(customer_id=collaboration.customer_id)
        .select_related("user")
        .order_by("-is_primary_contact", "user__name")
    )


def audit_events(
    *,
    collaboration: Collaboration,
    action: str = "",
    actor_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """The collaboration's log, newest first; `date_from` and `date_to` are days in the portal's
    time zone, both included (bounds on created_at itself, so the index on it serves them)."""
    qs = AuditEvent.objects.filter(collaboration_id=collaboration.pk).select_related("actor")
    if action:
        qs = qs.filter(action=action)
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if date_from:
        qs = qs.filter(created_at__gte=_start_of(date_from))
    if date_to:
        qs = qs.filter(created_at__lt=_start_of(date_to + dt.timedelta(days=1)))
    return qs.order_by("-created_at", "-pk")


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audience_label(folder: Folder) -> str:
    root = folder.root or folder
    if root.customer_access == CustomerAccess.NONE:
        return str(CustomerAccess.NONE.label)
    return str(Audience(root.audience).label)


def people_in_log(*, collaboration: Collaboration) -> list[tuple[str, list[tuple[int, str]]]]:
    """The partner's staff and the customer's users who appear in the collaboration's log, grouped
    for the log's "person" filter; people no longer at either are listed apart."""
    people = (
        User.objects.filter(
            pk__in=AuditEvent.objects.filter(collaboration_id=collaboration.pk).values("actor_id")
        )
        .annotate(
            at_partner=Exists(
                PartnerMembership.objects.filter(partner_id=collaboration.partner_id, user=OuterRef("pk"))
            ),
            at_customer=Exists(
                CustomerMembership.objects.filter(customer_id=collaboration.customer_id, user=OuterRef("pk"))
            ),
        )
        .order_by("name", "email")
    )
    staff: list[tuple[int, str]] = []
    customer: list[tuple[int, str]] = []
    others: list[tuple[int, str]] = []
    for person in people:
        entry = (person.pk, person.get_full_name())
        if person.at_partner:
            staff.append(entry)
        elif person.at_customer:
            customer.append(entry)
        else:
            others.append(entry)
    return [
        (_("At %(name)s") % {"name": collaboration.partner.name}, staff),
        (_("At %(name)s") % {"name": collaboration.customer.name}, customer),
        (_("No longer a member"), others),
    ]


def folder_audience(folder: Folder, *, customer_only: bool = False) -> QuerySet[User]:
    """Everyone who may see `folder` now, in one query: the same people documents.access.rights_for
    lets in (tests/documents/test_audience.py holds the two together). For notifications, which
    must never tell anyone about a folder they cannot see.

    Partner side: the partner's account administrators and the staff assigned to the customer,
    while the collaboration is open. Customer side, while it is active and the top-level folder
    gives the customer access: the users selected on it, every user of the customer when it is
    shared with all of them, and the primary contact where they manage access. `customer_only`
    leaves the partner side out.
    """
    collaboration = folder.collaboration
    root = folder.root or folder
    if collaboration.status not in OPEN_STATUSES:
        return User.objects.none()
    partner_side = (
        Q(pk__in=[])
        if customer_only
        else Q(
            partner_memberships__partner_id=collaboration.partner_id,
            partner_memberships__role=PartnerRole.ADMIN,
        )
        | Q(
            pk__in=CollaborationUserObjectPermission.objects.filter(
                content_object_id=collaboration.pk, permission__codename="work_with_customer"
            ).values("user_id"),
            partner_memberships__partner_id=collaboration.partner_id,
        )
    )
    audience = partner_side
    if collaboration.status == CollaborationStatus.ACTIVE and root.customer_access != CustomerAccess.NONE:
        members = CustomerMembership.objects.filter(customer_id=collaboration.customer_id)
        selected = FolderUserObjectPermission.objects.filter(
            content_object_id=root.pk, permission__codename="view_folder"
        ).values("user_id")
        customer_side = Q(pk__in=selected)
        if FolderGroupObjectPermission.objects.filter(
            content_object_id=root.pk, permission__codename="view_folder"
        ).exists():
            customer_side |= Q(pk__in=members.values("user_id"))
        if root.primary_contact_manages:
            customer_side |= Q(pk__in=members.filter(is_primary_contact=True).values("user_id"))
        audience |= Q(pk__in=members.values("user_id")) & customer_side
    return User.objects.filter(audience, is_active=True).distinct()


# --- Search ---------------------------------------------------------------------------------

# Shorter queries match nearly everything and cannot use the trigram index.
SEARCH_MIN_LENGTH = 2


# Runs of letters and digits: what pg_trgm makes trigrams of.
_WORD = re.compile(r"[^\W_]+")
# A trigram pg_trgm keeps as it is (three bytes) and show_trgm shows as it is: documents.trigrams
# has the statistics of these; a trigram of other letters is hashed there.
_PLAIN_TRIGRAM = re.compile(r"[a-z0-9]{3}")


# Reading one entry of a trigram's posting list costs about a 150th of checking a row the index
# returns (PostgreSQL 15, bench data: 570,000 entries in 3.4 ms, 1,001 rows in 0.9 ms).
_ROW_COST_IN_ENTRIES = 150


def _index_patterns(words: list[str], frequencies: trigrams.Frequencies | None) -> list[str]:
    """What to ask the trigram index for, each pattern to be matched as a substring; every one is
    part of a word of the query, so a name that contains the query contains all of them.

    For each word its rarest trigram by `frequencies` (the first of equals), or the word whole
    where that keeps out more than it costs. A GIN scan reads the posting list of every trigram it
    is asked for: a word whole costs its other trigrams' lists, and saves the rows its rarest
    trigram lets through that the word does not, each worth _ROW_COST_IN_ENTRIES entries (the
    shares of the words multiplied, as if they were independent). How many names a word is in
    comes from the statistics of the names' words (Frequencies.word). A word they do not tell of
    is taken to keep out every row, as if it were rare, so it is asked for whole unless its rarest
    trigram is rare too: reading a common trigram's rows by mistake costs far more than reading a
    few lists. Starting from every word by its rarest trigram, the word that saves the most is
    asked for whole, and again while one saves anything.

    At 500,000 documents (bench_seed): "kontoutdrag 0042" by "kon" and "042" (each word in as many
    names as its rarest trigram); "kontoutdrag 0004" by "kon" and "0004" ("000" and "004" are
    each in a fifth of the names, "0004" in one in fifty: the statement took 20 ms by "kon" and
    "000", 6.9 by every trigram, 3.8 so); "faktura" alone by "fak" (the index 7.3 -> 2.9 ms of
    about 40, most of them the heap and the sort of its 50,050 rows). Without statistics every word
    is asked for whole. Words without a trigram of plain letters and digits (pg_trgm hashes others:
    they have no statistics here) are always asked for whole."""
    if frequencies is None:
        return list(dict.fromkeys(words))
    rarest: dict[str, str] = {}
    # Of each word with plain trigrams: the entries its other trigrams add, and what share of the
    # rows its rarest trigram finds the word keeps.
    extra: dict[str, float] = {}
    keeps: dict[str, float] = {}
    entries, rows = 0.0, 1.0
    for word in dict.fromkeys(words):
        plain = [word[i : i + 3] for i in range(len(word) - 2) if _PLAIN_TRIGRAM.fullmatch(word[i : i + 3])]
        if not plain:
            continue
        rarest[word] = min(plain, key=frequencies.of)
        own = frequencies.of(rarest[word])
        entries += own
        rows *= own
        extra[word] = sum(frequencies.of(t) for t in dict.fromkeys(plain)) - own
        share = frequencies.word(word)
        # Not part of a word they list: rarer than the rarest word listed, taken to be as rare as
        # a whole word asked for has always been taken, so that a rare number made of common
        # trigrams (an invoice's) is not read by one of them.
        keeps[word] = min(1.0, share / own) if share is not None and own > 0 else 0.0
    whole: set[str] = set()
    cost = entries + _ROW_COST_IN_ENTRIES * rows
    while True:
        options = [
            (entries + extra[w] + _ROW_COST_IN_ENTRIES * rows * keeps[w], w) for w in rarest if w not in whole
        ]
        best = min(options, default=None)
        if best is None or best[0] >= cost:
            break
        cost, word = best
        whole.add(word)
        entries += extra[word]
        rows *= keeps[word]
    return list(dict.fromkeys(rarest[w] if w in rarest and w not in whole else w for w in words))


@dataclass(frozen=True)
class _Match:
    """How a query is matched: `key`, the query in search_name's form, is a substring of the name;
    the index is asked for each of `patterns` (each a substring of it, LIKE '%pattern%')."""

    key: str
    patterns: list[str]

    @property
    def checks_whole_text(self) -> bool:
        """Whether the patterns alone are not the whole text, which is then checked apart."""
        return self.patterns != [self.key]


def _match(query: str) -> _Match | None:
    """None for a query too short to search."""
    key = search_key(query.strip())
    if len(key) < SEARCH_MIN_LENGTH:
        return None
    words = [w for w in _WORD.findall(key) if len(w) >= 3]
    return _Match(key=key, patterns=_index_patterns(words, trigrams.frequencies()) if words else [key])


def _named(match: _Match) -> QuerySet[Document]:
    """Live documents whose name contains the query of `match` (_match) anywhere, case and accents
    ignored: a substring of search_name, in name order. The caller narrows it to what the user
    may open; FoundAtPartner writes the same conditions into its statement.

    The trigram index (PostgreSQL) is asked for each word of three or more letters, or for the
    rarest trigram of each where that is cheaper (_index_patterns, by documents.trigrams'
    statistics), and the whole text is then checked on the rows it finds (STRPOS, which the index
    does not serve). Asked for the text as one pattern, pg_trgm also looks up the trigrams of the
    words' edges next to a space ("ag ", "  0", " 00" for "kontoutdrag 0042"), which are in nearly
    every name; asked for each word, it reads the posting list of every trigram of it: at 500,000
    documents the index took 8 ms, 3.4 ms and 0.75 ms for the text, its words and their rarest
    trigrams (issue 16). A query without such a word is matched as one pattern, as before."""
    found = Document.objects.filter(deleted_at__isnull=True)
    for pattern in match.patterns:
        found = found.filter(search_name__contains=pattern)
    if match.checks_whole_text:
        found = found.filter(GreaterThan(StrIndex("search_name", Value(match.key)), 0))
    # The rows shown are read by id afterwards (search_rows): the order is all this needs.
    return found.order_by("name", "pk")


class FoundPage(NamedTuple):
    """One page of what a search found: its rows in order, and how many were found, counted up to
    the `counted` the page was asked with (one past the most a search shows tells there are more)."""

    rows: list[SearchRow]
    matches: int


class Found(Protocol):
    """What a search_*_documents found, in its order."""

    def page(self, offset: int, size: int, counted: int) -> FoundPage:
        """The rows from `offset` on, at most `size` of them, among the first `counted` found."""
        ...


class FoundDocuments:
    """A search as a QuerySet, read with the ORM: the ids of the first `counted` in one query (the
    name match runs once a request, not for the count and again for the page), then the page's
    rows by id (search_rows). The ids are kept: a second page of the same request reads no more."""

    def __init__(self, documents: QuerySet[Document]) -> None:
        self.documents = documents
        self._hits: dict[int, list[int]] = {}

    def hits(self, limit: int) -> list[int]:
        """The ids of the first `limit` documents."""
        if limit not in self._hits:
            self._hits[limit] = list(self.documents.values_list("pk", flat=True)[:limit])
        return self._hits[limit]

    def page(self, offset: int, size: int, counted: int) -> FoundPage:
        ids = self.hits(counted)
        return FoundPage(search_rows(ids[offset : offset + size]), len(ids))


@dataclass(frozen=True)
class FoundAtPartner:
    """A partner-side search (search_partner_documents): the live documents matching `match` in
    the customers `user` works with at `partner` (customers.selectors.partner_user_scope, the
    access rule as the ORM writes it), or in the one of `collaboration_id` among them.

    On PostgreSQL a page is one prepared statement (portal.sql.prepared, one per shape of query:
    how many words, whether the whole text is checked apart, the rule's form, one customer or
    all): the matches in name order up to `counted`, how many, and the page's SearchRows with
    their folders' labels (as search_rows reads them). Planning the match, then the rows in a
    query of their own, and reading a thousand ids into Python took about 0.9 ms of a 10 ms page
    (bench/pages.py, issue 16). A statement planned once serves every search of that shape, so
    its plan must suit a common word and a rare one alike, whatever the planner guesses of a
    parameter: the rule is written `(collaboration IN (rule)) IS TRUE`, which PostgreSQL cannot
    turn into a join and evaluates as one hash of the rule's collaborations; left a join, the
    plan made for no value in particular probed the collaborations once per match (nested loop,
    8.7 ms against 4.6 here). The trigram index is the only one that serves the conditions.
    queryset() is the same search as the ORM writes it (SQLite; the tests compare the two)."""

    match: _Match
    user: User
    partner: Organisation
    collaboration_id: int | None = None

    def scope(self) -> QuerySet[Collaboration]:
        return partner_user_scope(user=self.user, partner=self.partner)

    def queryset(self) -> QuerySet[Document]:
        found = _named(self.match).filter(collaboration_id__in=self.scope().order_by().values("pk"))
        if self.collaboration_id is not None:
            found = found.filter(collaboration_id=self.collaboration_id)
        return found

    def page(self, offset: int, size: int, counted: int) -> FoundPage:
        if connection.vendor != "postgresql":
            return FoundDocuments(self.queryset()).page(offset, size, counted)
        statement, params = self._statement()
        rows = sql.prepared(statement).fetchall([*params, counted, offset, size])
        return FoundPage([_search_row(row[1:]) for row in rows], rows[0][0] if rows else 0)

    def _statement(self) -> tuple[str, list[Any]]:
        # The rule compiled once per user (customers.selectors.partner_user_scope_sql).
        scope_sql, scope_params = partner_user_scope_sql(user=self.user, partner=self.partner)
        params: list[Any] = [f"%{connection.ops.prep_for_like_query(p)}%" for p in self.match.patterns]
        if self.match.checks_whole_text:
            params.append(self.match.key)
        params.extend(scope_params)
        if self.collaboration_id is not None:
            params.append(self.collaboration_id)
        shape = (
            len(self.match.patterns),
            self.match.checks_whole_text,
            scope_sql,
            self.collaboration_id is not None,
        )
        return remember(_STATEMENTS, shape, lambda: _partner_statement(*shape)), params


# FoundAtPartner's statements by shape (_partner_statement's arguments): written once, not on
# every search.
_STATEMENTS: dict[tuple[int, bool, str, bool], str] = {}


def _partner_statement(patterns: int, checks_whole_text: bool, scope_sql: str, one_customer: bool) -> str:
    """FoundAtPartner's statement for `patterns` LIKE conditions, then the whole text's STRPOS if
    `checks_whole_text`, the rule's SQL, the one collaboration if `one_customer`, and the first
    `counted`, the offset and the size of the page: its parameters in that order."""
    c = sql.column
    name, collaboration = c("d", Document, "search_name"), c("d", Document, "collaboration")
    conditions = [f"{c('d', Document, 'deleted_at')} IS NULL"]
    conditions.extend([f"{name} LIKE %s"] * patterns)  # as the ORM's __contains
    if checks_whole_text:
        conditions.append(f"STRPOS({name}, %s) > 0")
    conditions.append(f"({collaboration} IN ({scope_sql})) IS TRUE")
    if one_customer:
        conditions.append(f"{collaboration} = %s")
    order = f"{c('d', Document, 'name')}, {c('d', Document, 'pk')}"
    # The first `counted` in name order; of them how many, and the page's ids (the window counts
    # before OFFSET takes the page).
    hits = (
        f"SELECT s.id, s.name, count(*) OVER () AS found FROM ("  # noqa: S608 -- names from the models and the ORM's SQL; values are parameters
        f"SELECT {c('d', Document, 'pk')} AS id, {c('d', Document, 'name')} AS name"
        f" FROM {sql.table(Document)} d WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT %s"
        ") s ORDER BY s.name, s.id OFFSET %s LIMIT %s"
    )
    return (
        f"WITH h AS ({hits}) SELECT h.found, {_search_row_columns()}"  # noqa: S608 -- as above
        f" FROM h INNER JOIN {sql.joined('d', Document, 'h.id')} {_search_row_joins()}"
        " ORDER BY h.name, h.id"
    )


def search_partner_documents(
    *, user: User, partner: Organisation, query: str, collaboration: Collaboration | None = None
) -> Found:
    """Search in the customers the user works with at `partner` (the same ones Mina samarbeten lists
    and customers.access.may_work_with lets in: every open collaboration for an account
    administrator, the assigned ones for staff), or in one of them, `collaboration`. The partner
    side sees every folder of a customer it works with. By the document's own collaboration (its
    folder's, Document.collaboration): joined through the folders, PostgreSQL hashed every folder
    of the firm for each search (10,001 at the bench's 1,000 customers: 1.6 of 5 ms, issue 16)."""
    match = _match(query)
    if match is None:
        return FoundDocuments(Document.objects.none())
    return FoundAtPartner(
        match=match,
        user=user,
        partner=partner,
        collaboration_id=collaboration.pk if collaboration is not None else None,
    )


def search_customer_documents(
    *, user: User, customer: Organisation, query: str, collaboration: Collaboration | None = None
) -> Found:
    """Search in the folders shared with the user (documents.access.visible_root_ids and what is
    under them) across every active collaboration of `customer`, one of the user's customers, or
    in one of those collaborations."""
    match = _match(query)
    if match is None:
        return FoundDocuments(Document.objects.none())  # no query for the folders either
    root_ids = visible_root_ids_at_customer(user=user, customer=customer)
    found = _named(match).filter(folder__root_id__in=root_ids)
    if collaboration is not None:
        found = found.filter(folder__collaboration_id=collaboration.pk)
    return FoundDocuments(found)


class SearchRow(NamedTuple):
    """What a search result row shows. `size` is None for a document without a current version."""

    pk: int
    name: str
    updated_at: dt.datetime
    folder_id: int
    folder_path: str
    folder_name: str
    collaboration_id: int
    customer_name: str
    partner_name: str
    size: int | None
    # "Top / Sub / Leaf": the names along folder_path, "?" for an ancestor deleted (folder_paths).
    folder_label: str


# SearchRow's values that are not the document's own columns, as the ORM reads them (values_list:
# as Document instances with four related ones each it took about 4 ms of a search page's Python,
# bench/pages.py). On PostgreSQL the same row is one prepared statement, _SEARCH_ROWS.
SEARCH_ROW_VALUES = {
    "folder_path": F("folder__path"),
    "folder_name": F("folder__name"),
    "customer_name": F("folder__collaboration__customer__name"),
    "partner_name": F("folder__collaboration__partner__name"),
    "size": F("current_version__size"),
}
# SearchRow's fields but the label in order, as values_list names them after
# annotate(**SEARCH_ROW_VALUES).
SEARCH_ROW_NAMES = (
    "pk",
    "name",
    "updated_at",
    "folder_id",
    "folder_path",
    "folder_name",
    "collaboration_id",
    "customer_name",
    "partner_name",
    "size",
)


def _search_row_columns() -> str:
    """SearchRow's columns, the document's as `d`, joined as _search_row_joins joins the rest (as
    the ORM joins SEARCH_ROW_VALUES); last, the names of the folder's ancestors joined by " / "
    (NULL for a top-level folder), as folder_paths reads them: along the materialised path but its
    last id, the folder's own, "?" for one not live. _search_row reads them back."""
    c = sql.column
    ids = f"string_to_array(btrim({c('f', Folder, 'path')}, '/'), '/')"
    ancestors = (
        f"(SELECT string_agg(COALESCE({c('a', Folder, 'name')}, '?'), ' / ' ORDER BY p.n)"  # noqa: S608 -- names from the models
        f" FROM unnest({ids}) WITH ORDINALITY AS p(id, n)"
        f" LEFT OUTER JOIN {sql.table(Folder)} a"
        f" ON {c('a', Folder, 'pk')} = p.id::bigint AND {c('a', Folder, 'deleted_at')} IS NULL"
        f" WHERE p.n < cardinality({ids}))"
    )
    return ", ".join(
        [
            c("d", Document, "pk"),
            c("d", Document, "name"),
            c("d", Document, "updated_at"),
            c("d", Document, "folder"),
            c("f", Folder, "path"),
            c("f", Folder, "name"),
            c("f", Folder, "collaboration"),
            c("u", CustomerAccount, "name"),
            c("p", Partner, "name"),
            c("v", DocumentVersion, "size"),
            ancestors,
        ]
    )


def _search_row_joins() -> str:
    """The document `d`'s folder, collaboration (the folder's, which is the document's), customer,
    firm and current version (LEFT JOINed: a document may have none), for _search_row_columns."""
    c = sql.column
    return (
        f"INNER JOIN {sql.joined('f', Folder, c('d', Document, 'folder'))}"
        f" INNER JOIN {sql.joined('c', Collaboration, c('f', Folder, 'collaboration'))}"
        f" INNER JOIN {sql.joined('u', CustomerAccount, c('c', Collaboration, 'customer'))}"
        f" INNER JOIN {sql.joined('p', Partner, c('c', Collaboration, 'partner'))}"
        f" LEFT OUTER JOIN {sql.joined('v', DocumentVersion, c('d', Document, 'current_version'))}"
    )


def _search_row(row: Sequence[Any]) -> SearchRow:
    """A SearchRow from _search_row_columns' values: the label is the ancestors' names and the
    folder's own."""
    return SearchRow._make((*row[:-1], f"{row[-1]} / {row[5]}" if row[-1] else row[5]))


def _search_rows_sql() -> str:
    """SearchRow for every document whose id is in the array parameter, in no order."""
    return (
        f"SELECT {_search_row_columns()} FROM {sql.table(Document)} d {_search_row_joins()}"  # noqa: S608 -- names from the models, quoted; the ids a parameter
        f" WHERE {sql.column('d', Document, 'pk')} = ANY(%s)"
    )


# Prepared once per connection (portal.sql.Prepared): on every search page of either side, where
# PostgreSQL planned the six-table join for 1.2 ms to run it in 0.4 (bench/pages.py, issue 16).
# The ancestors' names were a query of their own (folder_paths), 0.4 ms a page.
_SEARCH_ROWS = sql.Prepared("portal_documents_search_rows", _search_rows_sql)


def search_rows(ids: Sequence[int]) -> list[SearchRow]:
    """The documents of `ids` (from FoundDocuments.hits) in that order, as SearchRows. By id alone: the
    name match is not run again. PostgreSQL reads them with _SEARCH_ROWS, folder labels included;
    SQLite, which has no arrays, with the ORM and folder_paths."""
    if not ids:
        return []
    if connection.vendor == "postgresql":
        rows = [_search_row(row) for row in _SEARCH_ROWS.fetchall([list(ids)])]
    else:
        values = list(
            Document.objects.filter(pk__in=ids)
            .annotate(**SEARCH_ROW_VALUES)
            .values_list(*SEARCH_ROW_NAMES)
            .order_by()
        )
        labels = folder_paths([(row[3], row[4], row[5]) for row in values])
        rows = [SearchRow._make((*row, labels[row[3]])) for row in values]
    found = {row.pk: row for row in rows}
    return [found[pk] for pk in ids if pk in found]


def folder_paths(folders: Sequence[tuple[int, str, str]]) -> dict[int, str]:
    """ "Top / Sub / Leaf" for each of `folders`, (id, path, name) triples, reading the names along
    their paths in one query (the folders' own too, so that a page of top-level folders costs the
    same query as any other page; none for no folders). Whoever sees a folder sees its ancestors:
    access is granted on the top-level folder. SQLite's search rows use it; on PostgreSQL
    _SEARCH_ROWS joins the same names itself."""
    chains = {pk: path_ids(path) for pk, path, _name in folders}
    wanted = {pk for chain in chains.values() for pk in chain}
    names = (
        dict(Folder.objects.filter(pk__in=sorted(wanted)).order_by().values_list("pk", "name"))
        if wanted
        else {}
    )
    return {
        pk: " / ".join([*(names.get(a, "?") for a in chains[pk][:-1]), name]) for pk, _path, name in folders
    }
