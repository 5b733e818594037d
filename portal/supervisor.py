"""Keep a few child processes running, as a process supervisor would: what `run_embedded` (and so
`make run`) runs its web server, Celery worker and Celery beat under.

A child that exits when nobody asked it to is logged (exit code or signal, and how long it ran)
and started again after a back-off: `initial_backoff` seconds, doubled for each further exit
within `stable_seconds` of its start, at most `max_backoff`; a child that had run longer than
`stable_seconds` is back after `initial_backoff` again. So a child that crashes at once is retried
slower and slower instead of spinning. `stop()` stops them all: SIGTERM in reverse order, then
SIGKILL for whatever is still there after `stop_timeout` seconds.

Each child leads a process group of its own: Ctrl-C in the terminal reaches only the supervisor,
which then stops the children once, in order; and whatever a dead child left behind in its group
(say, the pool processes of a Celery worker killed with SIGKILL) is killed before it starts again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    starts: int = 0
    backoff: float = 0.0  # the wait before its last restart; 0 until it first exits
    restart_at: float | None = None  # when a child that exited is due to start again
    exits: list[int] = field(default_factory=list)  # return codes (negative: signal) of past exits


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        cwd: str | Path,
        env: Mapping[str, str],
        initial_backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_seconds: float = 30.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.children = list(children)
        self.cwd = cwd
        self.env = dict(env)
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.stable_seconds = stable_seconds
        self.stop_timeout = stop_timeout
        self.stopped = False

    def start(self) -> None:
        for child in self.children:
            self._start(child)

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            child.argv, cwd=self.cwd, env=self.env, process_group=0
        )
        child.started_at = time.monotonic()
        child.starts += 1
        child.restart_at = None
        logger.info("started %s (pid %s): %s", child.name, child.process.pid, " ".join(child.argv))

    def check(self) -> None:
        """Notice children that exited, and start those whose back-off has passed. Call often;
        after stop() it does nothing."""
        if self.stopped:
            return
        now = time.monotonic()
        for child in self.children:
            if child.process is not None:
                if not _has_exited(child.process):
                    continue
                pid = child.process.pid
                code = _reap(child.process)
                child.process = None
                child.exits.append(code)
                ran = now - child.started_at
                if child.backoff == 0 or ran >= self.stable_seconds:
                    child.backoff = self.initial_backoff
                else:
                    child.backoff = min(child.backoff * 2, self.max_backoff)
                child.restart_at = now + child.backoff
                logger.error(
                    "%s (pid %s) %s after %.1f s; starting it again in %.1f s",
                    child.name,
                    pid,
                    describe_exit(code),
                    ran,
                    child.backoff,
                )
            elif child.restart_at is not None and now >= child.restart_at:
                self._start(child)

    def stop(self) -> None:
        """SIGTERM every child still running (the last started first), wait, then SIGKILL what is
        left, and whatever each child left in its process group. Nothing is started again."""
        self.stopped = True
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in reversed(running):
            assert child.process is not None
            logger.info("stopping %s (pid %s)", child.name, child.process.pid)
            child.process.terminate()  # a no-op for a process that has just exited
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s; killing it", child.name, self.stop_timeout)
                child.process.kill()
                child.process.wait()
        # A group id is not reused while the group exists, so this hits only what the child left.
        for child in self.children:
            if child.process is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.process.pid, signal.SIGKILL)
            child.restart_at = None


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    """Exited, without reaping it: while it is an unreaped zombie its process group id cannot be
    taken by anyone else, so _reap can still kill what it left in its group."""
    if process.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped elsewhere
        return True


def _reap(process: subprocess.Popen[bytes]) -> int:
    """Kill what the exited child left in its process group, then reap it: its return code."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    return process.wait()
