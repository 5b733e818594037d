"""The simulated users of the load benchmark (bench/load.py starts locust with this file).

Not for running alone: bench/load.py makes the data, the processes and the plan this file reads
(LOAD_PLAN, a JSON file), and reads back the requests it records (LOAD_RESULTS). Locust runs
on gevent, so nothing of the portal (Django) is imported here: the users are HTTP clients only,
and read the portal's emails from the SMTP sink's maildir.

Every simulated user logs in with a login of its own (partner staff or a customer's user), then
repeats a weighted mix of what such a person does, with 0.5-2.5 s between actions:

- partner: the floor page, Mina samarbeten, a customer's Dokument tab, a folder, a download, an
  upload of 1-20 MB, now and then a signing (a PDF uploaded, the wizard, review, send; then the
  signer opens the link from the emailed request, asks for the code, reads it from the emailed
  code and signs), and now and then a logout and a new login;
- customer: the floor page, Samarbeten, the partner's documents, a folder, a download, an upload
  of 1-20 MB into a folder the customer may upload to, a logout and a new login.
"""

from __future__ import annotations

import email
import functools
import itertools
import json
import os
import random
import re
import time
import uuid
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpSession, FastHttpUser, ResponseContextManager

PLAN: dict[str, Any] = (
    json.loads(Path(os.environ["LOAD_PLAN"]).read_text()) if "LOAD_PLAN" in os.environ else {}
)
MB = 1_000_000
MAIL_WAIT_SECONDS = 30.0
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_DRAFT = re.compile(r"/signings/(\d+)/edit/parties/$")
_SIGN_LINK = re.compile(r"/sign/([A-Za-z0-9_\-:.]+)/")
_CODE = re.compile(r"\b(\d{6})\b")

# Every simulated user takes the next login of its kind: no two share a session or a rate limit.
_next_login = {"partner": itertools.count(), "customer": itertools.count()}
# (name, response time in ms, error kind or "", seconds since the start, bytes sent): written at
# the end. Only uploads say what they sent (their request context's "sent").
_records: list[tuple[str, float, str, float, int]] = []
_started = time.monotonic()
# The upload bodies: one random 20 MB block, sliced; made once per process.
_BLOCK = os.urandom(20 * MB) if PLAN else b""


@events.request.add_listener
def _record(
    name: str, response_time: float, exception: BaseException | None, context: dict[str, Any], **_kw: Any
) -> None:
    kind = ""
    if exception is not None:
        text = str(exception)
        kind = (
            text if text.startswith(("HTTP ", "no ", "bad ")) else f"{type(exception).__name__}: {text}"[:100]
        )
    _records.append((name, response_time, kind, time.monotonic() - _started, int(context.get("sent", 0))))


@events.quitting.add_listener
def _write_results(**_kw: Any) -> None:
    if "LOAD_RESULTS" in os.environ:
        Path(os.environ["LOAD_RESULTS"]).write_text(json.dumps(_records))


# --- Mail: the SMTP sink's maildir, parsed once per file --------------------------------------

_mail_seen: set[str] = set()  # maildir file names read
_mail_by_recipient: dict[str, list[str]] = {}  # address -> texts, in the order they were found


def _text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _mail_to(address: str) -> list[str]:
    """The text of every message the sink has for `address`, oldest first. A request's email is
    always found before the code is asked for, so the order found is the order sent."""
    new = Path(PLAN["maildir"]) / "new"
    for name in sorted(os.listdir(new)):  # maildir names start with the time
        if name not in _mail_seen:
            _mail_seen.add(name)
            message = email.message_from_bytes((new / name).read_bytes())
            for recipient in str(message.get("X-RcptTo", "")).lower().split(","):
                _mail_by_recipient.setdefault(recipient.strip(), []).append(_text_of(message))
    return _mail_by_recipient.get(address, [])


