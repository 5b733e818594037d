"""The rows and trees made in Python (issue 16: documents.views.partner._file_row, the folder_tree
tag, customers.rows) escape every name that comes from a user, as the templates did. The names
are written past documents.names' rules (which refuse < > and "), as data from elsewhere could be."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from documents import services
from documents.models import Audience, CustomerAccess, Document, DocumentVersion, Folder
from partners.models import Partner
from portal.models import User
from tests.conftest import World
from tests.pdfs import blank_pdf

pytestmark = pytest.mark.django_db

HOSTILE_FILE = '<img src=x onerror="alert(1)">.pdf'
HOSTILE_FOLDER = "<b>Löner</b> & 'mer'"


def _hostile_folder(world: World) -> Any:
    folder = services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Löner",
        customer_access=CustomerAccess.READ,
        audience=Audience.ALL,
    )
    services.document_upload(
        folder=folder, actor=world.admin, name="Lön.pdf", chunks=[blank_pdf(1)], by_customer=False
    )
    Folder.objects.filter(pk=folder.pk).update(name=HOSTILE_FOLDER)
    Document.objects.filter(folder=folder).update(name=HOSTILE_FILE)
    return folder


def _assert_escaped(html: str) -> None:
    assert "<img src=x" not in html and "<b>Löner" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.pdf" in html  # the row's name and labels
    assert "&lt;b&gt;Löner&lt;/b&gt; &amp; &#x27;mer&#x27;" in html  # the tree and the heading


def test_the_partner_folder_page_escapes_file_and_folder_names(world: World, login: Any) -> None:
    folder = _hostile_folder(world)
    User.objects.filter(pk=world.admin.pk).update(name='Anna <script>alert("x")</script>')
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    html = login(world.admin).get(url).content.decode()
    _assert_escaped(html)
    assert "<script>alert" not in html and "Anna &lt;script&gt;" in html  # "Uploaded by"
    tree = login(world.admin).get(reverse("documents:partner_root", args=[world.collaboration.pk]))
    assert "&lt;b&gt;Löner&lt;/b&gt; &amp; &#x27;mer&#x27;" in tree.content.decode()


def test_the_customer_folder_page_escapes_file_and_folder_names(world: World, login: Any) -> None:
    folder = _hostile_folder(world)
    url = reverse("documents:customer_folder", args=[world.collaboration.pk, folder.pk])
    _assert_escaped(login(world.customer_user).get(url).content.decode())


def test_mina_samarbeten_escapes_the_customer_and_contact_names(world: World, login: Any) -> None:
    world.customer.name = "<i>Kund</i> & Co"
    world.customer.save(update_fields=["name"])
    User.objects.filter(pk=world.primary.pk).update(name="<u>Karin</u>", email="karin+<x>@example.com")
    html = login(world.admin).get(reverse("customers:customer_list")).content.decode()
    assert "<i>Kund" not in html and "&lt;i&gt;Kund&lt;/i&gt; &amp; Co" in html
    assert "<u>Karin" not in html and "&lt;u&gt;Karin&lt;/u&gt;" in html
    assert "karin+&lt;x&gt;@example.com" in html


def test_a_row_names_the_uploader_by_email_without_a_name_and_a_dash_when_gone(
    world: World, login: Any
) -> None:
    """The row reads the uploader's name, email and the version's columns as a tuple
    (views.partner.file_rows): the fallbacks User.get_full_name and a missing uploader had."""
    folder = _hostile_folder(world)
    services.document_upload(
        folder=folder, actor=world.staff, name="Moms.pdf", chunks=[blank_pdf(1)], by_customer=False
    )
    User.objects.filter(pk=world.staff.pk).update(name="", email="staff+<x>@example.com")
    url = reverse("documents:partner_folder", args=[world.collaboration.pk, folder.pk])
    html = login(world.admin).get(url).content.decode()
    assert "staff+&lt;x&gt;@example.com" in html and "staff+<x>" not in html
    moms = Document.objects.get(folder=folder, name="Moms.pdf")
    DocumentVersion.objects.filter(document=moms).update(uploaded_by=None)
    html = login(world.admin).get(url).content.decode()
    row = html[html.index(f'value="{moms.pk}"') :]
    row = row[: row.index("</tr>")]
    assert re.search(r'<td class="col-by" data-label="[^"]+">–</td>', row), row


def test_move_targets_are_escaped_and_a_refused_move_keeps_its_choice(world: World, login: Any) -> None:
    hostile = _hostile_folder(world)
    other = services.folder_create(collaboration=world.collaboration, actor=world.admin, name="Mål")
    url = reverse("documents:partner_bulk", args=[world.collaboration.pk, other.pk])
    services.document_upload(
        folder=other, actor=world.admin, name="a.pdf", chunks=[blank_pdf(1)], by_customer=False
    )
    # Nothing ticked: refused (422), the page again with the chosen folder still chosen.
    response = login(world.admin).post(url, {"action": "move", "target": hostile.pk})
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        f'<option value="{hostile.pk}" selected>&lt;b&gt;Löner&lt;/b&gt; &amp; &#x27;mer&#x27;</option>'
        in html
    )
    assert "<b>Löner" not in html
    page = login(world.admin).get(
        reverse("documents:partner_folder", args=[world.collaboration.pk, other.pk])
    )
    assert f'<option value="{hostile.pk}">&lt;b&gt;Löner' in page.content.decode()


def test_search_results_escape_file_folder_customer_and_firm_names(world: World, login: Any) -> None:
    _hostile_folder(world)  # the file's search name stays "lön.pdf"
    world.customer.name = "<i>Kund</i> & Co"
    world.customer.save(update_fields=["name"])
    Partner.objects.filter(pk=world.partner.pk).update(name="<u>Byrå</u> & Co")
    partner = login(world.admin).get(reverse("documents:partner_search") + "?q=lön").content.decode()
    _assert_escaped(partner)
    assert "<i>Kund" not in partner and "&lt;i&gt;Kund&lt;/i&gt; &amp; Co" in partner
    customer = (
        login(world.customer_user).get(reverse("documents:customer_search") + "?q=lön").content.decode()
    )
    _assert_escaped(customer)
    assert "<u>Byrå" not in customer and "&lt;u&gt;Byrå&lt;/u&gt; &amp; Co" in customer
