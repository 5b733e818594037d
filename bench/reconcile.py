"""Reconcile benchmark: the nightly storage reconcile over the bench data (500,000 documents).

    .venv/bin/python bench/reconcile.py             # seeds the full size first if there is no bench data
    .venv/bin/python bench/reconcile.py --no-seed   # use what is there

Runs `billing.services.storage_reconcile()` in process against the bench database:

1. once to settle the counters (bench_seed writes rows with COPY, past the services, so the bench
   partner's counter starts wrong: that first run is itself a fix of real drift);
2. `--runs` times with no drift: wall time, queries (must be one aggregate per usage source plus
   the counters, whatever the number of documents), and nothing fixed;
3. `--runs` times with drift injected (the bench partner's counter moved by a few bytes first):
   the drift is found and fixed, with one more aggregate for that partner under its row lock;
4. EXPLAIN ANALYZE of the aggregate, to show it is one scan, not a loop over rows.

Prints the figures; the target is one aggregate query per partner (here: one for all of them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=common.DEFAULT_DATABASE_URL)
    parser.add_argument("--var-dir", type=Path, default=common.DEFAULT_VAR_DIR)
    parser.add_argument("--runs", type=int, default=5, help="timed runs with and without drift (default 5)")
    parser.add_argument(
        "--no-seed", action="store_true", help="fail instead of seeding when there is no bench data"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    env = common.portal_env(args.database_url, args.var_dir)
    if common.ensure_database(args.database_url):
        print(f"created database {args.database_url}")
    common.manage(env, "migrate", "-v0")
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing import services, usage
    from demo.management.commands import bench_seed
    from documents.models import Document, DocumentVersion
    from partners.models import Partner

    partner = Partner.objects.filter(org_number=bench_seed.partner_org_number()).first()
    if partner is None:
        if args.no_seed:
            print("no bench data: run without --no-seed, or manage.py bench_seed", file=sys.stderr)
            return 2
        common.manage(env, "bench_seed")
        partner = Partner.objects.get(org_number=bench_seed.partner_org_number())

    documents = Document.objects.count()
    versions = DocumentVersion.objects.filter(deleted_at__isnull=True).count()
    print(
        f"bench data: {documents:,} documents, {versions:,} live versions, "
        f"{Partner.objects.count():,} partners; load average {os.getloadavg()[0]:.1f}"
    )

    started = time.perf_counter()
    settled = services.storage_reconcile()
    print(
        f"settling run: {(time.perf_counter() - started) * 1000:.0f} ms, fixed "
        + (", ".join(f"partner {d.partner_id}: {d.counted:,} -> {d.actual:,}" for d in settled) or "nothing")
    )

    def timed(inject: bool) -> tuple[float, int, int]:
        if inject:
            Partner.objects.filter(pk=partner.pk).update(storage_used_bytes=partner.storage_used_bytes + 4096)
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            fixed = services.storage_reconcile()
            elapsed = (time.perf_counter() - t0) * 1000
        return elapsed, len(queries.captured_queries), len(fixed)

    partner.refresh_from_db()
    table = common.Table(["run", "ms (median)", "ms (min..max)", "queries", "partners fixed"])
    for label, inject in (("no drift", False), ("drift injected", True)):
        results = [timed(inject) for _ in range(args.runs)]
        times = [r[0] for r in results]
        table.add(
            label,
            f"{statistics.median(times):.0f}",
            f"{min(times):.0f}..{max(times):.0f}",
            "/".join(sorted({str(r[1]) for r in results})),
            "/".join(sorted({str(r[2]) for r in results})),
        )
    print(table.render())

    partner.refresh_from_db()
    actual = usage.bytes_by_partner(partner.pk).get(partner.pk, 0)
    print(f"bench partner: counter {partner.storage_used_bytes:,} bytes, stored sizes sum to {actual:,}")

    from documents.usage import stored_bytes

    sql, params = stored_bytes(None).query.sql_with_params()  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}", params)
        plan = [row[0] for row in cursor.fetchall()]
    print("\nthe aggregate (all partners at once):")
    print("\n".join(f"  {line}" for line in plan))
    ok = partner.storage_used_bytes == actual
    print(f"\ncounter equals the stored sizes: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
