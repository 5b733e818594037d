"""`make run` (manage.py run_embedded) as a process supervisor: a child that dies (here runserver,
killed with SIGKILL as a segfault would) is logged and started again, and the portal answers
again; SIGTERM stops everything and leaves no child behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration import harness

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STARTED = re.compile(r"started (runserver|celery worker|celery beat) \(pid (\d+)\)")


def _started(log: str, name: str) -> list[int]:
    return [int(pid) for child, pid in STARTED.findall(log) if child == name]


def _children(parent: int, word: str) -> list[int]:
    """The running child processes of `parent` whose command line has `word`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and word in cmdline:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split(") ", 1)[1][0] != "Z"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_run_embedded(
    database_url: str, port: int, var_dir: str, **extra_env: str
) -> tuple[subprocess.Popen[bytes], Callable[[], str]]:
    """`manage.py run_embedded` in its own session, as `make run` starts it, with no PORTAL_*
    variable but these; the process and a function reading its log so far."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_DB_CONN_MAX_AGE": "0",
            "PORTAL_DEBUG": "true",  # a development run, as `make run` is
            "PORTAL_VAR_DIR": var_dir,  # no Redis: the filesystem queue and a cache of its own
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
    )
    log_path = Path(var_dir) / "run_embedded.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
            cwd=harness.BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log() -> str:
        return log_path.read_text(errors="replace")

    return process, log


def test_a_child_killed_under_make_run_is_started_again(database_url: str) -> None:
    port = harness.free_port()
    var_dir = tempfile.mkdtemp(prefix="run-embedded-var-")
    process, log = start_run_embedded(database_url, port, var_dir)

    url = f"http://127.0.0.1:{port}/accounts/login/"
    try:
        assert harness.wait_for(lambda: _answers(url) or process.poll() is not None, 60), log()
        assert process.poll() is None, log()
        [first] = _children(process.pid, "runserver")
        os.kill(first, signal.SIGKILL)
        assert harness.wait_for(lambda: _children(process.pid, "runserver") not in ([], [first]), 30), log()
        assert process.poll() is None, log()
        assert f"runserver (pid {first}) was killed by signal SIGKILL" in log()
        assert harness.wait_for(lambda: _answers(url), 30), log()
        # The worker and beat were left running.
        assert len(_started(log(), "runserver")) == 2
        assert len(_started(log(), "celery worker")) == 1 and len(_started(log(), "celery beat")) == 1

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0, log()
        assert "Stopped." in log()
        children = [int(pid) for _, pid in STARTED.findall(log())]
        assert not [pid for pid in children if _alive(pid)], log()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
            for _, pid in STARTED.findall(log()):
                if _alive(int(pid)):
                    os.killpg(int(pid), signal.SIGKILL)
        shutil.rmtree(var_dir, ignore_errors=True)
