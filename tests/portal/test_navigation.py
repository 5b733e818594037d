"""The main menu marks the current page's item from the context processor: no view passes `nav`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from documents import services
from documents.models import CustomerAccess, Document
from tests.conftest import World

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _english_pages(world: World) -> None:
    from portal.models import User

    User.objects.update(language="en")


@pytest.fixture
def document(world: World) -> Document:
    folder = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.READ,
    )
    return services.document_upload(
        folder=folder, actor=world.admin, name="a.pdf", chunks=[PDF], by_customer=False
    ).document


def current_item(html: str) -> list[str]:
    return re.findall(
        r'aria-current="page">([^<]+)</a>', html.split('class="main-nav"', 1)[1].split("</nav>")[0]
    )


def test_a_document_page_marks_the_partners_menu_item_for_partner_staff(
    world: World, document: Document, login: Any
) -> None:
    response = login(world.admin).get(reverse("documents:document_detail", args=[document.pk]))
    assert response.status_code == 200
    assert current_item(response.content.decode()) == ["My collaborations"]


def test_a_document_page_marks_the_customers_menu_item_for_a_customer_user(
    world: World, document: Document, login: Any
) -> None:
    response = login(world.primary).get(reverse("documents:document_detail", args=[document.pk]))
    assert response.status_code == 200
    assert current_item(response.content.decode()) == ["Collaborations"]


@pytest.mark.parametrize(
    ("who", "url_name", "item"),
    [
        ("admin", "signing:partner_list", "My collaborations"),
        ("admin", "docrequests:partner_list", "My collaborations"),
        ("primary", "signing:customer_list", "Collaborations"),
        ("admin", "documents:partner_trash", "My collaborations"),
        ("primary", "documents:customer_trash", "Collaborations"),
        ("primary", "documents:customer_root", "Collaborations"),
    ],
)
def test_each_side_s_pages_mark_their_menu_item(
    world: World, login: Any, who: str, url_name: str, item: str
) -> None:
    response = login(getattr(world, who)).get(reverse(url_name, args=[world.collaboration.pk]))
    assert response.status_code == 200
    assert current_item(response.content.decode()) == [item]


def test_the_outsider_still_gets_404_and_no_menu_item_leaks(
    world: World, document: Document, login: Any
) -> None:
    response = login(world.outsider).get(reverse("documents:document_detail", args=[document.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("who", "url_name", "item"),
    [
        ("admin", "documents:partner_search", "My collaborations"),
        ("primary", "documents:customer_search", "Collaborations"),
    ],
)
def test_the_search_pages_mark_their_sides_menu_item(
    world: World, login: Any, who: str, url_name: str, item: str
) -> None:
    response = login(getattr(world, who)).get(reverse(url_name), {"q": "avtal"})
    assert response.status_code == 200
    assert current_item(response.content.decode()) == [item]
