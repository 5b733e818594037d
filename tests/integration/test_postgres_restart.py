"""PostgreSQL restarts in the middle of a burst of uploads and signing actions.

A private cluster (never the machine's on 5432) serves a production-mode gunicorn; seven logged-in
clients upload files, send documents for signing and cancel them, and read the folder page, while
the cluster is stopped (`pg_ctl stop -m fast`: open transactions are cut off) and started again.

The rule for "clean": every answer is the action done, a refusal of the portal's own (422), or the
portal's 503 page asking to try again. Never a 500, a dropped connection or a dead server. A 503
may come after a commit the client never heard about (the connection died in between), so for a
503 either outcome is fine, as long as what is stored agrees with itself: fault_world.check.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.utils import timezone

from tests.integration import harness
from tests.integration.faults import (
    csrf,
    fault_world,
    gunicorn,
    is_unavailable_page,
    logged_in,
    private_postgres,
    production_env,
)
from tests.integration.harness import Server

pytestmark = pytest.mark.integration

UPLOADERS = 4
SIGNERS = 2
READERS = 1
DOWN_SECONDS = 1.5  # how long the database stays away


@dataclass
class Outcome:
    action: str  # upload, send, cancel, read
    result: str  # done, refused, unavailable, bad
    at: float
    name: str = ""
    detail: str = ""


class Burst:
    def __init__(self, server: Server, world: dict[str, Any]) -> None:
        self.server = server
        self.world = world
        self.stop = threading.Event()
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()

    def record(self, action: str, response: requests.Response | Exception, ok: int, name: str = "") -> bool:
        """Sort one answer into done / refused / unavailable / bad; True when done."""
        if isinstance(response, Exception):
            result, detail = "bad", repr(response)
        elif response.status_code == ok:
            result, detail = "done", ""
        elif response.status_code == 422 and "Traceback" not in response.text:
            result, detail = "refused", response.text[:300]
        elif is_unavailable_page(response):
            result, detail = "unavailable", ""
        else:
            result, detail = "bad", f"{response.status_code}: {response.text[:500]}"
        with self.lock:
            self.outcomes.append(Outcome(action, result, time.monotonic(), name, detail))
        return result == "done"

    def count(self, action: str, result: str = "done", since: float = 0.0) -> int:
        with self.lock:
            return sum(
                1 for o in self.outcomes if o.action == action and o.result == result and o.at >= since
            )

    def uploader(self, session: requests.Session, number: int) -> None:
        url = self.server.url("documents:upload", self.world["folder_id"])
        rng = random.Random(number)
        for i in range(10_000):
            if self.stop.is_set():
                return
            name = f"burst {number}-{i}.bin"
            body = os.urandom(rng.randint(1_000, 200_000))
            headers = {"X-File-Name": quote(name), "X-CSRFToken": csrf(session)}
            try:
                answer: requests.Response | Exception = session.post(
                    url, data=body, headers=headers, timeout=30
                )
            except requests.RequestException as error:
                answer = error
            if not self.record("upload", answer, 201, name) and _retry(answer):
                time.sleep(0.05)

    def _post(self, session: requests.Session, url: str, data: Any) -> requests.Response | Exception:
        try:
            return session.post(url, data=data, allow_redirects=False, timeout=30)
        except requests.RequestException as error:
            return error

    def _until_done(
        self, session: requests.Session, action: str, url: str, data: dict[str, str]
    ) -> requests.Response | None:
        """POST until it is done (302) or refused for good; what met the database away is tried
        again."""
        answer: requests.Response | Exception | None = None
        while not self.stop.is_set():
            answer = self._post(session, url, data | {"csrfmiddlewaretoken": csrf(session)})
            if self.record(action, answer, 302) or not _retry(answer):
                break
        if isinstance(answer, requests.Response) and answer.status_code == 302:
            return answer
        return None

    def signer(self, session: requests.Session, document_ids: list[int]) -> None:
        """Send each document for signing through the wizard's steps (a draft, its parties, its
        settings, Send) and cancel it. A step that did commit behind a 503 is harmless to repeat:
        a draft sent twice is sent once, and a second draft is only a draft."""
        collaboration = self.world["collaboration_id"]
        for document_id in document_ids:
            form = _signing_form(document_id)
            started = self._until_done(
                session, "draft", self.server.url("signing:partner_new", collaboration, document_id), {}
            )
            if started is None:
                continue
            draft = re.search(r"/signings/(\d+)/edit/parties/$", started.headers["Location"])
            assert draft is not None, started.headers["Location"]
            draft_id = int(draft.group(1))
            answer = None
            for action, name in (
                ("draft", "signing:partner_draft_parties"),
                ("draft", "signing:partner_draft_settings"),
                ("send", "signing:partner_draft_send"),
            ):
                answer = self._until_done(
                    session, action, self.server.url(name, collaboration, draft_id), form
                )
                if answer is None:
                    break
            if self.stop.is_set():
                return
            if answer is None:
                continue
            sent = re.search(r"/signings/(\d+)/$", answer.headers["Location"])
            assert sent is not None, answer.headers["Location"]
            cancel_url = self.server.url("signing:partner_cancel", collaboration, int(sent.group(1)))
            self._until_done(session, "cancel", cancel_url, {})

    def reader(self, session: requests.Session) -> None:
        url = self.server.url(
            "documents:partner_folder", self.world["collaboration_id"], self.world["folder_id"]
        )
        while not self.stop.is_set():
            try:
                answer: requests.Response | Exception = session.get(url, timeout=30)
            except requests.RequestException as error:
                answer = error
            self.record("read", answer, 200)
            time.sleep(0.05)


def _retry(answer: requests.Response | Exception) -> bool:
    """Whether to try again shortly: the portal said it could not reach its database."""
    if isinstance(answer, Exception):
        return False
    if is_unavailable_page(answer):
        time.sleep(0.05)
        return True
    return False


def _signing_form(document_id: int) -> dict[str, str]:
    return {
        "parties-TOTAL_FORMS": "1",
        "parties-INITIAL_FORMS": "0",
        "parties-MIN_NUM_FORMS": "0",
        "parties-MAX_NUM_FORMS": "30",
        "parties-0-name": "Karin Kund",
        "parties-0-email": f"karin{document_id}@example.com",
        "parties-0-mobile": "",
        "parties-0-personnummer": "",
        "parties-0-role": "signer",
        "parties-0-method": "email_code",
        "parties-0-order": "1",
        "language": "sv",
        "deadline": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
        "message": "",
        "reminder_days": "3",
    }


def _wait(condition: Callable[[], bool], timeout: float, what: str, burst: Burst, server: Server) -> None:
    if not harness.wait_for(condition, timeout, interval=0.05):
        figures = Counter((o.action, o.result) for o in burst.outcomes)
        bad = [o for o in burst.outcomes if o.result == "bad"][:3]
        pytest.fail(f"{what} within {timeout:.0f} s; so far {dict(figures)}, e.g. {bad}\n{server.log()}")


def test_postgres_restart_during_uploads_and_signing_leaves_everything_consistent(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    with private_postgres() as cluster:
        env = production_env(
            database_url=cluster.createdb("portal"),
            media_root=tmp_path / "media",
            var_dir=tmp_path / "var",
            PORTAL_RATE_UPLOAD="100000/h",
        )
        world = fault_world(env, "setup")
        with gunicorn(env, threads=UPLOADERS + SIGNERS + READERS + 1) as server:
            burst = Burst(server, world)
            clients = UPLOADERS + SIGNERS + READERS
            with ThreadPoolExecutor(clients) as pool:
                sessions = list(
                    pool.map(lambda _: logged_in(server, world["email"], world["password"]), range(clients))
                )
            documents = world["document_ids"]
            threads = [
                threading.Thread(target=burst.uploader, args=(sessions[n], n)) for n in range(UPLOADERS)
            ]
            threads += [
                threading.Thread(target=burst.signer, args=(sessions[UPLOADERS + n], documents[n::SIGNERS]))
                for n in range(SIGNERS)
            ]
            threads += [threading.Thread(target=burst.reader, args=(sessions[-1],))]
            for thread in threads:
                thread.start()
            try:
                _wait(
                    lambda: burst.count("upload") >= 15 and burst.count("cancel") >= 2,
                    30,
                    "the burst did not get going",
                    burst,
                    server,
                )
                went = time.monotonic()
                cluster.stop("fast")
                time.sleep(DOWN_SECONDS)
                cluster.start()
                back = time.monotonic()
                _wait(
                    lambda: (
                        burst.count("upload", since=back) >= 10 and burst.count("cancel", since=back) >= 2
                    ),
                    30,
                    "the portal did not serve again after the restart",
                    burst,
                    server,
                )
            finally:
                burst.stop.set()
                for thread in threads:
                    thread.join(60)
            assert not any(thread.is_alive() for thread in threads)
            assert server.alive(), server.log()
            again = sessions[0].get(
                server.url("documents:partner_folder", world["collaboration_id"], world["folder_id"]),
                timeout=30,
            )
            assert again.status_code == 200
            log = server.log()

        figures = Counter(f"{o.action} {o.result}" for o in burst.outcomes)
        record_property("down_seconds", round(back - went, 2))
        record_property("answers", dict(sorted(figures.items())))
        bad = [o for o in burst.outcomes if o.result == "bad"]
        assert not bad, f"{len(bad)} unclean answers, e.g. {bad[:3]}\n{log}"
        # The fault was felt: some requests met the database away, and were told to retry.
        assert sum(1 for o in burst.outcomes if o.result == "unavailable") >= 1, dict(figures)

        state = fault_world(env, "check")
        record_property(
            "after", {k: state[k] for k in ("versions", "files", "signings", "charges", "refunds")}
        )
        assert state["problems"] == []
        stored = set(state["documents"])
        uploaded = {o.name for o in burst.outcomes if o.action == "upload" and o.result == "done"}
        refused = {o.name for o in burst.outcomes if o.action == "upload" and o.result == "refused"}
        assert uploaded <= stored, sorted(uploaded - stored)[:5]
        assert not refused & stored
        # Every upload whose answer said done or refused is accounted for; a 503 may have gone either way.
        unknown = {o.name for o in burst.outcomes if o.action == "upload" and o.result == "unavailable"}
        burst_names = {name for name in stored if name.startswith("burst ")}
        assert burst_names <= uploaded | unknown
