"""portal.supervisor with real child processes: a child that dies is logged and started again,
one that dies at once is retried slower and slower, and stop() leaves nothing behind."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.supervisor import Child, Supervisor

PYTHON = sys.executable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still "exists" until its parent reaps it; it is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _run(supervisor: Supervisor, seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        if callable(until) and until():
            return
        time.sleep(0.02)


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.stop()


def _supervisor(made: list[Supervisor], *children: Child, **options: float) -> Supervisor:
    supervisor = Supervisor(children, cwd=os.getcwd(), env=dict(os.environ), stop_timeout=5, **options)
    made.append(supervisor)
    supervisor.start()
    return supervisor


def test_a_killed_child_is_logged_and_started_again(
    supervisors: list[Supervisor], caplog: pytest.LogCaptureFixture
) -> None:
    sleeper = Child("sleeper", [PYTHON, "-c", "import time; time.sleep(60)"])
    other = Child("other", [PYTHON, "-c", "import time; time.sleep(60)"])
    supervisor = _supervisor(supervisors, sleeper, other, initial_backoff=0.1)
    assert sleeper.process is not None and other.process is not None
    first, other_pid = sleeper.process.pid, other.process.pid
    caplog.set_level(logging.INFO, logger="portal.supervisor")
    os.kill(first, 9)
    _run(supervisor, 10, until=lambda: sleeper.starts == 2)
    assert sleeper.starts == 2 and sleeper.process is not None
    assert sleeper.process.pid != first and _alive(sleeper.process.pid)
    assert sleeper.exits == [-9]
    assert other.process.pid == other_pid and other.starts == 1  # the others were left alone
    assert f"sleeper (pid {first}) was killed by signal SIGKILL" in caplog.text


def test_a_child_that_dies_at_once_is_retried_slower_and_slower(
    supervisors: list[Supervisor], caplog: pytest.LogCaptureFixture
) -> None:
    crasher = Child("crasher", [PYTHON, "-c", "import sys; sys.exit(3)"])
    supervisor = _supervisor(supervisors, crasher, initial_backoff=0.2, max_backoff=0.8, stable_seconds=30)
    caplog.set_level(logging.INFO, logger="portal.supervisor")
    _run(supervisor, 3.0)
    # Without a back-off it would have started about a hundred times; with it: 0, 0.2, 0.6, 1.4, 2.2 s.
    assert 3 <= crasher.starts <= 6, crasher.starts
    assert set(crasher.exits) == {3}
    assert crasher.backoff == 0.8
    assert "crasher" in caplog.text and "exited with code 3" in caplog.text


def test_a_child_that_had_run_a_while_is_back_after_the_first_pause(supervisors: list[Supervisor]) -> None:
    child = Child("web", [PYTHON, "-c", "import time; time.sleep(60)"])
    supervisor = _supervisor(supervisors, child, initial_backoff=0.1, max_backoff=5, stable_seconds=0.3)
    child.backoff = 5  # as after many quick deaths
    time.sleep(0.4)
    assert child.process is not None
    os.kill(child.process.pid, 9)
    _run(supervisor, 5, until=lambda: child.starts == 2)
    assert child.starts == 2 and child.backoff == 0.1


def test_what_a_dead_child_left_in_its_group_is_killed_before_it_starts_again(
    supervisors: list[Supervisor], tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time;"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid));"
        "time.sleep(60)"
    )
    worker = Child("worker", [PYTHON, "-c", script])
    supervisor = _supervisor(supervisors, worker, initial_backoff=0.1)
    assert _wait_for(lambda: pid_file.exists() and pid_file.read_text() != "")
    grandchild = int(pid_file.read_text())
    pid_file.unlink()
    assert worker.process is not None
    os.kill(worker.process.pid, 9)
    _run(supervisor, 10, until=lambda: worker.starts == 2)
    assert _wait_for(lambda: not _alive(grandchild))


def test_stop_stops_every_child_and_nothing_starts_again(supervisors: list[Supervisor]) -> None:
    children = [Child(f"c{n}", [PYTHON, "-c", "import time; time.sleep(60)"]) for n in range(3)]
    supervisor = _supervisor(supervisors, *children, initial_backoff=0.1)
    pids = [c.process.pid for c in children if c.process is not None]
    supervisor.stop()
    assert all(c.process is not None and c.process.returncode is not None for c in children)
    assert not any(_alive(pid) for pid in pids)
    _run(supervisor, 0.5)
    assert [c.starts for c in children] == [1, 1, 1]


def _wait_for(condition: object, timeout: float = 10) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())
