"""documents.rendering.version_page_png: parallel requests for one page wait for one render."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from PIL import Image

from documents import rendering, services
from documents.models import Folder
from portal import pdfium
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings: Any, request: pytest.FixtureRequest) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.name}
    }


@pytest.fixture
def folder(world: Any) -> Folder:
    return services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Underlag")


def test_parallel_requests_for_one_page_render_it_once(
    world: Any, folder: Folder, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = services.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf(3)], by_customer=False
    )
    calls: list[int] = []
    real = pdfium.render_page

    def slow_render(source: Any, **kwargs: Any) -> Image.Image:
        calls.append(kwargs["page_index"])
        time.sleep(0.2)  # the others arrive while this one renders
        return real(source, **kwargs)

    monkeypatch.setattr(pdfium, "render_page", slow_render)
    start = threading.Barrier(8)
    results: list[bytes | None] = []

    def ask() -> None:
        start.wait(10)
        results.append(rendering.version_page_png(version, number=2, width=120))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert calls == [1]
    assert len(results) == 8 and results[0] and all(r == results[0] for r in results)


def test_a_page_past_the_end_is_none(world: Any, folder: Folder) -> None:
    version = services.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf(1)], by_customer=False
    )
    assert rendering.version_page_png(version, number=2, width=120) is None