def _wait_for_mail(address: str, pattern: re.Pattern[str], skip: int = 0) -> str | None:
    """The first match of `pattern` in the messages to `address` after the first `skip` of them."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        for text in _mail_to(address)[skip:]:
            if found := pattern.search(text):
                return found.group(1)
        time.sleep(0.1)
    return None


# --- Users --------------------------------------------------------------------------------------


class PortalUser(FastHttpUser):
    abstract = True
    kind = ""
    wait_time = between(0.5, 2.5)
    last_location = ""
    connection_timeout = 60.0
    network_timeout = 120.0

    def on_start(self) -> None:
        logins = PLAN[f"{self.kind}_logins"]
        self.login_plan: dict[str, Any] = logins[next(_next_login[self.kind]) % len(logins)]
        self.email = self.login_plan["email"]
        self.uploads = 0
        self.login()

    # Helpers

    def csrf(self) -> str:
        return next((c.value or "" for c in self.client.cookiejar if c.name == "csrftoken"), "")

    def expect(
        self,
        method: str,
        url: str,
        name: str,
        status: int,
        client: FastHttpSession | None = None,
        **kwargs: Any,
    ) -> str | None:
        """One request counted under `name` (by this user's client, or `client`); a failure unless
        it answers `status`. Returns the body."""
        client = client or self.client
        with client.request(method, url, name=name, catch_response=True, **kwargs) as response:
            assert isinstance(response, ResponseContextManager)
            if response.status_code != status:
                response.failure(f"HTTP {response.status_code}")
                return None
            headers = response.headers
            self.last_location = str(headers.get("Location") or "") if headers is not None else ""
            return response.text or ""

    def login(self) -> None:
        page = self.expect("GET", "/accounts/login/", "login page", 200)
        token = _CSRF_INPUT.search(page or "")
        if token is None:
            return
        self.expect(
            "POST",
            "/accounts/login/",
            f"login ({self.kind})",
            302,
            data={
                "username": self.email,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": token.group(1),
            },
            allow_redirects=False,
        )

    def upload(self, folder_id: int, name: str, body: bytes, label: str) -> int | None:
        """The page's uploader: the file as the raw body. Returns the new document's id."""
        self.uploads += 1
        with self.client.post(
            f"/documents/folders/{folder_id}/upload/",
            name=label,
            data=body,  # type: ignore[arg-type]  # sent as the raw body, as the page's uploader does
            headers={
                "X-CSRFToken": self.csrf(),
                "X-File-Name": quote(name),
                "Content-Type": "application/octet-stream",
            },
            catch_response=True,
            context={"sent": len(body)},
        ) as response:
            assert isinstance(response, ResponseContextManager)
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}")
                return None
            return int(json.loads(response.text or "{}")["document"])

    def upload_random(self, folder_id: int) -> None:
        size = random.randint(1, 20) * MB
        start = random.randrange(0, len(_BLOCK) - size + 1)
        name = f"Underlag {self.email.split('@')[0]} {self.uploads % 5}.bin"  # some become new versions
        self.upload(folder_id, name, _BLOCK[start : start + size], "upload 1-20 MB")

    # What everybody does

    @task(3)
    def floor(self) -> None:
        self.expect("GET", "/bench/floor/", "floor (base layout)", 200)

    @task(3)
    def download(self) -> None:
        document = random.choice(self.login_plan["documents"])
        self.expect("GET", f"/documents/{document}/download/", "download", 200)

    @task(1)
    def relogin(self) -> None:
        if random.random() < 0.1:  # a logout and a new login now and then
            self.expect(
                "POST",
                "/accounts/logout/",
                "logout",
                302,
                data={"csrfmiddlewaretoken": self.csrf()},
                allow_redirects=False,
            )
            self.login()


class PartnerUser(PortalUser):
    kind = "partner"
    weight = int(os.environ.get("LOAD_PARTNER_WEIGHT", "2"))
    signer_client: FastHttpSession | None = None

    @task(3)
    def customer_list(self) -> None:
        self.expect("GET", "/customers/", "Mina samarbeten", 200)

    @task(2)
    def documents_tab(self) -> None:
        collaboration = random.choice(self.login_plan["collaborations"])
        self.expect("GET", f"/customers/{collaboration['id']}/documents/", "Dokument tab (partner)", 200)

    @task(3)
    def folder(self) -> None:
        collaboration = random.choice(self.login_plan["collaborations"])
        folder = random.choice(collaboration["folders"])
        self.expect(
            "GET", f"/customers/{collaboration['id']}/documents/folders/{folder}/", "folder (partner)", 200
        )

    @task(1)
    def upload_file(self) -> None:
        collaboration = random.choice(self.login_plan["collaborations"])
        self.upload_random(random.choice(collaboration["folders"]))

    @task(1)
    def signing(self) -> None:
        """A PDF uploaded and sent for signing to one signer, who signs with the emailed code."""
        collaboration = random.choice(self.login_plan["collaborations"])
        cid = collaboration["id"]
        name = f"Avtal-{uuid.uuid4().hex[:8]}.pdf"
        document = self.upload(
            collaboration["sign_folder"], name, Path(PLAN["pdf"]).read_bytes(), "upload PDF"
        )
        if document is None:
            return
        started = self.expect(
            "POST",
            f"/customers/{cid}/signings/new/{document}/",
            "signing: start a draft",
            302,
            data={"csrfmiddlewaretoken": self.csrf()},
            allow_redirects=False,
        )
        if started is None:
            return
        draft = self.last_location
        found = _DRAFT.search(draft or "")
        if found is None:
            return
        base = f"/customers/{cid}/signings/{found.group(1)}"
        signer = f"signer-{uuid.uuid4().hex[:12]}@load.example"
        data = {
            "csrfmiddlewaretoken": self.csrf(),
            "language": "sv",
            "message": "",
            "deadline": PLAN["deadline"],
            "reminder_days": "",
            "parties-TOTAL_FORMS": "1",
            "parties-INITIAL_FORMS": "0",
            "parties-MIN_NUM_FORMS": "0",
            "parties-MAX_NUM_FORMS": "1000",
            "parties-0-name": "Signe Testsson",
            "parties-0-email": signer,
            "parties-0-mobile": "",
            "parties-0-personnummer": "",
            "parties-0-role": "signer",
            "parties-0-method": "email_code",
            "parties-0-order": "1",
        }
        for step, name in (("edit/parties/", "signing: parties"), ("edit/settings/", "signing: settings")):
            if self.expect("POST", f"{base}/{step}", name, 302, data=data, allow_redirects=False) is None:
                return
        if self.expect("GET", f"{base}/edit/review/", "signing: review", 200) is None:
            return
        send = {"csrfmiddlewaretoken": self.csrf()}
        if (
            self.expect("POST", f"{base}/send/", "signing: send", 302, data=send, allow_redirects=False)
            is None
        ):
            return
        self.sign(signer)

    def sign(self, signer: str) -> None:
        """The signer's side: no login, the link from the request email, the code from the code email."""
        started = time.monotonic()
        token = _wait_for_mail(signer, _SIGN_LINK)
        self._mail_event("email: signing request", started, token)
        if token is None:
            return
        # The signer's browser has none of the partner user's cookies: a client of its own.
        if self.signer_client is None:
            self.signer_client = FastHttpSession(
                base_url=self.host,
                request_event=self.environment.events.request,
                user=self,
                network_timeout=self.network_timeout,
                connection_timeout=self.connection_timeout,
            )
        signer_client = self.signer_client
        signer_client.cookiejar.clear()
        sign_url = f"/sign/{token}/"

        signer_request = functools.partial(self.expect, client=signer_client)
        page = signer_request("GET", sign_url, "sign: page", 200)
        token_input = _CSRF_INPUT.search(page or "")
        if token_input is None:
            return
        signer_request("GET", f"{sign_url}pages/1.png", "sign: page image", 200)
        csrf = token_input.group(1)
        started = time.monotonic()
        if (
            signer_request(
                "POST",
                sign_url,
                "sign: ask for code",
                302,
                data={"csrfmiddlewaretoken": csrf, "action": "code"},
                allow_redirects=False,
            )
            is None
        ):
            return
        code = _wait_for_mail(signer, _CODE, skip=1)
        self._mail_event("email: code", started, code)
        if code is None:
            return
        signer_request(
            "POST",
            sign_url,
            "sign: sign with code",
            302,
            data={"csrfmiddlewaretoken": csrf, "action": "sign", "code": code},
            allow_redirects=False,
        )

    def _mail_event(self, name: str, started: float, found: str | None) -> None:
        """The wait for an email, reported as a request of its own (the worker's or SMTP's time)."""
        events.request.fire(
            request_type="MAIL",
            name=name,
            response_time=(time.monotonic() - started) * 1000,
            response_length=0,
            exception=None if found else RuntimeError(f"no email within {MAIL_WAIT_SECONDS:.0f} s"),
            context={},
        )


class CustomerUser(PortalUser):
    kind = "customer"
    weight = int(os.environ.get("LOAD_CUSTOMER_WEIGHT", "3"))

    @task(2)
    def collaboration_list(self) -> None:
        self.expect("GET", "/collaborations/", "Samarbeten (customer)", 200)

    @task(2)
    def documents(self) -> None:
        cid = self.login_plan["collaboration"]
        self.expect("GET", f"/collaborations/{cid}/documents/", "documents (customer)", 200)

    @task(3)
    def folder(self) -> None:
        cid = self.login_plan["collaboration"]
        folder = random.choice(self.login_plan["folders"])
        self.expect("GET", f"/collaborations/{cid}/documents/folders/{folder}/", "folder (customer)", 200)

    @task(1)
    def upload_file(self) -> None:
        self.upload_random(self.login_plan["upload_folder"])
