"""Settings > Statements: each month's statement as a page, a PDF and a CSV file, for the firm's
account administrators only."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from billing import services
from billing.models import InvoiceLine, Statement
from partners.models import Partner, Plan
from portal.models import User
from tests.conftest import World

pytestmark = pytest.mark.django_db

GB = 10**9
OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture(autouse=True)
def _actors_speak_english(world: World) -> None:
    """Pages speak the logged-in user's language; the asserted texts are English."""
    User.objects.update(language="en")


def make_statement(
    partner: Partner, actor: User, period: dt.date, *, used: int, package: int = 0
) -> Statement:
    """`partner`'s statement of `period` with `used` bytes stored all month and, when `package`,
    that signature package bought in the month."""
    Partner.objects.filter(pk=partner.pk).update(storage_used_bytes=used)
    if package:
        with translation.override("en"):  # the line keeps its description in the buyer's language
            entry = services.signature_purchase(partner=partner, actor=actor, signatures=package)
        InvoiceLine.objects.filter(entry=entry).update(period=period)  # bought in that month
    return services.statement_make(partner=Partner.objects.get(pk=partner.pk), period=period)


@pytest.fixture
def october(world: World) -> Statement:
    """16 GB stored on the Byrå plan (5 GB included): two paid blocks at 79 kr, and 50 signatures
    bought for 1 250 kr."""
    Partner.objects.filter(pk=world.partner.pk).update(plan=Plan.BYRA)
    return make_statement(world.partner, world.admin, OCTOBER, used=16 * GB, package=50)


def url(name: str, period: dt.date = OCTOBER) -> str:
    return reverse(name, args=[period.year, period.month])


def pages(period: dt.date = OCTOBER) -> list[str]:
    return [
        reverse("billing:statements"),
        url("billing:statement", period),
        url("billing:statement_pdf", period),
        url("billing:statement_csv", period),
    ]


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\xa0", " ").split())


