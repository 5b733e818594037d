"""A signing link's page images under a real threaded server: a browser opening the signing page
of a 30-page PDF asks for every page at once, and sixteen of them at once must not take the web
process down (PDFium is not thread-safe; every call goes through portal.pdfium's lock)."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from billing import services as billing
from demo.files import PdfSpec, Section, render_pdf
from documents import services as documents
from documents.models import CustomerAccess
from signing import selectors, services
from signing.models import Party
from tests.conftest import World
from tests.integration import harness

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PAGES = 30
BROWSERS = 16  # parallel clients, each asking for every page image, as a browser does


def _server_command(kind: str, port: int) -> list[str]:
    if kind == "runserver":  # threaded by default: one thread per request
        return [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    # The compose file's shape, with one worker so every request lands in the same process.
    return [
        gunicorn,
        "portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
    ]


@contextmanager
def threaded_server(kind: str, *, database_url: str) -> Iterator[harness.Server]:
    port = harness.free_port()
    var_dir = tempfile.mkdtemp(prefix="page-images-var-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_DB_CONN_MAX_AGE": "0",
            "PORTAL_DEBUG": "true",  # a development run, as `make run` is
            # No Redis: a cache of the server's own (locmem), so every page is rendered there.
            "PORTAL_VAR_DIR": var_dir,
            "PORTAL_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PORTAL_SECRET_KEY": settings.SECRET_KEY,
            "PORTAL_ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    try:
        with harness.web_server(_server_command(kind, port), port=port, env=env, name=kind) as server:
            yield server
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def _fetch(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body); status 0 with the error for a connection that failed."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""
    except OSError as error:
        return 0, "", repr(error).encode()


def _thirty_page_signing(world: World) -> Party:
    billing.signature_grant(partner=world.partner, amount=1, reason="test")
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    body = "Parterna är överens om det som står i detta avtal och i dess bilagor. " * 12
    pdf = render_pdf(
        PdfSpec(
            title="Uppdragsavtal",
            company="Kund Alfa AB",
            issuer="Alfa Byrå AB",
            pages=[[Section(f"Avsnitt {n}", [body, body])] for n in range(1, PAGES + 1)],
        )
    )
    doc = documents.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[pdf], by_customer=False
    ).document
    request = services.signing_send(
        collaboration=world.collaboration,
        actor=world.staff,
        document=doc,
        parties=[services.PartyInput("Kund", "kund@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
    )
    assert request.pages == PAGES
    return Party.objects.get(request=request)


@pytest.mark.parametrize("kind", ["runserver", "gunicorn"])
def test_sixteen_browsers_opening_a_thirty_page_signing_leave_the_server_up(
    kind: str, world: World, database_url: str, settings: Any
) -> None:
    party = _thirty_page_signing(world)
    token = selectors.party_token(party)
    with threaded_server(kind, database_url=database_url) as server:
        sign_page = _fetch(server.base_url + reverse("signing:sign", args=[token]))
        assert sign_page[0] == 200, server.log()
        urls = [
            server.base_url + reverse("signing:page", args=[token, number])
            for _ in range(BROWSERS)
            for number in range(1, PAGES + 1)
        ]
        with ThreadPoolExecutor(max_workers=BROWSERS) as pool:
            answers = list(pool.map(_fetch, urls))

        failed = [
            (u, status, body[:200])
            for u, (status, _, body) in zip(urls, answers, strict=True)
            if status != 200
        ]
        assert not failed, f"{len(failed)} of {len(urls)} failed, e.g. {failed[:3]}\n{server.log()[-3000:]}"
        for _, content_type, body in answers:
            assert content_type == "image/png"
            assert Image.open(io.BytesIO(body)).width == 260
        # Every browser saw the same picture of a page: one render per page, then the cache.
        by_page: dict[str, set[bytes]] = {}
        for url, (_, _, body) in zip(urls, answers, strict=True):
            by_page.setdefault(url, set()).add(body)
        assert all(len(bodies) == 1 for bodies in by_page.values())
        assert len({next(iter(b)) for b in by_page.values()}) == PAGES  # and each page its own

        assert server.alive(), server.log()[-3000:]
        again = _fetch(server.base_url + reverse("signing:page", args=[token, PAGES]))
        assert again[0] == 200 and again[1] == "image/png"
        assert "SIGSEGV" not in server.log() and "Segmentation" not in server.log()
