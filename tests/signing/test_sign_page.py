"""The party's signing page: page thumbnails, and the personal link as the only key."""

from __future__ import annotations

import datetime as dt
import io

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from billing import services as billing
from documents import services as documents
from documents.models import CustomerAccess
from signing import selectors, services
from signing.models import Party
from tests.conftest import World
from tests.pdfs import blank_pdf


def _request(world: World, pages: int) -> Party:
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
    assert request.pages == pages
    return Party.objects.get(request=request)


def test_the_page_shows_a_thumbnail_of_every_page(world: World, client: Client) -> None:
    party = _request(world, 3)
    token = selectors.party_token(party)
    html = client.get(reverse("signing:sign", args=[token])).content.decode()
    for n in (1, 2, 3):
        assert f'src="{reverse("signing:page", args=[token, n])}"' in html
    response = client.get(reverse("signing:page", args=[token, 2]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).width == 260
    assert client.get(reverse("signing:page", args=[token, 4])).status_code == 404
    assert client.get(reverse("signing:page", args=[token, 0])).status_code == 404


def test_another_token_sees_nothing(world: World, client: Client) -> None:
    party = _request(world, 1)
    token = selectors.party_token(party)
    wrong = token[:-1] + ("1" if token[-1] != "1" else "2")
    for url in (
        reverse("signing:sign", args=[wrong]),
        reverse("signing:page", args=[wrong, 1]),
        reverse("signing:document", args=[wrong]),
    ):
        assert client.get(url).status_code == 404