def csv_table(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, so Excel reads å, ä and ö
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


# --- Who may see them -----------------------------------------------------------------------------


def test_admin_sees_the_months_with_a_statement(world: World, login: Any, october: Statement) -> None:
    make_statement(world.partner, world.admin, dt.date(2026, 9, 1), used=0)
    response = login(world.admin).get(reverse("billing:statements"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.index("October 2026") < content.index("September 2026")  # newest first
    assert "1,408.00 kr" in content
    assert "1,250.00 kr" in content  # the signature packages
    assert "158.00 kr" in content  # storage: two blocks
    assert url("billing:statement") in content
    assert url("billing:statement_pdf") in content
    assert url("billing:statement_csv") in content
    assert 'aria-current="page">Statements<' in content


def test_admin_sees_a_months_statement(world: World, login: Any, october: Statement) -> None:
    response = login(world.admin).get(url("billing:statement"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Statement October 2026" in content
    assert "Package of 50 signatures" in content
    for figure in (
        "1,250.00 kr",
        "79.00 kr",
        "158.00 kr",
        "1,408.00 kr",
        "16.0 GB",
        "5.0 GB",
        "Byrå",
        "No cap",
    ):
        assert figure in content
    assert 'aria-current="page">Statements<' in content  # the tab stays current on a month's page


def test_the_settings_tabs_offer_statements_to_admins_only(world: World, login: Any) -> None:
    assert (
        reverse("billing:statements") in login(world.admin).get(reverse("billing:balances")).content.decode()
    )
    assert (
        reverse("billing:statements")
        not in login(world.staff).get(reverse("billing:balances")).content.decode()
    )


def test_staff_of_the_firm_get_403(world: World, login: Any, october: Statement) -> None:
    client = login(world.staff)
    for page in pages():
        assert client.get(page).status_code == 403, page


def test_customer_user_gets_404(world: World, login: Any, october: Statement) -> None:
    for user in (world.primary, world.customer_user):
        client = login(user)
        for page in pages():
            assert client.get(page).status_code == 404, page


def test_outsider_gets_404_for_our_month_and_sees_only_their_own(
    world: World, login: Any, october: Statement
) -> None:
    client = login(world.outsider)
    for page in pages()[1:]:
        assert client.get(page).status_code == 404, page
    make_statement(world.other_partner, world.outsider, OCTOBER, used=0)
    response = client.get(reverse("billing:statements"))
    assert "1,408.00 kr" not in response.content.decode()
    detail = client.get(url("billing:statement"))
    assert detail.status_code == 200
    assert detail.context["sheet"].statement.partner == world.other_partner
    assert "Package of 50 signatures" not in detail.content.decode()
    assert "1,408.00 kr" not in pdf_text(client.get(url("billing:statement_pdf")).content)
    assert "1408,00" not in client.get(url("billing:statement_csv")).content.decode("utf-8-sig")


def test_anonymous_is_sent_to_log_in(client: Client, october: Statement) -> None:
    for page in pages():
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_month_without_a_statement_or_no_month_at_all_is_404(
    world: World, login: Any, october: Statement
) -> None:
    client = login(world.admin)
    assert client.get(url("billing:statement", dt.date(2026, 11, 1))).status_code == 404
    assert client.get("/settings/statements/2026-13/").status_code == 404
    assert client.get("/settings/statements/2026-0/pdf/").status_code == 404


def test_statements_are_read_only(world: World, login: Any, october: Statement) -> None:
    client = login(world.admin)
    for page in pages():
        assert client.post(page).status_code == 405


# --- The files ------------------------------------------------------------------------------------


def test_csv_has_a_row_per_item_and_the_total_for_swedish_excel(
    world: World, login: Any, october: Statement
) -> None:
    response = login(world.admin).get(url("billing:statement_csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-10.csv"'
    rows = csv_table(response.content)
    assert rows[0] == ["Month", "Item", "Quantity", "Unit", "Unit price (SEK)", "Amount (SEK)"]
    assert rows[1] == [
        "2026-10",
        "Storage beyond the included storage, per started block",
        "2",
        "blocks",
        "79,00",
        "158,00",
    ]
    assert rows[2] == ["2026-10", "Package of 50 signatures", "50", "signatures", "", "1250,00"]
    assert rows[3] == ["2026-10", "Total", "", "", "", "1408,00"]
    facts = [row[1] for row in rows[4:]]
    assert facts == [
        "Plan: Byrå",
        "Included storage: 5.0 GB",
        "Highest use: 16.0 GB",
        "Storage cap: No cap",
    ]
    assert all(len(row) == 6 for row in rows)


def test_pdf_opens_and_has_the_amounts(world: World, login: Any, october: Statement) -> None:
    response = login(world.admin).get(url("billing:statement_pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="statement-2026-10.pdf"'
    text = pdf_text(response.content)
    assert "Statement October 2026" in text
    assert "Alfa Byrå AB" in text  # DejaVu Sans: the name as written
    assert world.partner.org_number in text
    assert "Package of 50 signatures" in text
    for figure in ("1,250.00 kr", "79.00 kr", "158.00 kr", "1,408.00 kr", "16.0 GB"):
        assert figure in text


def test_pdf_in_swedish_has_swedish_amounts(world: World, login: Any, october: Statement) -> None:
    User.objects.filter(pk=world.admin.pk).update(language="sv")
    response = login(world.admin).get(url("billing:statement_pdf"))
    text = pdf_text(response.content)
    assert "oktober 2026" in text
    assert "1 408,00 kr" in text
    assert "1 250,00 kr" in text


def test_pdf_falls_back_to_helvetica_without_the_font(
    world: World, login: Any, october: Statement, settings: Any
) -> None:
    settings.SIGNING_AUDIT_FONT_FILE = "/nonexistent/font.ttf"
    from billing import statements

    statements.DEFAULT_FONT_FILE, saved = "/nonexistent/font.ttf", statements.DEFAULT_FONT_FILE
    try:
        text = pdf_text(login(world.admin).get(url("billing:statement_pdf")).content)
    finally:
        statements.DEFAULT_FONT_FILE = saved
    assert "Alfa Byrå AB" in text  # WinAnsi has å
    assert "1,408.00 kr" in text


# --- Queries --------------------------------------------------------------------------------------


def _list_queries(client: Client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("billing:statements"))
    assert response.status_code == 200
    return len(queries), len(response.context["rows"])


def test_the_list_takes_as_many_queries_for_one_month_as_for_twelve(world: World, login: Any) -> None:
    client = login(world.admin)
    make_statement(world.partner, world.admin, dt.date(2025, 1, 1), used=3 * GB, package=10)
    few, listed = _list_queries(client)
    assert listed == 1
    for month in range(2, 13):
        make_statement(world.partner, world.admin, dt.date(2025, month, 1), used=month * GB, package=10)
    many, listed = _list_queries(client)
    assert listed == 12
    assert many == few
