"""Do two runs of bench/pages.py agree? Compares the figures two `--json` files hold.

    .venv/bin/python bench/pages.py --no-seed --json a.json
    .venv/bin/python bench/pages.py --no-seed --json b.json
    .venv/bin/python bench/compare_runs.py a.json b.json [--tolerance 0.10]

For every page and concurrency in both runs it prints the median p95 ratio (to the floor, or
500k/50k for --compare runs) of each run and their relative difference, max/min - 1, and judges
the p95 ratio against the tolerance; the p50 ratios are shown beside, not judged. Exit status 0
when every page agrees, 1 when one does not, 2 when the runs cannot be compared.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def difference(a: float, b: float) -> float:
    """How far apart two positive figures are, the same whichever comes first: max/min - 1."""
    low, high = sorted((a, b))
    return high / low - 1 if low > 0 else float("inf")


def compare(
    first: dict[str, Any], second: dict[str, Any], tolerance: float
) -> tuple[common.Table, list[str]]:
    table = common.Table(
        [
            "page",
            "clients",
            "p95 ratio A",
            "p95 ratio B",
            "differ",
            "agree",
            "p50 ratio A",
            "p50 ratio B",
            "differ",
        ]
    )
    disagree: list[str] = []
    for level, pages in first["levels"].items():
        other = second["levels"].get(level, {})
        for key, row in pages.items():
            if key not in other:
                continue
            peer = other[key]
            d95 = difference(row["r95"], peer["r95"])
            d50 = difference(row["r50"], peer["r50"])
            agree = d95 <= tolerance
            if not agree:
                disagree.append(f"{row['label']} at {level} client(s): {d95:.0%}")
            table.add(
                row["label"],
                level,
                f"{row['r95']:.2f}",
                f"{peer['r95']:.2f}",
                f"{d95:.0%}",
                "yes" if agree else "NO",
                f"{row['r50']:.2f}",
                f"{peer['r50']:.2f}",
                f"{d50:.0%}",
            )
    return table, disagree


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.10, help="largest relative difference (0.10)")
    args = parser.parse_args()
    first, second = (json.loads(path.read_text()) for path in (args.first, args.second))
    if first["mode"] != second["mode"]:
        print(f"cannot compare a {first['mode']} run with a {second['mode']} run", file=sys.stderr)
        return 2
    table, disagree = compare(first, second, args.tolerance)
    if not table.rows:
        print("no page and concurrency in both runs", file=sys.stderr)
        return 2
    print(table.render())
    print()
    for name, run in (("A", first), ("B", second)):
        load = "/".join(f"{x:.1f}" for x in run["load_before"])
        after = "/".join(f"{x:.1f}" for x in run["load_after"])
        print(f"{name}: {run['args'].get('json', '')}, load average before {load}, after {after}")
    if disagree:
        print(f"runs differ by more than {args.tolerance:.0%} on:")
        for line in disagree:
            print(f"  - {line}")
        return 1
    print(f"every page's p95 ratio agrees within {args.tolerance:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
