"""clamd dies mid-scan under a real (production-mode) gunicorn: the person uploading gets the
scanner's message, not an error page; nothing is stored or counted; and once clamd is back the
same server stores uploads again, without a restart. test_clamd_faults.py proves the service
part in process; this is the HTTP answer and the recovery.

The server is given a symlink as PORTAL_CLAMD_SOCKET, so a second clamd can take the first one's
place at the same address, as a restarted service would.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from documents import services as documents
from documents.models import CustomerAccess, DocumentVersion
from partners.models import Partner
from portal.models import User
from tests.clamd_server import Clamd, running_clamd
from tests.conftest import World
from tests.factories import PASSWORD
from tests.integration import fault_world
from tests.integration.faults import csrf, gunicorn, logged_in, production_env
from tests.integration.harness import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MEGABYTE = bytes(range(256)) * 4096
SIZE_MB = 256  # clamd is still receiving or scanning when the kill lands
UNCHECKED = "The file could not be checked for viruses, so it was not stored. Please try again later."


def test_clamd_killed_mid_scan_answers_with_the_message_and_the_server_scans_again_after(
    world: World, database_url: str, tmp_path: Path, settings: Any
) -> None:
    password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    User.objects.filter(pk=world.staff.pk).update(language="en", password=password)
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for _ in range(SIZE_MB):
            out.write(MEGABYTE)
    link = tmp_path / "clamd.sock"
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    env = production_env(
        database_url=database_url, media_root=media, var_dir=tmp_path / "var", PORTAL_CLAMD_SOCKET=str(link)
    )
    with running_clamd(stream_max="1G") as first:
        link.symlink_to(first.socket)
        with gunicorn(env, threads=2) as server:
            session = logged_in(server, world.staff.email, PASSWORD)
            url = server.url("documents:upload", folder.pk)
            killed = threading.Event()

            def kill_when_scanning(clamd: Clamd = first) -> None:
                if wait_for(clamd.scanning_now, timeout=60, interval=0.001):
                    clamd.kill()
                    killed.set()

            killer = threading.Thread(target=kill_when_scanning, daemon=True)
            killer.start()
            with big.open("rb") as body:
                refused = session.post(
                    url,
                    data=body,
                    headers={"X-File-Name": quote("Stor.bin"), "X-CSRFToken": csrf(session)},
                    timeout=120,
                )
            killer.join(70)
            assert killed.is_set(), "clamd was not killed during the scan"
            assert refused.status_code == 422, f"{refused.status_code}: {refused.text[:2000]}\n{server.log()}"
            assert refused.json() == {"ok": False, "error": UNCHECKED}
            assert not DocumentVersion.objects.exists()
            assert Partner.objects.get(pk=world.partner.pk).storage_used_bytes == 0

            # clamd comes back at the same address: the running server scans and stores again.
            with running_clamd() as second:
                link.unlink()
                link.symlink_to(second.socket)
                stored = session.post(
                    url,
                    data=b"Huvudbok 2026\n" * 1000,
                    headers={"X-File-Name": quote("Huvudbok.txt"), "X-CSRFToken": csrf(session)},
                    timeout=60,
                )
                assert stored.status_code == 201, (
                    f"{stored.status_code}: {stored.text[:2000]}\n{server.log()}"
                )
            assert server.alive()
    assert DocumentVersion.objects.get().document.name == "Huvudbok.txt"
    assert Partner.objects.get(pk=world.partner.pk).storage_used_bytes == 14_000
    state = fault_world.check(media)
    assert state["problems"] == [] and state["files"] == 1
