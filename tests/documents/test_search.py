"""Searching documents by name: what each person finds, on which page, and nothing they could not
open (documents/views/search.py, documents.selectors.search_*_documents)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import Collaboration, CollaborationStatus
from documents import selectors, services, trigrams
from documents.models import Audience, CustomerAccess, Document, Folder
from documents.names import search_key
from documents.views import search as search_views
from portal import sql
from portal.context import Organisation
from portal.models import User
from portal.units import human_size
from tests.conftest import World
from tests.documents import test_permission_matrix as matrix

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The permission matrix's world (its `docs` fixture), reused for the search across its actors.
docs = matrix.docs


@pytest.fixture(autouse=True)
def _english(world: World) -> None:
    User.objects.update(language="en")


def _folder(
    collaboration: Collaboration, actor: User, name: str, parent: Folder | None = None, **access: Any
) -> Folder:
    return services.folder_create(
        collaboration=collaboration, actor=actor, name=name, parent=parent, **access
    )


def _upload(
    folder: Folder, actor: User, name: str, *, by_customer: bool = False, data: bytes = PDF
) -> Document:
    return services.document_upload(
        folder=folder, actor=actor, name=name, chunks=[data], by_customer=by_customer
    ).document


def _names(response: Any) -> list[str]:
    return [r.name for r in response.context["results"]]


def _named(query: str) -> Any:
    """The ORM's search of `query`, as the customer side and SQLite run it."""
    match = selectors._match(query)
    assert match is not None
    return selectors._named(match)


def _partner_search(**query: Any) -> str:
    return reverse("documents:partner_search") + ("?" + urlencode(query) if query else "")


# --- The normalised name --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Årsredovisning 2025.pdf", "arsredovisning 2025.pdf"),
        ("LÖNESPECIFIKATION Mars", "lonespecifikation mars"),
        ("Kvitto café.JPG", "kvitto cafe.jpg"),
        ("Straße", "strasse"),
        ("ﬁl", "fil"),  # the "fi" ligature, as some PDF tools name files
        ("Ørsted", "ørsted"),  # no accent to strip: stays a letter of its own
    ],
)
def test_search_key_folds_case_and_strips_accents(name: str, key: str) -> None:
    assert search_key(name) == key


def test_an_upload_stores_the_normalised_name(world: World) -> None:
    folder = _folder(world.collaboration, world.admin, "Bokslut")
    document = _upload(folder, world.admin, "Årsredovisning 2025.pdf")
    document.refresh_from_db()
    assert document.search_name == "arsredovisning 2025.pdf"


def test_the_migration_fills_the_name_of_existing_documents(world: World) -> None:
    folder = _folder(world.collaboration, world.admin, "Bokslut")
    first = _upload(folder, world.admin, "Årsredovisning 2025.pdf")
    second = _upload(folder, world.admin, "LÖNER.pdf")
    Document.objects.update(search_name="")
    migration = importlib.import_module("documents.migrations.0003_document_search_name")
    migration.fill_search_names(django_apps, None)
    assert dict(Document.objects.values_list("pk", "search_name")) == {
        first.pk: "arsredovisning 2025.pdf",
        second.pk: "loner.pdf",
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_postgresql_searches_through_the_trigram_index(world: World) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'document_search_name_trgm'")
        (definition,) = cursor.fetchone()
        assert "gin" in definition and "gin_trgm_ops" in definition
        sql, params = (
            Document.objects.filter(search_name__contains="arsred").values("pk").query.sql_with_params()
        )
        # The tables are tiny here: keep the planner off a sequential scan to see the index is usable.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "document_search_name_trgm" in plan, plan


# --- A document's collaboration (what the partner search filters on) -------------------------


def test_a_document_takes_its_folders_collaboration(world: World) -> None:
    folder = _folder(world.other_collaboration, world.admin, "Bokslut")
    uploaded = _upload(folder, world.admin, "Årsredovisning 2025.pdf")
    made = Document.objects.create(folder=folder, name="Direkt.pdf")
    for document in (uploaded, made):
        document.refresh_from_db()
        assert document.collaboration_id == world.other_collaboration.pk != world.collaboration.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the composite foreign key is PostgreSQL's")
def test_the_database_refuses_a_collaboration_other_than_the_folders(world: World) -> None:
    folder = _folder(world.collaboration, world.admin, "Bokslut")
    elsewhere = _folder(world.other_collaboration, world.admin, "Bokslut")
    document = _upload(folder, world.admin, "Årsredovisning 2025.pdf")
    attempts: list[dict[str, Any]] = [
        {"collaboration": world.other_collaboration},  # the column alone
        {"folder": elsewhere},  # into another customer's folder, the column left behind
    ]
    for change in attempts:
        with pytest.raises(IntegrityError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS document_folder_collaboration_fk IMMEDIATE")
            Document.objects.filter(pk=document.pk).update(**change)
    # Both together: the other customer's folder and its collaboration, as a copy would be.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS document_folder_collaboration_fk IMMEDIATE")
        moved = Document.objects.filter(pk=document.pk)
        moved.update(folder=elsewhere, collaboration=world.other_collaboration)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="NOT NULL is dropped for the test")
def test_the_migration_fills_each_documents_collaboration(world: World) -> None:
    first = _upload(_folder(world.collaboration, world.admin, "A"), world.admin, "a.pdf")
    second = _upload(_folder(world.other_collaboration, world.admin, "B"), world.admin, "b.pdf")
    with connection.cursor() as cursor:  # as before migration 0006: the column there, still empty
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the uploads' checks, before ALTER TABLE
        cursor.execute("ALTER TABLE documents_document ALTER COLUMN collaboration_id DROP NOT NULL")
    Document.objects.update(collaboration=None)
    migration = importlib.import_module("documents.migrations.0006_document_collaboration")
    with connection.schema_editor() as editor:
        migration.fill_collaborations(django_apps, editor)
    assert dict(Document.objects.values_list("pk", "collaboration_id")) == {
        first.pk: world.collaboration.pk,
        second.pk: world.other_collaboration.pk,
    }


# --- The rows read by id -------------------------------------------------------------------


def _orm_rows(ids: list[int]) -> list[tuple[Any, ...]]:
    """What search_rows read with the ORM before it was a prepared statement, in `ids` order, with
    the folder's label as folder_paths makes it."""
    found = {
        row[0]: row
        for row in Document.objects.filter(pk__in=ids)
        .annotate(**selectors.SEARCH_ROW_VALUES, folders_collaboration=F("folder__collaboration_id"))
        .values_list(
            *[n if n != "collaboration_id" else "folders_collaboration" for n in selectors.SEARCH_ROW_NAMES]
        )
    }
    labels = selectors.folder_paths([(row[3], row[4], row[5]) for row in found.values()])
    return [(*found[pk], labels[found[pk][3]]) for pk in ids if pk in found]


def _rows_fixture(world: World) -> list[int]:
    top = _folder(world.collaboration, world.admin, "Bokslut", customer_access=CustomerAccess.READ)
    sub = _folder(world.collaboration, world.admin, "2026", parent=top)
    other = _folder(world.outsider_collaboration, world.outsider, "Löner")
    first = _upload(sub, world.admin, "Årsredovisning.pdf")
    second = _upload(other, world.outsider, "Lönespec mars & april.pdf")
    bare = _upload(top, world.admin, "Utan version.pdf")
    Document.objects.filter(pk=bare.pk).update(current_version=None)  # None for its size
    gone = _folder(world.collaboration, world.admin, "Borta", parent=sub)
    deep = _upload(_folder(world.collaboration, world.admin, "Djup", parent=gone), world.admin, "Djup.pdf")
    Folder.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())  # an ancestor not live: "?"
    # Not by id; one that does not exist.
    return [second.pk, bare.pk, first.pk + 10_000, first.pk, deep.pk]


