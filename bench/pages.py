"""Page benchmark: the documents pages at 500,000 documents against a floor page, under gunicorn.

    .venv/bin/python bench/pages.py                 # seed if needed, then measure (about 16 minutes)
    .venv/bin/python bench/pages.py --no-seed       # use the bench data that is there
    .venv/bin/python bench/pages.py --reseed        # bench_seed --reset first
    .venv/bin/python bench/pages.py --no-seed --json a.json; ... --json b.json
    .venv/bin/python bench/compare_runs.py a.json b.json   # do two runs agree within 10%?
    .venv/bin/python bench/pages.py --no-seed --compare    # 500,000 against 50,000 documents

It creates the bench database (PostgreSQL, --database-url) if needed, migrates it, runs
`manage.py bench_seed` unless bench data is there, then:

1. counts each page's database queries in process (django.test.Client), beside the same page at
   smaller data (fewer customers, a 50-file folder), to show the count does not grow with data;
2. times each page in process, in a fresh process with production settings (PORTAL_DEBUG off):
   django.test.Client, the pages in turn, the time of each request and its SQL time and queries
   (connection.execute_wrapper);
3. starts gunicorn with production settings, as docker-compose.yml runs it (4 gthread workers of
   4 threads), logs the bench users in through the login form, and for 1 and 8 concurrent
   clients and --rounds rounds measures each page against its floor (`bench_floor`, the
   base layout alone, logged in as the same user) in alternating segments (page, floor, floor,
   page, page, ...), so that whatever else the machine does falls on both alike. Per round: p50
   and p95 of the page and of its floor, and their ratios; reported: the median ratio over the
   rounds and its spread (min-max).

With --compare the HTTP part measures each page at 500,000 documents (--database-url) against the
same page at 50,000 (--compare-database-url, seeded with the same partner shape: as many
customers and folders, 5 documents a folder, the same big folder) in alternating segments, two
gunicorns side by side; the ratio 500k/50k per page, median over rounds.

The search pages look for SEARCH_TERM across every customer (admin; staff, with a tenth of them,
for the query count) and, as the customer user (and the primary contact, for the query count), for
CUSTOMER_SEARCH_TERM across the folders shared with them. With --compare the partner search also
looks for STEADY_SEARCH_TERM, which finds the same 1,000 files at both sizes: SEARCH_TERM finds 1
at 50,000 documents and 1,001 at 500,000, so its ratio measures a bigger answer, not more data.

Targets: every page within RATIO_TARGET of its floor (p50 and p95, median of rounds), within
SIZE_RATIO_TARGET at 500k of itself at 50k (but a search whose answer grows with the data, which
is shown beside them), and a query count independent of data size.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

RATIO_TARGET = 2.0
SIZE_RATIO_TARGET = 1.2
# What the search pages look for: about one document in ten folders at the full size (each folder
# has one "... 0042" document, a tenth of them statements), so a full first page of results.
SEARCH_TERM = "kontoutdrag 0042"
# The same files at every size of bench data (the fourth file of every tenth folder, and of the big
# one: 1,000 with 5 documents a folder as with 50), for --compare: the cost of more data alone.
STEADY_SEARCH_TERM = "kontoutdrag 0004"
# The customer user searches one customer's folders: a tenth of their documents are statements.
CUSTOMER_SEARCH_TERM = "kontoutdrag"
DEFAULT_COMPARE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_50k"
# Marks the line of JSON the in-process timing prints for the process that started it.
_JSON_MARK = "BENCH-IN-PROCESS-JSON "


@dataclass
class PageSpec:
    key: str
    label: str
    user: str  # "admin" or "customer"
    url: str
    # The same page at smaller data, for the query count comparison: (label, url, user).
    smaller: tuple[str, str, str] | None = None
    is_floor: bool = False
    compare_only: bool = False  # measured with --compare only
    # Its answer is bigger at 500k than at 50k: --compare shows its ratio, not held to the target.
    answer_grows: bool = False


@dataclass
class Target:
    """One URL on one gunicorn, with the logged-in user's cookies."""

    port: int
    url: str
    cookie: str


