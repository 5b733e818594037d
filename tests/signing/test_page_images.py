"""The page images of a signing link: only the pages the signing page shows, each rendered once,
and a renderer that is busy or a file that cannot be rendered answered without crashing."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from billing import services as billing
from documents import services as documents
from documents.models import CustomerAccess
from documents.storage import document_storage
from portal import pdfium
from signing import selectors, services, tasks
from signing.models import Party
from tests.conftest import World
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings: Any, request: pytest.FixtureRequest) -> None:
    """A cache of this test's own: no page image from another run is found."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.name}
    }


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The page indexes PDFium was asked to render, in order."""
    calls: list[int] = []
    real: Callable[..., Image.Image] = pdfium.render_page

    def counting(source: Any, **kwargs: Any) -> Image.Image:
        calls.append(kwargs.get("page_index", 0))
        return real(source, **kwargs)

    monkeypatch.setattr(pdfium, "render_page", counting)
    return calls


def _party(world: World, pages: int) -> Party:
    billing.signature_grant(partner=world.partner, amount=1, reason="test")
    folder = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    doc = documents.document_upload(
        folder=folder, actor=world.admin, name="Avtal.pdf", chunks=[blank_pdf(pages)], by_customer=False
    ).document
    request = services.signing_send(
        collaboration=world.collaboration,
        actor=world.staff,
        document=doc,
        parties=[services.PartyInput("A", "a@example.com")],
        deadline=timezone.now() + dt.timedelta(days=7),
    )
    return Party.objects.get(request=request)


def _page(client: Client, party: Party, number: int) -> Any:
    return client.get(reverse("signing:page", args=[selectors.party_token(party), number]))


def test_a_page_is_rendered_once_then_served_from_the_cache(
    world: World, client: Client, renders: list[int]
) -> None:
    party = _party(world, 3)
    first, second = _page(client, party, 2), _page(client, party, 2)
    assert first.status_code == second.status_code == 200
    assert first["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(first.content)).width == services.PAGE_WIDTH
    assert first.content == second.content
    assert renders == [1]


def test_pages_the_signing_page_does_not_show_are_404_and_render_nothing(
    world: World, client: Client, renders: list[int]
) -> None:
    party = _party(world, services.MAX_THUMBNAILS + 2)
    for number in (
        0,
        services.MAX_THUMBNAILS + 1,
        services.MAX_THUMBNAILS + 2,
        services.MAX_THUMBNAILS + 3,
        10**6,
    ):
        assert _page(client, party, number).status_code == 404, number
    assert renders == []
    assert _page(client, party, services.MAX_THUMBNAILS).status_code == 200


def test_another_link_renders_nothing(world: World, client: Client, renders: list[int]) -> None:
    party = _party(world, 2)
    token = selectors.party_token(party)
    wrong = token[:-1] + ("1" if token[-1] != "1" else "2")
    assert client.get(reverse("signing:page", args=[wrong, 1])).status_code == 404
    assert renders == []


def test_a_page_that_cannot_be_rendered_is_404_and_not_tried_again(
    world: World, client: Client, renders: list[int]
) -> None:
    party = _party(world, 2)
    version = party.request.version
    assert version is not None
    key = version.storage_key
    storage = document_storage()
    storage.delete(key)
    assert storage.save(key, ContentFile(b"%PDF-1.7 damaged after it was sent")) == key
    assert _page(client, party, 1).status_code == 404
    assert _page(client, party, 1).status_code == 404
    assert renders == [0]


def test_a_busy_renderer_answers_503_and_renders_nothing(
    world: World, client: Client, renders: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    party = _party(world, 1)
    monkeypatch.setattr(pdfium, "LOCK_TIMEOUT_SECONDS", 0.2)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pdfium.exclusive():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        response = _page(client, party, 1)
    finally:
        release.set()
        holder.join(10)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert renders == []
    assert _page(client, party, 1).status_code == 200  # and fine once the renderer is free


def test_sending_renders_the_pages_ahead_so_the_signer_waits_for_no_render(
    world: World,
    client: Client,
    renders: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The worker renders the pages the signing page shows when the signing is sent: the signer's
    first look finds them in the cache (the load benchmark's slowest page was this first render)."""
    with django_capture_on_commit_callbacks(execute=True):
        party = _party(world, 3)
    assert sorted(renders) == [0, 0, 1, 2]  # the upload's preview, then the three pages
    for number in (1, 2, 3):
        assert _page(client, party, number).status_code == 200
    assert sorted(renders) == [0, 0, 1, 2]  # nothing rendered again


def test_rendering_ahead_is_bounded_and_idempotent(world: World, renders: list[int]) -> None:
    party = _party(world, services.MAX_THUMBNAILS + 5)
    signing = party.request
    tasks.render_signing_pages(signing.pk)
    tasks.render_signing_pages(signing.pk)  # a redelivery renders nothing more
    assert sorted(renders) == list(range(services.MAX_THUMBNAILS))
    tasks.render_signing_pages(10**9)  # a signing that is gone is a normal exit
