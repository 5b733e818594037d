"""bench/load.py's verdict: what counts as a missed target, from recorded requests and memory samples.

The benchmark itself (a minute of locust against real processes) is not run here: on a busy
machine its figures and its run time are not steady enough for `make test`. This checks the
arithmetic that turns its records into pass or fail, and that the command line parses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import load

ROOT = Path(__file__).resolve().parent.parent.parent


def records(
    name: str, times: list[float], kind: str = "", sent: int = 0
) -> list[tuple[str, float, str, float, int]]:
    return [(name, ms, kind, 1.0, sent) for ms in times]


FLOOR = records(load.FLOOR, [10.0] * 100)
FLAT = load.memory_verdict([(0.0, {1: 100_000, 2: 100_000}), (40.0, {1: 101_000, 2: 101_000})], 20.0)


def test_every_target_met_gives_no_misses(capsys) -> None:
    pages = load.pages_of([*FLOOR, *records("folder (partner)", [40.0] * 100)])
    assert load.report(pages, 60.0, 300.0, FLAT) == []
    out = capsys.readouterr().out
    assert "folder (partner)" in out
    assert "4.0x" in out


def test_a_page_over_five_times_the_floor_is_missed() -> None:
    pages = load.pages_of([*FLOOR, *records("folder (partner)", [40.0] * 90 + [60.0] * 10)])
    missed = load.report(pages, 60.0, 300.0, FLAT)
    assert missed == ["folder (partner): p95 6.0x the floor's (target 5x)"]


def test_any_error_is_missed_whatever_its_time() -> None:
    pages = load.pages_of([*FLOOR, *records("download", [5.0] * 99), *records("download", [5.0], "HTTP 500")])
    missed = load.report(pages, 60.0, 300.0, FLAT)
    assert missed == ["download: 1 errors"]
    assert pages["download"].errors == {"HTTP 500": 1}


def test_logins_emails_and_big_uploads_are_not_held_to_the_ratio(capsys) -> None:
    pages = load.pages_of(
        [
            *FLOOR,
            *records("login (customer)", [900.0] * 10),
            *records("email: signing request", [2000.0] * 3),
            *records("upload 1-20 MB", [1000.0] * 4, sent=20_000_000),
            *records("upload PDF", [100.0] * 4, sent=5_000),
        ]
    )
    missed = load.report(pages, 60.0, 300.0, FLAT)
    # The small PDF upload is a page like any other: 10x the floor.
    assert missed == ["upload PDF: p95 10.0x the floor's (target 5x)"]
    assert pages["upload 1-20 MB"].rates == [20.0] * 4
    assert "upload 1-20 MB median 20 MB/s" in capsys.readouterr().out


def test_no_floor_measured_is_missed() -> None:
    missed = load.report(load.pages_of(records("download", [5.0] * 10)), 60.0, 300.0, FLAT)
    assert "the floor page was never measured" in missed


def test_memory_growing_after_the_warm_up_is_not_flat() -> None:
    mib = 1024
    samples = [(0.0, {1: 100 * mib, 2: 100 * mib}), (30.0, {1: 150 * mib, 2: 150 * mib})]
    grown = [*samples, (60.0, {1: 176 * mib, 2: 176 * mib})]  # 300 -> 352 MiB, allowed 350
    kept = [*samples, (60.0, {1: 174 * mib, 2: 174 * mib})]
    assert not load.memory_verdict(grown, 30.0).flat
    assert load.memory_verdict(kept, 30.0).flat
    assert load.memory_verdict(kept, 30.0).warm == 300  # the warm-up value, not the start
    missed = load.report(load.pages_of(FLOOR), 60.0, 300.0, load.memory_verdict(grown, 30.0))
    assert missed == ["web memory not flat: 300 -> 352 MiB"]


def test_a_restarted_worker_is_not_flat() -> None:
    restarted = [(0.0, {1: 1000, 2: 1000}), (30.0, {1: 1000, 2: 1000}), (60.0, {1: 1000, 3: 500})]
    assert not load.memory_verdict(restarted, 30.0).flat


def test_help_lists_the_options() -> None:
    answer = subprocess.run(
        [sys.executable, "bench/load.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 0
    for option in ("--users", "--seconds", "--database-url", "--keep", "--redis-db"):
        assert option in answer.stdout
