"""clamd dies while it scans an upload: the upload is refused with the scanner's message and
nothing is stored. A real clamd (tests/clamd_server.py) is SIGKILLed once it has started
receiving the file, as the OOM killer would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from documents import services
from documents.models import CustomerAccess, Document, DocumentVersion
from portal.errors import ServiceError
from portal.models import AuditEvent
from tests.clamd_server import Clamd, running_clamd
from tests.conftest import World
from tests.integration.harness import wait_for

pytestmark = pytest.mark.django_db

MEGABYTE = bytes(range(256)) * 4096
SIZE_MB = 256  # large enough that clamd is still receiving or scanning when the kill lands


def big_upload() -> Iterator[bytes]:
    for _ in range(SIZE_MB):
        yield MEGABYTE


def test_clamd_killed_mid_scan_refuses_the_upload_and_stores_nothing(world: World, settings: Any) -> None:
    folder = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.EDIT,
    )
    with running_clamd(stream_max="1G") as clamd:
        settings.CLAMD_SOCKET = clamd.socket
        killed = threading.Event()

        def kill_when_scanning(server: Clamd = clamd) -> None:
            if wait_for(server.scanning_now, timeout=60, interval=0.001):
                server.kill()
                killed.set()

        killer = threading.Thread(target=kill_when_scanning, daemon=True)
        killer.start()
        with translation.override("en"), pytest.raises(ServiceError) as refusal:
            services.document_upload(
                folder=folder, actor=world.staff, name="Stor.pdf", chunks=big_upload(), by_customer=False
            )
        killer.join(70)
        assert killed.is_set(), "clamd was not killed during the scan"
        assert clamd.process.returncode is not None
    assert refusal.value.message == (
        "The file could not be checked for viruses, so it was not stored. Please try again later."
    )
    world.partner.refresh_from_db()
    assert Document.objects.count() == 0 and DocumentVersion.objects.count() == 0
    assert world.partner.storage_used_bytes == 0
    media = Path(django_settings.MEDIA_ROOT)
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
    assert not AuditEvent.objects.filter(action__in=["document.upload", "document.virus_refused"]).exists()
