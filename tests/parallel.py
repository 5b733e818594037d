"""Run calls at the same moment, each in its own thread and so its own database connection:
races on PostgreSQL row locks are tested for real, not mocked."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections

from portal.errors import ServiceError


def run_in_parallel(calls: list[Callable[[], object]], *, timeout: float = 60) -> list[str]:
    """Start every call together; returns one outcome per call, in no particular order:
    "ok", "refused" (a ServiceError) or "error: ..." (anything else)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            outcome = "ok"
        except ServiceError:
            outcome = "refused"
        except Exception as error:
            outcome = f"error: {error!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    return outcomes