def test_search_rows_are_the_orms_in_the_order_asked(world: World) -> None:
    ids = _rows_fixture(world)
    found = selectors.search_rows(ids)
    expected = _orm_rows(ids)
    assert [row.pk for row in found] == [ids[0], ids[1], ids[3], ids[4]]
    assert [tuple(row) for row in found] == expected
    assert [row.folder_label for row in found] == [
        "Löner",
        "Bokslut",
        "Bokslut / 2026",
        "Bokslut / 2026 / ? / Djup",
    ]
    for mine, theirs in zip(found, expected, strict=True):
        assert [type(v) for v in mine] == [type(v) for v in theirs]  # datetimes, sizes alike
    bare = found[1]
    assert bare.size is None and bare.customer_name == "Kund Alfa AB" and bare.partner_name == "Alfa Byrå AB"
    assert found[0].folder_name == "Löner" and found[0].collaboration_id == world.outsider_collaboration.pk
    assert selectors.search_rows([]) == []


def test_search_rows_are_one_prepared_statement_on_postgresql(world: World, settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PREPARE is PostgreSQL's")
    ids = _rows_fixture(world)
    for prepared in (True, False):  # False: behind a pooler that shares sessions
        settings.DB_PREPARED_STATEMENTS = prepared
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                assert [tuple(row) for row in selectors.search_rows(ids)] == _orm_rows(ids)
            (query,) = queries.captured_queries[:1]
            assert query["sql"].startswith("EXECUTE portal_documents_search_rows" if prepared else "SELECT")
            assert len(queries.captured_queries) == 3  # search_rows' one, then _orm_rows' two


# --- What each person finds ------------------------------------------------------------------


@dataclass
class Library:
    yearly: Document  # Kund Alfa / Årsredovisning (read, all users) / 2025
    payslip: Document  # Kund Alfa / Löner (edit, selected: customer_user)
    internal: Document  # Kund Alfa / Internt (the firm's only)
    deleted: Document  # Kund Alfa / Årsredovisning, deleted
    other_customer: Document  # Bygg Alfa (A's other customer, no staff assigned), read for all
    other_firm: Document  # Kund Beta, partner B's customer


@pytest.fixture
def library(world: World) -> Library:
    shared = _folder(world.collaboration, world.admin, "Årsredovisning", customer_access=CustomerAccess.READ)
    year = _folder(world.collaboration, world.admin, "2025", parent=shared)
    payroll = _folder(
        world.collaboration,
        world.admin,
        "Löner",
        customer_access=CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk],
    )
    internal = _folder(world.collaboration, world.admin, "Internt")
    bygg = _folder(world.other_collaboration, world.admin, "Bokslut", customer_access=CustomerAccess.READ)
    beta = _folder(
        world.outsider_collaboration, world.outsider, "Bokslut", customer_access=CustomerAccess.READ
    )
    deleted = _upload(shared, world.admin, "Årsredovisning 2019.pdf")
    services.documents_delete(documents=[deleted], actor=world.admin)
    return Library(
        yearly=_upload(year, world.admin, "Årsredovisning 2025.pdf", data=PDF + b"% " + b"x" * 3000),
        payslip=_upload(payroll, world.customer_user, "ÅRSREDOVISNING lönebilaga.pdf", by_customer=True),
        internal=_upload(internal, world.admin, "Årsredovisning utkast.pdf"),
        deleted=deleted,
        other_customer=_upload(bygg, world.admin, "Årsredovisning Bygg.pdf"),
        other_firm=_upload(beta, world.outsider, "Årsredovisning Beta.pdf"),
    )


def test_partner_admin_finds_in_every_customer_whatever_the_case_and_accents(
    world: World, library: Library, login: Any
) -> None:
    response = login(world.admin).get(_partner_search(q="ARSRED"))
    assert response.status_code == 200
    assert _names(response) == [
        "ÅRSREDOVISNING lönebilaga.pdf",
        "Årsredovisning 2025.pdf",
        "Årsredovisning Bygg.pdf",
        "Årsredovisning utkast.pdf",
    ]
    html = response.content.decode()
    # Folder path, customer, date and size; the links open the document and its folder.
    assert "Årsredovisning / 2025" in html
    assert "Kund Alfa AB" in html and "Bygg Alfa AB" in html
    assert library.yearly.current_version is not None
    with translation.override("en"):
        size = human_size(library.yearly.current_version.size)
    assert f'data-label="Size">{size}<' in html
    assert reverse("documents:document_detail", args=[library.yearly.pk]) in html
    year = library.yearly.folder
    assert reverse("documents:partner_folder", args=[world.collaboration.pk, year.pk]) in html
    assert f'datetime="{timezone.localtime(library.yearly.updated_at).isoformat()}"' in html
    # Neither the other firm's customer and file nor the deleted file, by name: ids in the links
    # may contain "2019".
    assert "Kund Beta AB" not in html and "Årsredovisning Beta.pdf" not in html
    assert "Årsredovisning 2019.pdf" not in html


