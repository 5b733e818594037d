"""The disk under the documents is full: an upload through a real (production-mode) gunicorn is
refused with a message, leaves no row, no partial file and the storage counter as it was, and one
that fits is stored once there is room again. A full PORTAL_UPLOAD_TEMP_DIR stops neither
uploader: the body goes once, straight into storage, and never through it.

The full disk is a 4 MB tmpfs, filled but for a little.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from documents import services as documents
from documents.models import CustomerAccess, DocumentVersion, Folder
from partners.models import Partner
from portal.models import User
from tests.conftest import World
from tests.factories import PASSWORD
from tests.integration import fault_world
from tests.integration.faults import csrf, fill, gunicorn, logged_in, production_env, tmpfs
from tests.integration.harness import Server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NO_ROOM = "There is no room to store the file just now, so it was not stored. Please try again later."
LEAVE = 64 * 1024  # what the filler leaves free: less than the upload, more than the small one


@pytest.fixture
def full(settings: Any) -> Iterator[Path]:
    """The small filesystem, as the documents folder."""
    with tmpfs("4m") as small:
        settings.MEDIA_ROOT = small
        yield small


@pytest.fixture
def folder(world: World) -> Folder:
    # The server's own hasher: the test run's fast one is not among production's.
    password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    User.objects.filter(pk=world.staff.pk).update(language="en", password=password)
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )


def _upload(
    server: Server, session: requests.Session, folder: Folder, name: str, size: int
) -> requests.Response:
    return session.post(
        server.url("documents:upload", folder.pk),
        data=os.urandom(size),
        headers={"X-File-Name": quote(name), "X-CSRFToken": csrf(session)},
        timeout=60,
    )


def _form_upload(server: Server, session: requests.Session, folder: Folder, name: str, size: int) -> str:
    """The uploader without JavaScript: a multipart form, then the folder page with the messages."""
    answer = session.post(
        server.url("documents:upload", folder.pk),
        data={"csrfmiddlewaretoken": csrf(session)},
        files={"files": (name, os.urandom(size))},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text[:2000]
    return answer.text


def _leftovers(small: Path) -> list[Path]:
    return [p for p in small.rglob("*") if p.is_file() and p.name != "filler.bin"]


def _consistent(media: Path) -> dict[str, Any]:
    state = fault_world.check(media)
    assert state["problems"] == []
    return state


def test_a_full_disk_refuses_the_upload_with_a_message_and_stores_nothing(
    world: World, folder: Folder, full: Path, database_url: str, tmp_path: Path
) -> None:
    small = media = full
    env = production_env(database_url=database_url, media_root=media, var_dir=tmp_path / "var")
    with gunicorn(env, threads=2) as server:
        session = logged_in(server, world.staff.email, PASSWORD)
        filler = fill(small, leave=LEAVE)

        refused = _upload(server, session, folder, "Huvudbok.bin", 1024 * 1024)
        assert refused.status_code == 422, f"{refused.status_code}: {refused.text[:2000]}\n{server.log()}"
        assert refused.json() == {"ok": False, "error": NO_ROOM}
        page = _form_upload(server, session, folder, "Verifikationer.bin", 1024 * 1024)
        assert f"Verifikationer.bin: {NO_ROOM}" in page

        assert not DocumentVersion.objects.exists()
        assert Partner.objects.get(pk=world.partner.pk).storage_used_bytes == 0
        assert _leftovers(small) == [], "a partial file was left behind"
        _consistent(media)

        filler.unlink()
        stored = _upload(server, session, folder, "Huvudbok.bin", 20_000)
        assert stored.status_code == 201, stored.text[:2000]
        assert server.alive()
    version = DocumentVersion.objects.get()
    assert version.size == 20_000 and version.document.name == "Huvudbok.bin"
    assert Partner.objects.get(pk=world.partner.pk).storage_used_bytes == 20_000
    assert _consistent(media)["files"] == 1


def test_a_full_upload_spool_stops_neither_uploader(
    world: World, folder: Folder, database_url: str, tmp_path: Path, settings: Any
) -> None:
    media = settings.MEDIA_ROOT = tmp_path / "media"
    with tmpfs("4m") as small:
        env = production_env(
            database_url=database_url,
            media_root=media,
            var_dir=tmp_path / "var",
            PORTAL_UPLOAD_TEMP_DIR=str(small),
        )
        with gunicorn(env, threads=2) as server:
            session = logged_in(server, world.staff.email, PASSWORD)
            fill(small, leave=LEAVE)
            stored = _upload(server, session, folder, "Huvudbok.bin", 1024 * 1024)
            assert stored.status_code == 201, f"{stored.text[:2000]}\n{server.log()}"
            page = _form_upload(server, session, folder, "Verifikationer.bin", 1024 * 1024)
            assert NO_ROOM not in page
            assert _leftovers(small) == []
    assert sorted(DocumentVersion.objects.values_list("size", flat=True)) == [1024 * 1024] * 2
    assert _consistent(media)["files"] == 2
