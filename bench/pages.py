"""Page benchmark: the documents pages at 500,000 documents against a floor page, under gunicorn.

    .venv/bin/python bench/pages.py                 # seed if needed, then measure (about 4 minutes)
    .venv/bin/python bench/pages.py --no-seed       # use the bench data that is there
    .venv/bin/python bench/pages.py --reseed        # bench_seed --reset first

It creates the bench database (PostgreSQL, --database-url) if needed, migrates it, runs
`manage.py bench_seed` unless bench data is there, then:

1. counts each page's database queries in process (django.test.Client), beside the same page at
   smaller data (fewer customers, a 50-file folder), to show the count does not grow with data;
2. starts gunicorn (sync workers) on a free loopback port, logs the bench users in through the
   login form, and for 1 and 8 concurrent clients requests each page for a bounded time,
   reporting p50/p95 latency and each page's ratio to the floor page (`portal:bench_floor`, the
   base layout alone, logged in as the same user), measured in the same run before and after.

The search pages look for SEARCH_TERM across every customer (admin; staff, with a tenth of them,
for the query count) and, as the customer user (and the primary contact, for the query count), for
CUSTOMER_SEARCH_TERM across the folders shared with them.

Target: every page within 3x its floor, with a query count independent of data size.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

RATIO_TARGET = 3.0
# What the search pages look for: about one document in ten folders at the full size (each folder
# has one "... 0042" document, a tenth of them statements), so a full first page of results.
SEARCH_TERM = "kontoutdrag 0042"
# The customer user searches one customer's folders: a tenth of their documents are statements.
CUSTOMER_SEARCH_TERM = "kontoutdrag"


@dataclass
class PageSpec:
    key: str
    label: str
    user: str  # "admin" or "customer"
    url: str
    # The same page at smaller data, for the query count comparison: (label, url, user).
    smaller: tuple[str, str, str] | None = None
    is_floor: bool = False


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # ms
    errors: dict[int | str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def parse_args() -> argparse.Namespace:
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
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (4)")
    parser.add_argument("--concurrency", default="1,8", help="concurrent clients, comma-separated (1,8)")
    parser.add_argument("--seconds", type=float, default=6.0, help="time per page and concurrency (6)")
    parser.add_argument("--max-requests", type=int, default=2000, help="requests per page and concurrency")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    env = common.portal_env(args.database_url, args.var_dir)
    if common.ensure_database(args.database_url):
        print(f"created database {args.database_url}")
    common.manage(env, "migrate", "-v0")
    os.environ.update(env)
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client records templates' contexts (for page counts)

    from demo.management.commands import bench_seed

    sizes = [
        "--customers",
        str(args.customers),
        "--folders-per-customer",
        str(args.folders_per_customer),
        "--docs-per-folder",
        str(args.docs_per_folder),
        "--big-folder-docs",
        str(args.big_folder_docs),
    ]
    from partners.models import Partner

    exists = Partner.objects.filter(org_number=bench_seed.partner_org_number()).exists()
    if args.reseed or not exists:
        if args.no_seed:
            print("no bench data: run without --no-seed, or manage.py bench_seed", file=sys.stderr)
            return 2
        seed_started = time.monotonic()
        common.manage(env, "bench_seed", *sizes, *(["--reset"] if exists else []))
        print(f"seeded in {time.monotonic() - seed_started:.1f} s\n")

    pages, data = resolve_pages(bench_seed)
    print(describe(data, args))
    load_before = os.getloadavg()
    counts, counts_ok = count_queries(pages, bench_seed)
    print(counts.render())
    print()

    port = common.free_port()
    base = f"http://127.0.0.1:{port}"
    log = args.var_dir / "gunicorn-pages.log"
    args.var_dir.mkdir(parents=True, exist_ok=True)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    results: dict[tuple[str, int], Result] = {}
    with common.gunicorn(env, port=port, workers=args.workers, log=log):
        sessions = {
            "admin": common.login(base, bench_seed.ADMIN_EMAIL, bench_seed.PASSWORD),
            "customer": common.login(base, bench_seed.CUSTOMER_EMAIL, bench_seed.PASSWORD),
        }
        for page in pages:  # every page answers before anything is timed
            check = sessions[page.user].get(base + page.url, timeout=60, allow_redirects=False)
            if check.status_code != 200:
                print(f"warning: {page.label} answers HTTP {check.status_code}")
        for level in levels:
            for page in pages:
                results[(page.key, level)] = run_load(
                    base + page.url, sessions[page.user], level, args.seconds, args.max_requests, args.workers
                )
                print(f"  measured {page.label} at {level} client(s)", flush=True)
            # The floor again after the pages: its samples from before and after are combined.
            for page in pages:
                if page.is_floor:
                    again = run_load(
                        base + page.url,
                        sessions[page.user],
                        level,
                        args.seconds,
                        args.max_requests,
                        args.workers,
                    )
                    first = results[(page.key, level)]
                    first.latencies += again.latencies
                    first.elapsed += again.elapsed
                    for status, n in again.errors.items():
                        first.errors[status] = first.errors.get(status, 0) + n
    print()
    print(report(pages, results, levels).render())
    print()
    verdict(pages, results, levels, counts_ok=counts_ok)
    load_after = os.getloadavg()
    print(
        f"load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, "
        f"after {'/'.join(f'{x:.1f}' for x in load_after)}: on {os.cpu_count()} cores, anything else "
        "running makes the figures noisy"
    )
    print(f"\ntotal run time {time.monotonic() - started:.0f} s (gunicorn log: {log})")
    return 0


def resolve_pages(bench_seed: Any) -> tuple[list[PageSpec], dict[str, Any]]:
    from django.conf import settings
    from django.urls import reverse

    from customers.models import Collaboration
    from documents.models import Document, Folder

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


def run_load(
    url: str, template: requests.Session, concurrency: int, seconds: float, max_requests: int, workers: int
) -> Result:
    """`concurrency` threads, each with its own connection and the logged-in session's cookies,
    request `url` back to back until `seconds` pass or `max_requests` are made."""
    for _ in range(2 * workers):  # warm every worker up on this page
        template.get(url, timeout=60, allow_redirects=False)
    result = Result()
    lock = threading.Lock()
    budget = [max_requests]
    deadline = time.monotonic() + seconds

    def client() -> None:
        session = requests.Session()
        session.cookies.update(template.cookies)
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            t0 = time.perf_counter()
            try:
                response = session.get(url, timeout=60, allow_redirects=False)
                status: int | str = response.status_code
                _ = response.content
            except requests.RequestException as error:
                status = type(error).__name__
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                if status == 200:
                    result.latencies.append(ms)
                else:
                    result.errors[status] = result.errors.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    t_start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.monotonic() - t_start
    return result


def report(pages: list[PageSpec], results: dict[tuple[str, int], Result], levels: list[int]) -> common.Table:
    table = common.Table(
        ["page", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p50/floor", "p95/floor", "errors"]
    )
    for level in levels:
        floors = {p.user: results[(p.key, level)] for p in pages if p.is_floor}
        for page in pages:
            result = results[(page.key, level)]
            p50, p95 = common.percentile(result.latencies, 0.5), common.percentile(result.latencies, 0.95)
            floor = floors[page.user]
            f50, f95 = common.percentile(floor.latencies, 0.5), common.percentile(floor.latencies, 0.95)
            errors = ", ".join(f"{k}: {v}" for k, v in result.errors.items()) or "-"
            table.add(
                page.label,
                level,
                len(result.latencies),
                f"{result.rps:.0f}",
                f"{p50:.1f}",
                f"{p95:.1f}",
                "1.00" if page.is_floor else f"{p50 / f50:.2f}",
                "1.00" if page.is_floor else f"{p95 / f95:.2f}",
                errors,
            )
    return table


def verdict(
    pages: list[PageSpec], results: dict[tuple[str, int], Result], levels: list[int], *, counts_ok: bool
) -> None:
    worst = 0.0
    failures: list[str] = []
    for level in levels:
        floors = {p.user: results[(p.key, level)] for p in pages if p.is_floor}
        for page in pages:
            if page.is_floor:
                continue
            result, floor = results[(page.key, level)], floors[page.user]
            if result.errors or not result.latencies:
                failures.append(f"{page.label} at {level}: errors {result.errors}")
                continue
            for q in (0.5, 0.95):
                ratio = common.percentile(result.latencies, q) / common.percentile(floor.latencies, q)
                worst = max(worst, ratio)
                if ratio > RATIO_TARGET:
                    failures.append(f"{page.label} at {level} client(s): p{int(q * 100)} {ratio:.2f}x floor")
    print(f"worst ratio to floor: {worst:.2f}x (target <= {RATIO_TARGET:.0f}x)")
    print(f"query counts independent of data size: {'yes' if counts_ok else 'NO'}")
    if failures:
        print("over target or failing:")
        for line in failures:
            print(f"  - {line}")
    else:
        print("all pages within target")


def describe(data: dict[str, Any], args: argparse.Namespace) -> str:
    return (
        f"bench data: {data['customers']:,} customers, {data['folders']:,} folders, "
        f"{data['documents']:,} documents (database total {data['all_documents']:,}); "
        f"folder page size {data['page_size']}\n"
        f"gunicorn: {args.workers} sync workers on {os.cpu_count()} cores; "
        f"{args.seconds:g} s per page and concurrency (floor twice), at most {args.max_requests} requests\n"
    )


if __name__ == "__main__":
    sys.exit(main())