def test_any_part_of_the_name_matches(world: World, library: Library, login: Any) -> None:
    client = login(world.admin)
    assert _names(client.get(_partner_search(q="lönebil"))) == ["ÅRSREDOVISNING lönebilaga.pdf"]
    assert _names(client.get(_partner_search(q="  UTKAST.PDF "))) == ["Årsredovisning utkast.pdf"]
    assert _names(client.get(_partner_search(q="ovisning 20"))) == ["Årsredovisning 2025.pdf"]


def test_words_match_as_the_whole_text_in_its_order(world: World, login: Any) -> None:
    """The index is asked for each word apart (selectors._named); what is found must
    still contain the query as it was typed, spaces and punctuation included."""
    folder = _folder(world.collaboration, world.admin, "Bank")
    for name in (
        "Kontoutdrag 0042.pdf",
        "Kontoutdrag 00421.pdf",  # contains it
        "0042 kontoutdrag.pdf",  # the words, the other way round
        "Kontoutdrag mars 0042.pdf",  # the words, apart
        "Kontoutdrag_0042.pdf",
        "Rapport 100% klar.pdf",
        "Rapport 1000 klar.pdf",
        "Ab cd.pdf",
        "Ab x cd.pdf",
    ):
        _upload(folder, world.admin, name)
    client = login(world.admin)
    assert sorted(_names(client.get(_partner_search(q="KONTOUTDRAG 0042")))) == [
        "Kontoutdrag 0042.pdf",
        "Kontoutdrag 00421.pdf",
    ]
    assert _names(client.get(_partner_search(q="utdrag_00"))) == ["Kontoutdrag_0042.pdf"]
    assert _names(client.get(_partner_search(q="100% klar"))) == ["Rapport 100% klar.pdf"]
    assert _names(client.get(_partner_search(q="ab cd"))) == ["Ab cd.pdf"]  # no word of three letters


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's")
def test_the_index_is_asked_for_each_word_and_the_text_checked_apart(world: World, monkeypatch: Any) -> None:
    monkeypatch.setattr(trigrams, "frequencies", lambda: None)  # no statistics: whole words
    sql, params = _named("Kontoutdrag 0042").values("pk").query.sql_with_params()
    assert "%kontoutdrag%" in params and "%0042%" in params and "kontoutdrag 0042" in params
    assert "%kontoutdrag 0042%" not in params  # its edges' trigrams are in nearly every name
    assert "STRPOS" in sql.upper()
    # A word of two letters has no trigram of its own: asked for alone it would read the whole index.
    _sql, params = _named("ab 0042").values("pk").query.sql_with_params()
    assert "%0042%" in params and "%ab%" not in params


# --- The rarest trigram of each word (documents.trigrams) ------------------------------------

FREQUENCIES = trigrams.Frequencies(
    common={
        **dict.fromkeys(["kon", "ont", "nto"], 0.3),
        **dict.fromkeys(["tou", "out"], 0.05),
        **dict.fromkeys(["utd", "tdr", "dra", "rag"], 0.1),
        "000": 0.5,
        "004": 0.2,
        "042": 0.01,
    },
    rare=0.001,
    # Each word in as many names as its rarest trigram, but "0004": in a tenth of those of "004".
    words={"kontoutdrag": 0.05, "0042": 0.01, "0004": 0.02, "pdf": 0.9},
)


def test_each_word_is_asked_for_by_its_rarest_trigram() -> None:
    patterns = selectors._index_patterns
    assert patterns(["kontoutdrag", "0042"], FREQUENCIES) == ["tou", "042"]  # the first of equals
    assert patterns(["kontoutdrag", "0042"], None) == ["kontoutdrag", "0042"]  # no statistics
    assert patterns(["kontox"], FREQUENCIES) == ["tox"]  # one they do not list: rarer than any listed
    assert patterns(["0042", "00042"], FREQUENCIES) == ["042"]  # the same trigram, asked for once
    # pg_trgm hashes a trigram of other letters, which show_trgm's statistics do not show as such.
    assert patterns(["λογος"], FREQUENCIES) == ["λογος"]
    assert patterns(["λογος", "kontoutdrag", "0042"], FREQUENCIES) == ["λογος", "tou", "042"]
    # A word in as many names as its rarest trigram keeps out nothing more whole, however common.
    assert patterns(["kontoutdrag"], FREQUENCIES) == ["tou"]
    assert patterns(["kontoutdrag", "kontoutdrag"], FREQUENCIES) == ["tou"]


def test_a_word_much_rarer_than_its_rarest_trigram_is_asked_for_whole() -> None:
    """Where the rows it keeps out cost more than its other trigrams' lists (x150 an entry)."""
    patterns = selectors._index_patterns
    # Part of "kontoutdrag" only: in half the names of "utd" (7.5 entries' worth) for 0.3 more.
    assert patterns(["utdrag"], FREQUENCIES) == ["utdrag"]
    # By "004", 0.2 of the names (30 entries' worth); whole, 0.02 (3) for 0.5 more entries.
    assert patterns(["0004"], FREQUENCIES) == ["0004"]
    # With "kontoutdrag" by "tou": 0.01 (1.5) against 0.001 (0.15) for the same 0.5.
    assert patterns(["kontoutdrag", "0004"], FREQUENCIES) == ["tou", "0004"]
    assert patterns(["0004", "kontoutdrag"], FREQUENCIES) == ["0004", "tou"]
    # "utdrag" whole would keep out half of the rows too, but after "0004" that is 0.15 for 0.3.
    assert patterns(["utdrag", "0004"], FREQUENCIES) == ["utd", "0004"]
    # Part of no word listed: taken to be rare, as a word asked for whole always was (1.5 for 0.7).
    assert patterns(["000042"], FREQUENCIES) == ["000042"]
    assert patterns(["kontox"], FREQUENCIES) == ["tox"]  # unless its rarest trigram is rare too
    # "0042" in as many names as "042": whole it would cost "004"'s list and keep out nothing.
    assert patterns(["kontoutdrag", "0042"], FREQUENCIES) == ["tou", "042"]