@dataclass
class Samples:
    """The counted requests of one side of one alternation: latencies in ms, errors by status."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL)
    parser.add_argument("--var-dir", type=Path, default=common.DEFAULT_VAR_DIR)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--folders-per-customer", type=int, default=10)
    parser.add_argument("--docs-per-folder", type=int, default=50)
    parser.add_argument("--big-folder-docs", type=int, default=500)
    seeding = parser.add_mutually_exclusive_group()
    seeding.add_argument("--no-seed", action="store_true", help="never seed; use the bench data there")
    seeding.add_argument("--reseed", action="store_true", help="bench_seed --reset before measuring")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4, as docker-compose.yml)")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads per gthread worker (4, as docker-compose.yml); 0: sync workers (the Dockerfile's CMD)",
    )
    parser.add_argument("--concurrency", default="1,8", help="concurrent clients, comma-separated (1,8)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds of every page (5); the median is reported (at 3, two consecutive runs' p95 ratios "
        "differed by 10-13%% on three of 18 pages, at 5 by at most 7%%)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=600,
        help="counted requests of a page and of its floor per round (600; at 400, two consecutive runs' "
        "p95 ratios differed by 10.1-10.5%% on two pages, a p95 from a round's 20 slowest requests)",
    )
    parser.add_argument("--segment", type=int, default=20, help="counted requests per segment (20)")
    parser.add_argument(
        "--in-process-requests", type=int, default=40, help="timed requests per page in process (40; 0: skip)"
    )
    parser.add_argument("--debug", action="store_true", help="measure with PORTAL_DEBUG on (not production)")
    parser.add_argument("--only", default="", help="measure only these page keys, comma-separated")
    parser.add_argument("--json", type=Path, help="write every figure to this file (for compare_runs.py)")
    parser.add_argument("--compare", action="store_true", help="500k against 50k documents instead of floors")
    parser.add_argument("--compare-database-url", default=DEFAULT_COMPARE_DATABASE_URL)
    parser.add_argument(
        "--compare-docs-per-folder", type=int, default=5, help="documents per folder of the smaller data (5)"
    )
    # Internal: the in-process timing, run in a process of its own by main().
    parser.add_argument("--in-process-json", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def server_env(args: argparse.Namespace, database_url: str) -> dict[str, str]:
    """What gunicorn and the in-process timing run with: production settings unless --debug."""
    if args.debug:
        return common.portal_env(database_url, args.var_dir)
    return common.production_env(database_url, args.var_dir)


def settings_line(args: argparse.Namespace) -> str:
    if args.debug:
        return "settings: PORTAL_DEBUG on (--debug): Django's query log and debug work inflate Python time"
    return (
        "settings: production (PORTAL_DEBUG off), with a throwaway secret key, an SMTP host nothing "
        "sends to and a bench-made sealing certificate"
    )


def main() -> int:
    args = parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the gunicorns started below are stopped too.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    if args.in_process_json:
        return in_process_main(args)
    started = time.monotonic()
    load_before = os.getloadavg()
    sizes = {
        "customers": args.customers,
        "folders-per-customer": args.folders_per_customer,
        "docs-per-folder": args.docs_per_folder,
        "big-folder-docs": args.big_folder_docs,
    }
    if not ensure_seeded(args, args.database_url, sizes):
        return 2
    if args.compare and not ensure_seeded(
        args, args.compare_database_url, {**sizes, "docs-per-folder": args.compare_docs_per_folder}
    ):
        return 2

    # This process counts queries (with DEBUG's query capture, which works either way) and
    # resolves the pages; it never serves a measured request.
    os.environ.update(server_env(args, args.database_url))
    os.environ["PORTAL_DEMO"] = "true"  # bench_seed's names and sizes
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    from demo.management.commands import bench_seed

    assert bench_seed.PARTNER_NAME == BENCH_PARTNER_NAME, "update BENCH_PARTNER_NAME"
    setup_test_environment()  # the test client records templates' contexts (for page sizes)
    pages, data = resolve_pages(bench_seed)
    pages = [p for p in pages if args.compare or not p.compare_only]
    if args.only:
        wanted = set(args.only.split(","))
        users = {p.user for p in pages if p.key in wanted}
        pages = [p for p in pages if p.key in wanted or (p.is_floor and p.user in users)]
    print(describe(data, args))
    counts, counts_ok = count_queries(pages, bench_seed)
    teardown_test_environment()
    connection.close()
    print(counts.render())
    print()

    databases = {"main": args.database_url}
    if args.compare:
        databases["small"] = args.compare_database_url
    in_process: dict[str, dict[str, Any]] = {}
    for name, url in databases.items():
        in_process[name] = run_in_process(args, url)
    resolved = {name: in_process[name]["pages"] for name in databases}
    for name in databases:  # the other database's ids differ: its own URLs, the same pages
        keys = [p["key"] for p in resolved[name]]
        missing = [p.key for p in pages if p.key not in keys]
        if missing:
            print(f"{databases[name]}: pages not found: {missing}", file=sys.stderr)
            return 2

    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    args.var_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    with contextlib_exit() as stack:
        ports: dict[str, int] = {}
        for name, url in databases.items():
            ports[name] = common.free_port()
            log = args.var_dir / f"gunicorn-pages-{name}.log"
            stack.enter_context(
                common.gunicorn(
                    server_env(args, url),
                    port=ports[name],
                    workers=args.workers,
                    threads=args.threads,
                    log=log,
                    startup=300,  # four workers booting on a busy machine
                )
            )
        cookies = {
            (name, who): cookie_header(f"http://127.0.0.1:{ports[name]}", email, bench_seed.PASSWORD)
            for name in databases
            for who, email in (("admin", bench_seed.ADMIN_EMAIL), ("customer", bench_seed.CUSTOMER_EMAIL))
        }
        urls = {name: {p["key"]: p["url"] for p in resolved[name]} for name in databases}

        def target(name: str, page: PageSpec) -> Target:
            return Target(ports[name], urls[name][page.key], cookies[(name, page.user)])

        floors = {p.user: p for p in pages if p.is_floor}
        pairs: list[tuple[PageSpec, Target, Target]] = []
        for page in pages:
            if args.compare:
                pairs.append((page, target("main", page), target("small", page)))
            elif not page.is_floor:
                pairs.append((page, target("main", page), target("main", floors[page.user])))
        warm_up(pairs, args)
        for level in levels:
            figures[str(level)] = measure_level(pairs, level, args)
    print()
    for level in levels:
        print(level_table(pages, figures[str(level)], in_process, level, args.compare).render())
        print()
    load_after = os.getloadavg()
    answers = ""
    if args.compare:
        found = {name: in_process[name]["data"]["matches"] for name in databases}
        answers = "files found at 50k / 500k: " + "; ".join(
            f"'{term}' {found['small'][term]:,} / {found['main'][term]:,}" for term in found["main"]
        )
    ok = verdict(pages, figures, levels, compare=args.compare, counts_ok=counts_ok, answers=answers)
    load_line = (
        f"load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, "
        f"after {'/'.join(f'{x:.1f}' for x in load_after)}: on {os.cpu_count()} cores, anything else "
        "running makes the figures noisy"
    )
    print(load_line)
    print(settings_line(args))
    elapsed = time.monotonic() - started
    print(f"\ntotal run time {elapsed:.0f} s (gunicorn logs: {args.var_dir}/gunicorn-pages-*.log)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "mode": "compare" if args.compare else "floor",
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "data": data,
                    "load_before": load_before,
                    "load_after": load_after,
                    "seconds": elapsed,
                    "in_process": {name: value["timings"] for name, value in in_process.items()},
                    "counts_ok": counts_ok,
                    "levels": figures,
                },
                indent=1,
            )
        )
        print(f"figures written to {args.json}")
    return 0 if ok else 1


def contextlib_exit() -> Any:
    import contextlib

    return contextlib.ExitStack()


def ensure_seeded(args: argparse.Namespace, database_url: str, sizes: dict[str, int]) -> bool:
    """Create, migrate and seed (unless there is bench data) the database; False if it cannot."""
    env = common.portal_env(database_url, args.var_dir)  # manage.py: the demo app, development values
    if common.ensure_database(database_url):
        print(f"created database {database_url}")
    common.manage(env, "migrate", "-v0")
    exists = has_bench_data(database_url)
    reseed = args.reseed and database_url == args.database_url
    if exists and not reseed:
        return True
    if args.no_seed and database_url == args.database_url:
        print(
            f"no bench data in {database_url}: run without --no-seed, or manage.py bench_seed",
            file=sys.stderr,
        )
        return False
    seed_started = time.monotonic()
    argv = [part for key, value in sizes.items() for part in (f"--{key}", str(value))]
    common.manage(env, "bench_seed", *argv, *(["--reset"] if exists else []))
    print(f"seeded {database_url} in {time.monotonic() - seed_started:.1f} s\n")
    return True


# bench_seed.PARTNER_NAME (bench_seed needs Django set up to import; main() checks they agree).
BENCH_PARTNER_NAME = "Bench Byrå AB"


def has_bench_data(database_url: str) -> bool:
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT 1 FROM partners_partner WHERE name = %s", [BENCH_PARTNER_NAME])
        return row.fetchone() is not None


def resolve_pages(bench_seed: Any) -> tuple[list[PageSpec], dict[str, Any]]:
    from django.conf import settings
    from django.urls import reverse

    from customers.models import Collaboration
    from documents.models import Document, Folder
    from documents.names import search_key

    collaborations = Collaboration.objects.filter(
        partner__org_number=bench_seed.partner_org_number()
    ).order_by("customer__name", "pk")
    first, second = collaborations[0], collaborations[1]
    big = Folder.objects.get(collaboration=first, parent=None, name=bench_seed.BIG_FOLDER_NAME)
    small = Folder.objects.filter(
        collaboration=second, parent=None, customer_access="read", audience="all"
    ).first()
    shared = Folder.objects.filter(
        collaboration=first, parent=None, customer_access="read", audience="all"
    ).exclude(pk=big.pk)
    small_for_customer = shared.first()
    assert small is not None and small_for_customer is not None
    big_docs = Document.objects.filter(folder=big, deleted_at__isnull=True).count()
    page_size = page_size_of(
        reverse("documents:partner_folder", args=[first.pk, big.pk]),
        bench_seed.ADMIN_EMAIL,
        settings.PAGE_SIZE,
    )
    middle = max(1, math.ceil(big_docs / page_size) // 2)
    floor = reverse("bench_floor")
    query = "?" + urlencode({"q": SEARCH_TERM})
    search_all = reverse("documents:partner_search") + query
    pages = [
        PageSpec("floor_admin", "floor (partner admin)", "admin", floor, is_floor=True),
        PageSpec(
            "customers",
            f"Mina samarbeten, page 1 of {collaborations.count():,} customers",
            "admin",
            reverse("customers:customer_list"),
            smaller=("as staff (1/10 of the customers)", reverse("customers:customer_list"), "staff"),
        ),
        PageSpec(
            "partner_root",
            f"Dokument tab (customer with the {big_docs}-file folder)",
            "admin",
            reverse("documents:partner_root", args=[first.pk]),
            smaller=("another customer", reverse("documents:partner_root", args=[second.pk]), "admin"),
        ),
        PageSpec(
            "partner_big_1",
            f"folder of {big_docs} files, page 1",
            "admin",
            reverse("documents:partner_folder", args=[first.pk, big.pk]),
            smaller=(
                "a 50-file folder",
                reverse("documents:partner_folder", args=[second.pk, small.pk]),
                "admin",
            ),
        ),
        PageSpec(
            "partner_big_mid",
            f"folder of {big_docs} files, page {middle}",
            "admin",
            reverse("documents:partner_folder", args=[first.pk, big.pk]) + f"?page={middle}",
        ),
        PageSpec(
            "search_admin",
            f"search '{SEARCH_TERM}' in every customer",
            "admin",
            search_all,
            smaller=("as staff (1/10 of the customers)", search_all, "staff"),
            answer_grows=True,
        ),
        PageSpec(
            "search_admin_steady",
            f"search '{STEADY_SEARCH_TERM}' in every customer",
            "admin",
            reverse("documents:partner_search") + "?" + urlencode({"q": STEADY_SEARCH_TERM}),
            compare_only=True,
        ),
        PageSpec("floor_customer", "floor (customer user)", "customer", floor, is_floor=True),
        PageSpec(
            "collaboration_list",
            "Samarbeten (customer)",
            "customer",
            reverse("customers:collaboration_list"),
        ),
        PageSpec(
            "customer_root",
            "customer: collaboration documents (customer_root)",
            "customer",
            reverse("documents:customer_root", args=[first.pk]),
            smaller=(
                "as the primary contact",
                reverse("documents:customer_root", args=[first.pk]),
                "primary",
            ),
        ),
        PageSpec(
            "customer_big_1",
            f"customer: folder of {big_docs} files, page 1",
            "customer",
            reverse("documents:customer_folder", args=[first.pk, big.pk]),
            smaller=(
                "a 50-file folder",
                reverse("documents:customer_folder", args=[first.pk, small_for_customer.pk]),
                "customer",
            ),
        ),
    ]
    search_for_customer = reverse("documents:customer_search") + "?" + urlencode({"q": CUSTOMER_SEARCH_TERM})
    pages.append(
        PageSpec(
            "search_customer",
            f"customer: search '{CUSTOMER_SEARCH_TERM}' in the folders shared",
            "customer",
            search_for_customer,
            smaller=("as the primary contact", search_for_customer, "primary"),
        )
    )
    data = {
        "customers": collaborations.count(),
        "folders": Folder.objects.filter(
            collaboration__partner__org_number=bench_seed.partner_org_number()
        ).count(),
        "documents": Document.objects.filter(
            folder__collaboration__partner__org_number=bench_seed.partner_org_number()
        ).count(),
        "all_documents": Document.objects.count(),
        "page_size": page_size,
        # What the partner searches find (every match, not only the first 1,000 a page counts).
        "matches": {
            term: Document.objects.filter(
                collaboration__partner__org_number=bench_seed.partner_org_number(),
                deleted_at__isnull=True,
                search_name__contains=search_key(term),
            ).count()
            for term in (SEARCH_TERM, STEADY_SEARCH_TERM)
        },
    }
    return pages, data


def _client_for(who: str, bench_seed: Any) -> Any:
    from django.test import Client

    from portal.models import User

    emails = {
        "admin": bench_seed.ADMIN_EMAIL,
        "staff": bench_seed.STAFF_EMAIL,
        "customer": bench_seed.CUSTOMER_EMAIL,
        "primary": bench_seed.customer_email(0, "a"),
    }
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(email=emails[who]))
    return client


def page_size_of(url: str, email: str, default: int) -> int:
    """How many documents a folder page shows, read from the page object the view rendered."""
    from django.core.paginator import Page
    from django.test import Client

    from portal.models import User

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(email=email))
    response = client.get(url)
    contexts: Any = getattr(response, "context", None) or []
    for context in contexts:
        for value in context.flatten().values():
            if isinstance(value, Page):
                return int(value.paginator.per_page)
    return default


def count_queries(pages: list[PageSpec], bench_seed: Any) -> tuple[common.Table, bool]:
    """Each page's query count (second request, after the process's one-time lookups), beside the
    same page at smaller data; True if every pair is equal."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clients = {who: _client_for(who, bench_seed) for who in ("admin", "staff", "customer", "primary")}

    def queries(who: str, url: str) -> tuple[int, int]:
        client = clients[who]
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        return len(captured.captured_queries), response.status_code

    table = common.Table(["page", "status", "queries", "same page, smaller data", "queries", "equal"])
    counts_ok = True
    for page in pages:
        count, status = queries(page.user, page.url)
        if page.smaller is None:
            table.add(page.label, status, count, "", "", "")
            continue
        label, url, who = page.smaller
        other, other_status = queries(who, url)
        equal = count == other and status == other_status == 200
        counts_ok = counts_ok and equal
        table.add(
            page.label, status, count, label, f"{other} (HTTP {other_status})", "yes" if equal else "NO"
        )
    return table, counts_ok