def test_a_word_is_in_the_names_of_the_common_words_it_is_part_of() -> None:
    frequencies = trigrams.Frequencies(
        common={}, rare=0.001, words={"kontoutdrag": 0.05, "utdrag": 0.02, "utdragen": 0.01, "a": 0.99}
    )
    assert frequencies.word("kontoutdrag") == pytest.approx(0.05)
    assert frequencies.word("utdrag") == pytest.approx(0.08)  # each of the three
    assert frequencies.word("utdrag") == pytest.approx(0.08)  # remembered, the same
    assert frequencies.word("xyz") is None  # part of none listed: the statistics do not tell
    assert frequencies.word("a") == 1.0  # added up, at most every name


def _analysed(
    folder: Folder, actor: User, names: list[str], *, fillers: Sequence[str] = ()
) -> trigrams.Frequencies:
    """`names` uploaded and `fillers` as bare rows in `folder`, then ANALYZE and fresh statistics."""
    for name in names:
        _upload(folder, actor, name)
    now = timezone.now()
    Document.objects.bulk_create(
        Document(
            folder=folder,
            collaboration_id=folder.collaboration_id,
            name=n,
            search_name=search_key(n),
            created_at=now,
            updated_at=now,
        )
        for n in fillers
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE documents_document")  # in the test's transaction, rolled back with it
    trigrams.forget()
    found = trigrams.frequencies()
    assert found is not None
    return found


@pytest.fixture
def _fresh_statistics() -> Any:
    trigrams.forget()
    yield
    trigrams.forget()  # what this test's ANALYZE saw is rolled back: not for the next one


# Each holds every trigram of "kontoutdrag" and "0042", or the words in another order, but not
# "kontoutdrag 0042": whichever trigrams the index is asked for, only the check of the whole text
# keeps them out.
DECOYS = [
    "kon ont nto tou out utd tdr dra rag 004 042.pdf",
    "0042 kontoutdrag.pdf",
    "Kontoutdrag 1042 och 0041.pdf",
    "utd tdr dra rag.pdf",
]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statistics are PostgreSQL's")
@pytest.mark.usefixtures("_fresh_statistics")
def test_with_statistics_the_rarest_trigrams_find_what_the_whole_words_find(
    world: World, login: Any, monkeypatch: Any
) -> None:
    folder = _folder(world.collaboration, world.admin, "Bank")
    wanted = ["Kontoutdrag 0042.pdf", "Kontoutdrag 00421.pdf", "KONTOUTDRAG 0042 rättad.pdf"]
    # Enough other names that "kontoutdrag 0042" is rare, sharing "kon" and some "042".
    common = [f"Kontrakt {i:04}.pdf" for i in range(2000)]
    frequencies = _analysed(folder, world.admin, [*wanted, *DECOYS, "Utdrag 0042.pdf"], fillers=common)
    assert frequencies.of("kon") > frequencies.of("042") > frequencies.of("utd") > 0
    _sql, params = _named("Kontoutdrag 0042").values("pk").query.sql_with_params()
    asked = {p for p in params if isinstance(p, str) and p.startswith("%")}
    assert "%kontoutdrag%" not in asked and "%kon%" not in asked and len(asked) == 2, asked
    client = login(world.admin)
    every_name = [*wanted, *DECOYS, *common, "Utdrag 0042.pdf"]
    for query in ("kontoutdrag 0042", "Kontoutdrag", "UTDRAG 0042", "utdrag", "kontrakt 0012", "0042"):
        expected = sorted(n for n in every_name if search_key(query) in search_key(n))
        with_statistics = sorted(_names(client.get(_partner_search(q=query))))
        monkeypatch.setattr(trigrams, "frequencies", lambda: None)
        whole_words = sorted(_names(client.get(_partner_search(q=query))))
        monkeypatch.undo()
        assert with_statistics == whole_words == expected, query
        assert expected, query


def _letters(n: int) -> str:
    """Two letters for 0 <= n < 676: "aa", "ab", ... (no trigram of their own)."""
    return chr(97 + n // 26) + chr(97 + n % 26)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statistics are PostgreSQL's")
@pytest.mark.usefixtures("_fresh_statistics")
def test_with_the_words_statistics_a_number_of_common_trigrams_is_asked_for_whole(
    world: World, login: Any
) -> None:
    """As the bench's names: fifty numbers, each in one name in fifty, "000" and "004" in a fifth."""
    folder = _folder(world.collaboration, world.admin, "Bank")
    # Told apart by two letters.
    common = [f"Kontrakt {i % 50 + 1:04} {_letters(i // 50)}.pdf" for i in range(2000)]
    frequencies = _analysed(folder, world.admin, ["Kontrakt 00041.pdf", "Kontrakt 10004.pdf"], fillers=common)
    assert frequencies.of("000") > 0.15 and frequencies.of("004") > 0.15
    assert frequencies.word("0004") == pytest.approx(0.02, rel=0.2)
    _sql, params = _named("Kontrakt 0004").values("pk").query.sql_with_params()
    asked = {p for p in params if isinstance(p, str) and p.startswith("%")}
    assert "%0004%" in asked and "%kontrakt%" not in asked and len(asked) == 2, asked
    # A number as common as its rarest trigram is not: by that trigram alone.
    _sql, params = _named("Kontrakt 0042").values("pk").query.sql_with_params()
    assert {p for p in params if isinstance(p, str) and p.startswith("%")} - {"%kon%", "%ont%"} == {"%042%"}
    every_name = [*common, "Kontrakt 00041.pdf", "Kontrakt 10004.pdf"]
    for query in ("Kontrakt 0004", "kontrakt 0042", "0004", "10004", "kontrakt"):
        expected = sorted(n for n in every_name if search_key(query) in search_key(n))
        assert sorted(_named(query).filter(folder=folder).values_list("name", flat=True)) == expected, query
        assert expected, query
    assert _names(login(world.admin).get(_partner_search(q="kontrakt 00041"))) == ["Kontrakt 00041.pdf"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statistics are PostgreSQL's")
@pytest.mark.usefixtures("_fresh_statistics")
def test_without_the_words_statistics_every_word_is_asked_for_whole(world: World) -> None:
    """Both statistics or neither: by the trigrams' alone a number of common trigrams would be
    asked for by one of them (a fifth of the names, in the bench's)."""
    folder = _folder(world.collaboration, world.admin, "Bank")
    fillers = [f"Kontrakt {i:04}.pdf" for i in range(500)]
    _analysed(folder, world.admin, ["Kontoutdrag 0042.pdf"], fillers=fillers)
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute(f"DROP STATISTICS {trigrams.WORDS_STATISTICS_NAME}")
    trigrams.forget()
    assert trigrams.frequencies() is None
    _sql, params = _named("Kontoutdrag 0042").values("pk").query.sql_with_params()
    assert "%kontoutdrag%" in params and "%0042%" in params


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statistics are PostgreSQL's")
@pytest.mark.usefixtures("_fresh_statistics")
def test_reading_the_statistics_is_not_a_query_of_the_page(world: World, login: Any) -> None:
    """Once a process every few minutes, outside the query log (as a PREPARE): a page's query count
    must not depend on whether its process has searched lately."""
    folder = _folder(world.collaboration, world.admin, "Bank")
    _analysed(folder, world.admin, ["Kontoutdrag 0042.pdf", "Kontrakt 0001.pdf"])
    client = login(world.admin)
    client.get(_partner_search(q="kontrakt"))  # the session and the other one-time lookups
    counts = []
    for _ in range(2):
        trigrams.forget()
        with CaptureQueriesContext(connection) as cold:
            assert _names(client.get(_partner_search(q="kontoutdrag"))) == ["Kontoutdrag 0042.pdf"]
        with CaptureQueriesContext(connection) as warm:
            assert _names(client.get(_partner_search(q="kontoutdrag"))) == ["Kontoutdrag 0042.pdf"]
        counts.append((len(cold), len(warm)))
    assert counts[0][0] == counts[0][1] == counts[1][0], counts
    assert not any("pg_stats_ext_exprs" in q["sql"] for q in cold.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statistics are PostgreSQL's")
def test_the_statistics_objects_exist() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxname IN (%s, %s)",
            [trigrams.STATISTICS_NAME, trigrams.WORDS_STATISTICS_NAME],
        )
        definitions = dict(cursor.fetchall())
    assert "show_trgm(search_name)" in definitions[trigrams.STATISTICS_NAME]
    words = definitions[trigrams.WORDS_STATISTICS_NAME]
    assert f"regexp_split_to_array(search_name, '{trigrams.WORD_SEPARATOR}'" in words
    assert all("documents_document" in d for d in definitions.values())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
@pytest.mark.parametrize("statistics", [False, True], ids=["whole-words", "rarest-trigrams"])
def test_the_partner_statement_finds_what_the_orm_finds_in_its_order(
    world: World, library: Library, monkeypatch: Any, statistics: bool
) -> None:
    """selectors.FoundAtPartner.hits (SQL written around the scope's) against its queryset() (the
    ORM, as SQLite runs it), for every kind of partner user, across every customer and in one."""
    bank = _folder(world.collaboration, world.admin, "Bank")
    bygg = _folder(world.other_collaboration, world.admin, "Bank")
    for folder in (bank, bygg):  # equal names in two customers: the id breaks the tie
        for name in (
            "Kontoutdrag 0042.pdf",
            "0042 kontoutdrag.pdf",
            "Rapport 100% klar.pdf",
            "a_b.pdf",
            "a-b.pdf",
        ):
            _upload(folder, world.admin, name)
    gone = _upload(bank, world.admin, "Kontoutdrag 0042 gammal.pdf")
    services.documents_delete(documents=[gone], actor=world.admin)
    ended = Collaboration.objects.create(
        partner=world.partner, customer=world.other_collaboration.customer, status=CollaborationStatus.ENDED
    )
    _upload(_folder(ended, world.admin, "Bank"), world.admin, "Kontoutdrag 0042 avslutad.pdf")
    monkeypatch.setattr(trigrams, "frequencies", lambda: FREQUENCIES if statistics else None)
    actors = [
        (world.admin, world.partner, True),
        (world.staff, world.partner, False),
        (world.staff_unassigned, world.partner, False),
        (world.outsider, world.other_partner, True),
    ]
    queries = ["kontoutdrag 0042", "KONTOUTDRAG", "arsred", "ovisning 20", "100% klar", "a_b", "ab", "zzz"]
    seen = set()
    for user, partner, is_admin in actors:
        org = Organisation(kind="partner", id=partner.pk, name=partner.name, is_admin=is_admin)
        for query in queries:
            for collaboration in (None, world.collaboration):
                found = selectors.search_partner_documents(
                    user=user, partner=org, query=query, collaboration=collaboration
                )
                assert isinstance(found, selectors.FoundAtPartner)
                orm = selectors.FoundDocuments(found.queryset())
                for offset, size, counted in PAGES:
                    mine, theirs = found.page(offset, size, counted), orm.page(offset, size, counted)
                    assert mine.rows == theirs.rows, (user.name, query, collaboration, offset, size, counted)
                    # The count comes with a page's rows: a page past the end has none to carry it.
                    assert mine.matches == (theirs.matches if theirs.rows else 0)
                seen.add(found.page(0, 1001, 1001).matches)
    assert len(seen) >= 4  # empty, one, and several results among them
    admin = Organisation(kind="partner", id=world.partner.pk, name=world.partner.name, is_admin=True)
    everything = selectors.FoundAtPartner(
        match=selectors._Match(key="kontoutdrag 0042", patterns=["kontoutdrag", "0042"]),
        user=world.admin,
        partner=admin,
    )
    assert gone.pk not in [row.pk for row in everything.page(0, 1001, 1001).rows]


# (offset, size, counted): the first page, a page in the middle, the last one, past the end, and
# pages of the counted few among more found.
PAGES = [(0, 25, 1001), (1, 2, 1001), (2, 3, 1001), (4, 25, 1001), (40, 25, 1001), (0, 1, 2), (1, 1, 2)]


def _statement_plan(found: selectors.FoundAtPartner, mode: str) -> tuple[list[str], list[int]]:
    """The plan PostgreSQL runs the partner statement with under plan_cache_mode `mode`, and the
    ids of its first page."""
    statement, params = found._statement()
    name = sql.prepared(statement).name
    values = [*params, 1001, 0, 25]
    with connection.cursor() as cursor:
        cursor.execute(f"SET plan_cache_mode = {mode}")
        try:
            ids = [row.pk for row in found.page(0, 25, 1001).rows]  # prepares it on this connection
            placeholders = ", ".join(["%s"] * len(values))
            cursor.execute(f"EXPLAIN (COSTS OFF) EXECUTE {name}({placeholders})", values)
            plan = [row[0] for row in cursor.fetchall()]
        finally:
            cursor.execute("RESET plan_cache_mode")
    return plan, ids


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip(" ->"))


def _subtree(plan: list[str], start: int) -> list[str]:
    """The plan's line `start` and the lines of every node under it."""
    below = plan[start + 1 :]
    end = next((i for i, line in enumerate(below) if _depth(line) <= _depth(plan[start])), len(below))
    return plan[start : start + 1 + end]


def _without_subplans(lines: list[str]) -> list[str]:
    """`lines` of a plan but what its subplans do, each run apart from the node that uses it."""
    kept: list[str] = []
    skip_to = 0
    for i, line in enumerate(lines):
        if i < skip_to:
            continue
        if line.strip().startswith("SubPlan"):
            skip_to = i + len(_subtree(lines, i))
        else:
            kept.append(line)
    return kept


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
def test_the_partner_statement_hashes_the_access_rule_in_any_plan(world: World, library: Library) -> None:
    """The statement is planned once for every search of its shape (sql.prepared): the plan made
    for no value in particular (a generic plan) must not probe the collaborations once per match,
    which it did with the rule as a join. It evaluates the rule once, as a hash, and finds what the
    plan made for the values finds."""
    bank = _folder(world.collaboration, world.admin, "Bank")
    for i in range(30):
        _upload(bank, world.admin, f"Kontoutdrag {i:04}.pdf", data=PDF + bytes([i]))
    actors = [(world.admin, True), (world.staff, False)]
    for user, is_admin in actors:
        org = Organisation(kind="partner", id=world.partner.pk, name=world.partner.name, is_admin=is_admin)
        for query in ("kontoutdrag 0042", "kontoutdrag", "arsred"):
            for collaboration in (None, world.collaboration):
                found = selectors.search_partner_documents(
                    user=user, partner=org, query=query, collaboration=collaboration
                )
                assert isinstance(found, selectors.FoundAtPartner)
                generic, generic_ids = _statement_plan(found, "force_generic_plan")
                custom, custom_ids = _statement_plan(found, "force_custom_plan")
                assert generic_ids == custom_ids, (user.name, query, collaboration)
                for plan in (generic, custom):
                    # What finds and counts the matches: one scan, the rule a hashed subplan.
                    window = next(i for i, line in enumerate(plan) if "WindowAgg" in line)
                    matching = "\n".join(_without_subplans(_subtree(plan, window)))
                    assert "hashed SubPlan" in matching, plan
                    assert "Join" not in matching and "Nested Loop" not in matching, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's")
def test_a_partner_search_page_reads_what_it_shows_in_one_statement(
    world: World, library: Library, login: Any, settings: Any
) -> None:
    client = login(world.admin)
    for prepared in (True, False):  # False: behind a pooler that shares sessions
        settings.DB_PREPARED_STATEMENTS = prepared
        for _ in range(2):  # preparing it, then prepared
            with CaptureQueriesContext(connection) as queries:
                response = client.get(_partner_search(q="arsred"))
            assert sorted(_names(response)) == sorted(
                [
                    library.yearly.name,
                    library.payslip.name,
                    library.internal.name,
                    library.other_customer.name,
                ]
            )
            reading = [q["sql"] for q in queries.captured_queries if "documents_document" in q["sql"]]
            searching = [
                q["sql"] for q in queries.captured_queries if q["sql"].startswith("EXECUTE portal_q_")
            ]
            assert len(reading + searching) == 1, reading + searching
            assert bool(searching) == prepared


def test_like_wildcards_in_the_query_are_plain_characters(world: World, library: Library, login: Any) -> None:
    client = login(world.admin)
    assert _names(client.get(_partner_search(q="%%"))) == []
    assert _names(client.get(_partner_search(q="__"))) == []


def test_a_query_shorter_than_two_characters_searches_nothing(
    world: World, library: Library, login: Any
) -> None:
    response = login(world.admin).get(_partner_search(q="å"))
    assert response.status_code == 200 and _names(response) == []
    assert "Type at least 2 characters" in response.content.decode()


def test_an_empty_search_explains_itself(world: World, login: Any) -> None:
    client = login(world.admin)
    html = client.get(_partner_search()).content.decode()
    assert "Type part of a file name" in html
    html = client.get(_partner_search(q="ingenting")).content.decode()
    assert "No files match “ingenting”." in html


def test_assigned_staff_finds_only_in_their_customers(world: World, library: Library, login: Any) -> None:
    names = _names(login(world.staff).get(_partner_search(q="arsred")))
    assert names == ["ÅRSREDOVISNING lönebilaga.pdf", "Årsredovisning 2025.pdf", "Årsredovisning utkast.pdf"]


def test_unassigned_staff_finds_nothing(world: World, library: Library, login: Any) -> None:
    response = login(world.staff_unassigned).get(_partner_search(q="arsred"))
    assert response.status_code == 200 and _names(response) == []


def test_another_firm_finds_only_its_own(world: World, library: Library, login: Any) -> None:
    assert _names(login(world.outsider).get(_partner_search(q="arsred"))) == ["Årsredovisning Beta.pdf"]


def test_an_ended_collaboration_is_searched_by_nobody(world: World, library: Library, login: Any) -> None:
    Collaboration.objects.filter(pk=world.collaboration.pk).update(status=CollaborationStatus.ENDED)
    assert _names(login(world.admin).get(_partner_search(q="arsred"))) == ["Årsredovisning Bygg.pdf"]
    response = login(world.customer_user).get(reverse("documents:customer_search"), {"q": "arsred"})
    assert response.status_code == 200 and _names(response) == []


def test_per_customer_search_stays_in_the_customer(world: World, library: Library, login: Any) -> None:
    url = reverse("documents:partner_customer_search", args=[world.collaboration.pk])
    response = login(world.admin).get(url, {"q": "arsred"})
    assert response.status_code == 200
    assert _names(response) == [
        "ÅRSREDOVISNING lönebilaga.pdf",
        "Årsredovisning 2025.pdf",
        "Årsredovisning utkast.pdf",
    ]
    # The customer's own head and Documents tab, no customer column.
    html = response.content.decode()
    assert "<h1>Kund Alfa AB</h1>" in html and 'scope="col">Customer<' not in html


@pytest.mark.parametrize("who", ["outsider", "staff_unassigned", "customer_user", "primary"])
def test_per_customer_search_is_404_for_whoever_may_not_work_with_the_customer(
    world: World, library: Library, login: Any, who: str
) -> None:
    url = reverse("documents:partner_customer_search", args=[world.collaboration.pk])
    assert login(getattr(world, who)).get(url, {"q": "arsred"}).status_code == 404


def test_the_partner_search_is_404_for_a_customer_user(world: World, login: Any) -> None:
    assert login(world.customer_user).get(_partner_search(q="arsred")).status_code == 404


@pytest.mark.parametrize(
    "url_name",
    ["partner_search", "partner_customer_search", "customer_search", "customer_collaboration_search"],
)
def test_anonymous_is_sent_to_login(world: World, client: Client, url_name: str) -> None:
    args = [] if url_name in {"partner_search", "customer_search"} else [world.collaboration.pk]
    response = client.get(reverse(f"documents:{url_name}", args=args), {"q": "arsred"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        # selected in Löner, and Årsredovisning is shared with all users
        ("customer_user", ["ÅRSREDOVISNING lönebilaga.pdf", "Årsredovisning 2025.pdf"]),
        # the primary contact is not selected in Löner (and does not manage it)
        ("primary", ["Årsredovisning 2025.pdf"]),
    ],
)
def test_a_customer_user_finds_what_is_shared_with_them(
    world: World, library: Library, login: Any, who: str, expected: list[str]
) -> None:
    client = login(getattr(world, who))
    across = client.get(reverse("documents:customer_search"), {"q": "arsred"})
    assert across.status_code == 200 and _names(across) == expected
    html = across.content.decode()
    assert "Alfa Byrå AB" in html  # the firm column
    assert (
        reverse("documents:customer_folder", args=[world.collaboration.pk, library.yearly.folder_id]) in html
    )
    one = client.get(
        reverse("documents:customer_collaboration_search", args=[world.collaboration.pk]), {"q": "arsred"}
    )
    assert one.status_code == 200 and _names(one) == expected


def test_changing_who_is_selected_changes_what_is_found(world: World, library: Library, login: Any) -> None:
    other = matrix.CustomerMembershipFactory.create(customer=world.customer, user__language="en").user
    payroll = library.payslip.folder
    url = reverse("documents:customer_search")
    assert _names(login(other).get(url, {"q": "lönebil"})) == []
    services.folder_set_access(
        folder=payroll,
        actor=world.admin,
        customer_access=CustomerAccess.EDIT,
        audience=Audience.SELECTED,
        selected_user_ids=[other.pk],
    )
    assert _names(login(other).get(url, {"q": "lönebil"})) == ["ÅRSREDOVISNING lönebilaga.pdf"]
    assert _names(login(world.customer_user).get(url, {"q": "lönebil"})) == []


def test_another_customers_user_finds_only_their_own(world: World, library: Library, login: Any) -> None:
    bygg_user = matrix.CustomerMembership.objects.get(customer=world.other_collaboration.customer).user
    client = login(bygg_user)
    assert _names(client.get(reverse("documents:customer_search"), {"q": "arsred"})) == [
        "Årsredovisning Bygg.pdf"
    ]
    url = reverse("documents:customer_collaboration_search", args=[world.collaboration.pk])
    assert client.get(url, {"q": "arsred"}).status_code == 404


def test_the_customer_search_is_404_for_a_partner_user(world: World, login: Any) -> None:
    client = login(world.admin)
    assert client.get(reverse("documents:customer_search"), {"q": "arsred"}).status_code == 404
    url = reverse("documents:customer_collaboration_search", args=[world.collaboration.pk])
    assert client.get(url, {"q": "arsred"}).status_code == 404


def test_names_are_escaped(world: World, login: Any) -> None:
    folder = _folder(world.collaboration, world.admin, "Avtal")
    _upload(folder, world.admin, "Tom & Jerry's avtal.pdf")
    html = login(world.admin).get(_partner_search(q="& jerry's")).content.decode()
    assert "Tom &amp; Jerry&#x27;s avtal.pdf" in html and "Jerry's" not in html


# --- The search boxes ------------------------------------------------------------------------


def test_each_side_has_its_search_boxes(world: World, login: Any) -> None:
    cid = world.collaboration.pk
    partner = login(world.admin)
    pages = {
        reverse("customers:customer_list"): reverse("documents:partner_search"),
        reverse("documents:partner_root", args=[cid]): reverse(
            "documents:partner_customer_search", args=[cid]
        ),
    }
    for page, action in pages.items():
        html = partner.get(page).content.decode()
        assert f'action="{action}" role="search"' in html, page
        assert '<label for="doc-q"' in html
    customer = login(world.customer_user)
    pages = {
        reverse("customers:collaboration_list"): reverse("documents:customer_search"),
        reverse("documents:customer_root", args=[cid]): reverse(
            "documents:customer_collaboration_search", args=[cid]
        ),
    }
    for page, action in pages.items():
        html = customer.get(page).content.decode()
        assert f'action="{action}" role="search"' in html, page


# --- Pages and query counts ------------------------------------------------------------------


def test_pages_keep_the_query(world: World, login: Any, settings: Any) -> None:
    settings.PAGE_SIZE = 2
    folder = _folder(world.collaboration, world.admin, "Kvitton")
    for i in range(5):
        _upload(folder, world.admin, f"Kvitto {i}.pdf", data=PDF + bytes([i]))
    client = login(world.admin)
    first = client.get(_partner_search(q="kvitto"))
    assert _names(first) == ["Kvitto 0.pdf", "Kvitto 1.pdf"]
    assert "?q=kvitto&amp;page=2" in first.content.decode()
    assert _names(client.get(_partner_search(q="kvitto", page=3))) == ["Kvitto 4.pdf"]


def test_past_the_cap_the_page_says_more_than(
    world: World, login: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PAGE_SIZE = 2
    monkeypatch.setattr(search_views, "MAX_RESULTS", 3)
    folder = _folder(world.collaboration, world.admin, "Kvitton")
    for i in range(5):
        _upload(folder, world.admin, f"Kvitto {i}.pdf", data=PDF + bytes([i]))
    client = login(world.admin)
    response = client.get(_partner_search(q="kvitto"))
    html = response.content.decode()
    assert "More than 3 files found" in html and "Type more of the name" in html
    assert response.context["page"].paginator.num_pages == 2
    # The last page ends at the cap.
    assert _names(client.get(_partner_search(q="kvitto", page=9))) == ["Kvitto 2.pdf"]


def _count(client: Client, url: str, query: str) -> int:
    client.get(url, {"q": query})  # the session and the process's one-time lookups
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"q": query})
    assert response.status_code == 200
    return len(captured)


def test_queries_do_not_grow_with_the_results(world: World, login: Any, settings: Any) -> None:
    """One result or a full page of them, in folders at several depths and customers."""
    settings.PAGE_SIZE = 10
    shared = _folder(world.collaboration, world.admin, "Delat", customer_access=CustomerAccess.READ)
    depth = [shared]
    for level in range(3):
        depth.append(_folder(world.collaboration, world.admin, f"Nivå {level}", parent=depth[-1]))
    _upload(shared, world.admin, "Ensam fil.pdf")
    for i in range(14):
        _upload(depth[i % len(depth)], world.admin, f"Många {i:02}.pdf", data=PDF + bytes([i]))
    bygg = _folder(world.other_collaboration, world.admin, "Delat", customer_access=CustomerAccess.READ)
    for i in range(3):
        _upload(bygg, world.admin, f"Många bygg {i}.pdf", data=PDF + bytes([i]))
    cid = world.collaboration.pk
    cases = [
        (world.admin, reverse("documents:partner_search")),
        (world.admin, reverse("documents:partner_customer_search", args=[cid])),
        (world.customer_user, reverse("documents:customer_search")),
        (world.customer_user, reverse("documents:customer_collaboration_search", args=[cid])),
    ]
    for user, url in cases:
        client = login(user)
        one, many = _count(client, url, "ensam"), _count(client, url, "manga")
        assert len(_names(client.get(url, {"q": "manga"}))) == 10
        assert one == many, (url, one, many)
        assert many <= 12, (url, many)


# --- Across the permission matrix's actors ---------------------------------------------------

SEARCH_PAGES = (
    "partner_search",
    "partner_customer_search",
    "customer_search",
    "customer_collaboration_search",
)
TERM = "mars"  # in the matrix's two documents' names and in every one added below


@pytest.fixture
def everything(docs: matrix.Docs) -> list[Document]:
    """The matrix's folders plus one of every other kind, each with a document named with TERM."""
    w = docs.world
    all_users = _folder(w.collaboration, w.admin, "Avtal", customer_access=CustomerAccess.READ)
    managed = _folder(
        w.collaboration,
        w.admin,
        "Styrelse",
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[docs.without_access.pk],
        primary_contact_manages=True,
    )
    internal = _folder(w.collaboration, w.admin, "Internt")
    sub = _folder(w.collaboration, w.admin, "Mars", parent=docs.folder)
    made = [
        _upload(docs.read_only, w.admin, "Bokslut mars.pdf"),
        _upload(all_users, w.admin, "Avtal mars.pdf"),
        _upload(managed, w.admin, "Protokoll mars.pdf"),
        _upload(internal, w.admin, "Arbetsfil mars.pdf"),
        _upload(sub, w.customer_user, "Underlag MARS.pdf", by_customer=True),
        _upload(
            _folder(w.other_collaboration, w.admin, "Bokslut", customer_access=CustomerAccess.READ),
            w.admin,
            "Bygg mars.pdf",
        ),
        _upload(
            _folder(w.outsider_collaboration, w.outsider, "Bokslut", customer_access=CustomerAccess.READ),
            w.outsider,
            "Beta mars.pdf",
        ),
    ]
    gone = _upload(all_users, w.admin, "Raderad mars.pdf")
    services.documents_delete(documents=[gone], actor=w.admin)
    return [docs.firm_doc, docs.customer_doc, *made, gone]


def _search_url(page: str, docs: matrix.Docs) -> str:
    args = [] if page in {"partner_search", "customer_search"} else [docs.collaboration_id]
    return reverse(f"documents:{page}", args=args)


@pytest.mark.parametrize("page", SEARCH_PAGES)
@pytest.mark.parametrize("actor", [a for a in matrix.ACTORS if a != "anonymous"])
def test_search_finds_exactly_what_the_actor_may_open(
    docs: matrix.Docs, everything: list[Document], client: Client, actor: str, page: str
) -> None:
    """Every result opens (document_detail is a 200 for the actor), and every document the actor
    may open in the page's scope is found; a page of the other side, or of a customer the actor
    is not at, is a 404."""
    user = matrix.ACTORS[actor](docs)
    assert user is not None
    client.force_login(user)
    response = client.get(_search_url(page, docs), {"q": TERM})
    one_customer = page in {"partner_customer_search", "customer_collaboration_search"}
    if page.startswith("partner") != (actor in {"admin", "staff", "unassigned", "other_partner"}):
        assert response.status_code == 404  # the other side's page
        return
    if one_customer and actor not in {"admin", "staff", "primary", "with_access", "without_access"}:
        assert response.status_code == 404  # a customer the actor works with or is at, only
        return
    assert response.status_code == 200
    found = {r.pk for r in response.context["results"]}
    opens = {
        d.pk
        for d in everything
        if client.get(reverse("documents:document_detail", args=[d.pk])).status_code == 200
    }
    in_scope = {
        d.pk for d in everything if not one_customer or d.folder.collaboration_id == docs.collaboration_id
    }
    assert found <= opens, "a result the actor cannot open"
    assert found == opens & in_scope
    if actor == "with_access":
        assert found == {
            docs.firm_doc.pk,
            docs.customer_doc.pk,
            *(
                d.pk
                for d in everything
                if d.name in {"Bokslut mars.pdf", "Avtal mars.pdf", "Underlag MARS.pdf"}
            ),
        }