def in_process_main(args: argparse.Namespace) -> int:
    """--in-process-json: resolve the pages of --database-url and time them in this process;
    print both as one line of JSON for the process that started this one."""
    os.environ.update(server_env(args, args.database_url))
    os.environ["PORTAL_DEMO"] = "true"  # bench_seed's names; the demo app adds no middleware
    import django

    django.setup()
    from django.test.utils import setup_test_environment, teardown_test_environment

    from demo.management.commands import bench_seed

    setup_test_environment()  # page_size_of reads the rendered context
    pages, data = resolve_pages(bench_seed)
    teardown_test_environment()  # timed without the test renderer's context copies
    timings = time_in_process(pages, bench_seed, args.in_process_requests)
    listed = [{"key": p.key, "label": p.label, "user": p.user, "url": p.url} for p in pages]
    print(_JSON_MARK + json.dumps({"pages": listed, "data": data, "timings": timings}), flush=True)
    return 0


def time_in_process(pages: list[PageSpec], bench_seed: Any, requests: int) -> dict[str, dict[str, float]]:
    """Each page `requests` times with django.test.Client, the pages in turn (so a busy moment
    falls on all of them), after three untimed rounds: median ms, median SQL ms, queries."""
    if requests <= 0:
        return {}
    from django.db import connection

    clients = {who: _client_for(who, bench_seed) for who in {p.user for p in pages}}
    sql = [0.0, 0]

    def timed(execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            sql[0] += time.perf_counter() - t0
            sql[1] += 1

    for _ in range(3):
        for page in pages:
            clients[page.user].get(page.url)
    rows: dict[str, list[tuple[float, float, int, int]]] = {p.key: [] for p in pages}
    with connection.execute_wrapper(timed):
        for _ in range(requests):
            for page in pages:
                sql[0], sql[1] = 0.0, 0
                t0 = time.perf_counter()
                response = clients[page.user].get(page.url)
                ms = (time.perf_counter() - t0) * 1000
                rows[page.key].append((ms, sql[0] * 1000, int(sql[1]), response.status_code))
    return {
        key: {
            "ms": statistics.median(r[0] for r in values),
            "sql_ms": statistics.median(r[1] for r in values),
            "queries": max(r[2] for r in values),
            "not_200": sum(1 for r in values if r[3] != 200),
        }
        for key, values in rows.items()
    }


def run_in_process(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    """--in-process-json in a fresh process against `database_url`: its pages (its own ids) and
    their in-process times."""
    argv = [
        common.PYTHON,
        str(Path(__file__).resolve()),
        "--in-process-json",
        "--database-url",
        database_url,
        "--var-dir",
        str(args.var_dir),
        "--in-process-requests",
        str(args.in_process_requests),
        *(["--debug"] if args.debug else []),
    ]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=common.ROOT, stdout=subprocess.PIPE, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith(_JSON_MARK):
            result: dict[str, Any] = json.loads(line[len(_JSON_MARK) :])
            print(f"timed in process against {database_url} in {time.monotonic() - started:.0f} s")
            return result
    raise RuntimeError(f"the in-process timing printed no figures:\n{done.stdout}")


def cookie_header(base: str, email: str, password: str) -> str:
    session = common.login(base, email, password)
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)


def alternate(
    a: Target, b: Target, *, concurrency: int, samples: int, segment: int
) -> tuple[Samples, Samples, float]:
    """Request `a` and `b` in alternating segments (a, b, b, a, a, b, ...) of `segment` counted
    requests until each has at least `samples`, with `concurrency` threads that each take the next
    request of the plan as soon as their last one is answered, so that many are always in flight.
    After each switch from one side to the other the first `concurrency` requests are made but not
    counted (they overlap the other side's last ones), nor are `concurrency` more at the end (while
    the last counted ones are in flight); each thread opens a new connection at a switch, so the
    connections spread afresh over gunicorn's workers. Returns a's and b's samples and the wall time.
    """
    segments_each = max(1, math.ceil(samples / segment))
    plan: list[tuple[int, bool]] = []  # (side, counted)
    previous = -1
    for i in range(2 * segments_each):
        side = 0 if i % 4 in (0, 3) else 1
        if side != previous:
            plan += [(side, False)] * concurrency
        plan += [(side, True)] * segment
        previous = side
    plan += [(previous, False)] * concurrency
    targets = (a, b)
    lock = threading.Lock()
    cursor = [0]
    collected: list[list[tuple[int, float, str, bool]]] = []

    def client() -> None:
        connection: http.client.HTTPConnection | None = None
        side_now = -1
        mine: list[tuple[int, float, str, bool]] = []
        while True:
            with lock:
                i = cursor[0]
                cursor[0] += 1
            if i >= len(plan):
                break
            side, counted = plan[i]
            target = targets[side]
            if side != side_now or connection is None:
                if connection is not None:
                    connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
                side_now = side
            t0 = time.perf_counter()
            try:
                connection.request("GET", target.url, headers={"Cookie": target.cookie})
                response = connection.getresponse()
                response.read()  # only the status matters; reading the body keeps the connection
                status = str(response.status)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = None
                status = type(error).__name__
            mine.append((side, (time.perf_counter() - t0) * 1000, status, counted))
        if connection is not None:
            connection.close()
        with lock:
            collected.append(mine)

    gc.collect()
    gc.disable()  # the client's own pauses stay out of the samples
    try:
        threads = [threading.Thread(target=client) for _ in range(concurrency)]
        t_start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - t_start
    finally:
        gc.enable()
    out = (Samples(), Samples())
    for mine in collected:
        for side, ms, status, counted in mine:
            if status != "200":
                out[side].errors[status] = out[side].errors.get(status, 0) + 1
            elif counted:
                out[side].latencies.append(ms)
    return out[0], out[1], wall


def plan_length(concurrency: int, samples: int, segment: int) -> int:
    segments_each = max(1, math.ceil(samples / segment))
    switches = segments_each + 1  # a, bb, aa, ..., and the tail
    return 2 * segments_each * segment + switches * concurrency


def warm_up(pairs: list[tuple[PageSpec, Target, Target]], args: argparse.Namespace) -> None:
    """Every page and floor on every worker before anything counts (a worker's first requests
    load templates, translations and PostgreSQL's pages of the data), and the time of a request at
    1 and at the highest concurrency, for the estimate."""
    started = time.monotonic()
    top = max(int(c) for c in args.concurrency.split(","))
    per_request: dict[int, float] = {1: 0.0, top: 0.0}
    for page, a, b in pairs:
        many_a, many_b, wall_many = alternate(
            a, b, concurrency=top, samples=args.workers * max(1, args.threads), segment=args.segment
        )
        one_a, one_b, wall_one = alternate(a, b, concurrency=1, samples=5, segment=5)
        for side in (one_a, one_b, many_a, many_b):
            if side.errors:
                print(f"warning: {page.label}: {side.errors} while warming up")
        per_request[1] += wall_one / plan_length(1, 5, 5)
        per_request[top] += wall_many / plan_length(top, args.workers * max(1, args.threads), args.segment)
    args.per_request = per_request
    print(f"warmed up in {time.monotonic() - started:.0f} s")
    total = 0.0
    for level in (int(c) for c in args.concurrency.split(",")):
        per = per_request[1] if level == 1 else per_request[top]
        total += args.rounds * per * plan_length(level, args.samples, args.segment)
    print(f"estimated measuring time {total / 60:.1f} min", flush=True)


def measure_level(
    pairs: list[tuple[PageSpec, Target, Target]], level: int, args: argparse.Namespace
) -> dict[str, Any]:
    """--rounds rounds of every pair at `level` clients, a round of every page before the next
    round; per round p50/p95 of both sides and their ratios, then medians and spreads."""
    rounds: dict[str, list[dict[str, float]]] = {page.key: [] for page, _a, _b in pairs}
    errors: dict[str, dict[str, int]] = {page.key: {} for page, _a, _b in pairs}
    for number in range(1, args.rounds + 1):
        started = time.monotonic()
        for page, a, b in pairs:
            side_a, side_b, _wall = alternate(
                a, b, concurrency=level, samples=args.samples, segment=args.segment
            )
            for side in (side_a, side_b):
                for status, n in side.errors.items():
                    errors[page.key][status] = errors[page.key].get(status, 0) + n
            figures = {
                "a_p50": common.percentile(side_a.latencies, 0.5),
                "a_p95": common.percentile(side_a.latencies, 0.95),
                "b_p50": common.percentile(side_b.latencies, 0.5),
                "b_p95": common.percentile(side_b.latencies, 0.95),
                "n": float(min(len(side_a.latencies), len(side_b.latencies))),
            }
            figures["r50"] = figures["a_p50"] / figures["b_p50"]
            figures["r95"] = figures["a_p95"] / figures["b_p95"]
            rounds[page.key].append(figures)
        print(
            f"  {level} client(s), round {number}/{args.rounds}: {time.monotonic() - started:.0f} s",
            flush=True,
        )
    summary: dict[str, Any] = {}
    for page, _a, _b in pairs:
        values = rounds[page.key]

        def med(name: str, values: list[dict[str, float]] = values) -> float:
            return float(statistics.median(v[name] for v in values))

        summary[page.key] = {
            "label": page.label,
            "rounds": values,
            "errors": errors[page.key],
            **{name: med(name) for name in ("a_p50", "a_p95", "b_p50", "b_p95", "r50", "r95")},
            "r95_min": min(v["r95"] for v in values),
            "r95_max": max(v["r95"] for v in values),
            "r50_min": min(v["r50"] for v in values),
            "r50_max": max(v["r50"] for v in values),
        }
    return summary


def _spread(row: dict[str, Any], q: str) -> str:
    return f"{row[q]:.2f} ({row[q + '_min']:.2f}-{row[q + '_max']:.2f})"


def level_table(
    pages: list[PageSpec], figures: dict[str, Any], in_process: dict[str, Any], level: int, compare: bool
) -> common.Table:
    main = in_process["main"]["timings"]
    if compare:
        small = in_process["small"]["timings"]
        table = common.Table(
            [
                f"page ({level} client{'s' if level > 1 else ''})",
                "p95 50k",
                "p95 500k",
                "500k/50k p95 (min-max)",
                "p50",
                "in-proc ms 50k/500k",
                "SQL ms 50k/500k",
                "queries",
                "errors",
            ]
        )
        for page in pages:
            row = figures[page.key]
            a, b = main.get(page.key, {}), small.get(page.key, {})
            table.add(
                page.label,
                f"{row['b_p95']:.1f}",
                f"{row['a_p95']:.1f}",
                _spread(row, "r95"),
                f"{row['r50']:.2f}",
                f"{b.get('ms', 0):.1f} / {a.get('ms', 0):.1f}",
                f"{b.get('sql_ms', 0):.1f} / {a.get('sql_ms', 0):.1f}",
                f"{b.get('queries', '-')} / {a.get('queries', '-')}",
                _errors(row),
            )
        return table
    table = common.Table(
        [
            f"page ({level} client{'s' if level > 1 else ''})",
            "p50 ms",
            "p95 ms",
            "floor p95",
            "p95/floor (min-max)",
            "p50/floor (min-max)",
            "in-proc ms",
            "SQL ms",
            "queries",
            "errors",
        ]
    )
    for page in pages:
        timing = main.get(page.key, {})
        in_proc = (
            [f"{timing['ms']:.1f}", f"{timing['sql_ms']:.1f}", str(timing["queries"])]
            if timing
            else ["-"] * 3
        )
        if page.is_floor:
            floor_rows = [
                r for p in pages if not p.is_floor and p.user == page.user for r in [figures[p.key]]
            ]
            p50 = statistics.median(r["b_p50"] for r in floor_rows) if floor_rows else float("nan")
            p95 = statistics.median(r["b_p95"] for r in floor_rows) if floor_rows else float("nan")
            table.add(page.label, f"{p50:.1f}", f"{p95:.1f}", f"{p95:.1f}", "1.00", "1.00", *in_proc, "-")
            continue
        row = figures[page.key]
        table.add(
            page.label,
            f"{row['a_p50']:.1f}",
            f"{row['a_p95']:.1f}",
            f"{row['b_p95']:.1f}",
            _spread(row, "r95"),
            _spread(row, "r50"),
            *in_proc,
            _errors(row),
        )
    return table


def _errors(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in row["errors"].items()) or "-"


def verdict(
    pages: list[PageSpec],
    figures: dict[str, Any],
    levels: list[int],
    *,
    compare: bool,
    counts_ok: bool,
    answers: str = "",
) -> bool:
    """Print how the figures stand against the targets; True if they all meet them. `answers`:
    what the searches find at each size (--compare)."""
    target = SIZE_RATIO_TARGET if compare else RATIO_TARGET
    what = "500k/50k" if compare else "ratio to floor"
    worst = (0.0, "")
    spread = (0.0, "")
    failures: list[str] = []
    grown: list[str] = []
    for level in levels:
        for page in pages:
            if page.is_floor or page.key not in figures[str(level)]:
                continue
            row = figures[str(level)][page.key]
            where = f"{page.label} at {level} client(s)"
            if compare and page.answer_grows:
                grown.append(f"{where}: 500k/50k p95 {_spread(row, 'r95')}, p50 {_spread(row, 'r50')}")
                continue
            if row["errors"]:
                failures.append(f"{where}: errors {row['errors']}")
            for q in ("r50", "r95"):
                worst = max(worst, (row[q], f"{where}, p{q[1:]}"))
                if row[q] > target:
                    failures.append(f"{where}: p{q[1:]} {row[q]:.2f}x (rounds {_spread(row, q)})")
            spread = max(spread, ((row["r95_max"] - row["r95_min"]) / row["r95"], where))
    print(f"worst {what} (median of rounds): {worst[0]:.2f}x, {worst[1]} (target <= {target:g}x)")
    print(f"widest spread of the p95 ratio over rounds: {spread[0]:.0%} of its median, {spread[1]}")
    if compare:
        for level in levels:
            for page in pages:
                if page.is_floor:
                    row = figures[str(level)][page.key]
                    print(
                        f"  control: {page.label} at {level} client(s), 500k/50k p95 {_spread(row, 'r95')} "
                        "(the same page on both: its distance from 1.00 is the method's noise)"
                    )
    if grown:
        print(f"not held to the target, as their answers grow with the data ({answers}):")
        for line in grown:
            print(f"  - {line}")
    print(f"query counts independent of data size: {'yes' if counts_ok else 'NO'}")
    if failures:
        print("over target or failing:")
        for line in failures:
            print(f"  - {line}")
    else:
        print("all pages within target")
    return counts_ok and not failures


def describe(data: dict[str, Any], args: argparse.Namespace) -> str:
    server = (
        f"{args.workers} gthread workers x {args.threads} threads"
        if args.threads
        else f"{args.workers} sync workers"
    )
    return (
        f"bench data: {data['customers']:,} customers, {data['folders']:,} folders, "
        f"{data['documents']:,} documents (database total {data['all_documents']:,}); "
        f"folder page size {data['page_size']}\n"
        f"gunicorn: {server} on {os.cpu_count()} cores; {args.rounds} rounds of "
        f"{args.samples} counted requests of each page and of its "
        f"{'other size' if args.compare else 'floor'}, alternating in segments of {args.segment}\n"
        f"{settings_line(args)}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
