"""A customer's log (Mina samarbeten > customer > Log) filtered by days and downloaded as a CSV
file, streamed as the rows are read."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from documents import services
from documents.models import CustomerAccess, Folder
from documents.views import audit
from portal.models import AuditEvent, User
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(world: World) -> None:
    User.objects.update(language="en")


def at(day: str, clock: str) -> dt.datetime:
    """A moment in the portal's time zone (Europe/Stockholm)."""
    return timezone.make_aware(dt.datetime.fromisoformat(f"{day} {clock}"))


def folder_made_at(world: World, name: str, when: dt.datetime) -> Folder:
    folder = services.folder_create(
        collaboration=world.collaboration, actor=world.staff, name=name, customer_access=CustomerAccess.NONE
    )
    AuditEvent.objects.filter(action="folder.create", object_id=folder.pk).update(created_at=when)
    return folder


@pytest.fixture
def march(world: World) -> None:
    """Folders made just before, in and just after March 2026, by local time."""
    folder_made_at(world, "Februari sent", at("2026-02-28", "23:59"))
    folder_made_at(world, "Mars först", at("2026-03-01", "00:00"))
    folder_made_at(world, "Mars sist", at("2026-03-31", "23:30"))  # 21:30 UTC: still March here
    folder_made_at(world, "April tidigt", at("2026-04-01", "00:10"))


def log_url(world: World) -> str:
    return reverse("documents:partner_audit", args=[world.collaboration.pk])


def csv_url(world: World) -> str:
    return reverse("documents:partner_audit_csv", args=[world.collaboration.pk])


def read_csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


# --- The date range ------------------------------------------------------------------------------


def test_the_page_filters_by_days_both_included(world: World, login: Any, march: None) -> None:
    response = login(world.staff).get(log_url(world), MARCH)
    assert response.status_code == 200
    assert [e.object_repr for e in response.context["page"].object_list] == ["Mars sist", "Mars först"]
    html = response.content.decode()
    assert 'type="date"' in html and 'value="2026-03-01"' in html
    assert '<label for="id_date_from">First day' in html and '<label for="id_date_to">Last day' in html


def test_only_a_first_or_a_last_day(world: World, login: Any, march: None) -> None:
    client = login(world.staff)
    after = client.get(log_url(world), {"date_from": "2026-04-01"}).context["page"].object_list
    assert [e.object_repr for e in after] == ["April tidigt"]
    before = client.get(log_url(world), {"date_to": "2026-02-28"}).context["page"].object_list
    assert [e.object_repr for e in before] == ["Februari sent"]


def test_a_last_day_before_the_first_is_422(world: World, login: Any, march: None) -> None:
    client = login(world.staff)
    backwards = {"date_from": "2026-03-31", "date_to": "2026-03-01"}
    for url in (log_url(world), csv_url(world)):
        response = client.get(url, backwards)
        assert response.status_code == 422
        assert "The last day is before the first." in response.content.decode()
    assert client.get(log_url(world), {"date_from": "31/3"}).status_code == 422


# --- The CSV file --------------------------------------------------------------------------------


def test_csv_has_the_days_events_and_is_streamed(world: World, login: Any, march: None) -> None:
    response = login(world.staff).get(csv_url(world), MARCH)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert "2026-03-01" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Time", "Person", "Email", "Action", "Object", "Details", "IP address"]
    assert rows[1:] == [
        ["2026-03-31 23:30:00", "Sam Staff", world.staff.email, "Created a folder", "Mars sist", "", ""],
        ["2026-03-01 00:00:00", "Sam Staff", world.staff.email, "Created a folder", "Mars först", "", ""],
    ]


def test_csv_reads_the_events_only_while_it_is_sent_a_chunk_at_a_time(
    world: World, login: Any, march: None, monkeypatch: Any
) -> None:
    """Nothing is read before the body is; the rows come from .iterator() in chunks, so a year of
    events is never held in memory at once."""
    chunk_sizes: list[int | None] = []
    iterator = AuditEvent.objects.none().__class__.iterator

    def spy(self: Any, chunk_size: int | None = None) -> Any:
        chunk_sizes.append(chunk_size)
        return iterator(self, chunk_size=chunk_size)

    monkeypatch.setattr(AuditEvent.objects.none().__class__, "iterator", spy)
    monkeypatch.setattr(audit, "EXPORT_CHUNK", 2)
    client = login(world.staff)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(csv_url(world))
    assert not [q for q in queries if '"portal_auditevent"."object_repr"' in q["sql"]]
    assert chunk_sizes == []
    rows = read_csv(response)
    assert chunk_sizes == [2]
    assert [row[4] for row in rows[1:]] == ["April tidigt", "Mars sist", "Mars först", "Februari sent"]


def test_csv_keeps_the_action_and_person_filter(world: World, login: Any, march: None) -> None:
    services.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Av admin",
        customer_access=CustomerAccess.NONE,
    )
    rows = read_csv(
        login(world.staff).get(csv_url(world), {"actor": world.admin.pk, "action": "folder.create"})
    )
    assert [row[4] for row in rows[1:]] == ["Av admin"]


def test_csv_neutralises_what_excel_would_run(world: World, login: Any) -> None:
    folder_made_at(world, "=1+2", at("2026-03-02", "12:00"))
    rows = read_csv(login(world.staff).get(csv_url(world)))
    assert rows[1][4] == "'=1+2"


def test_csv_speaks_the_users_language(world: World, login: Any, march: None) -> None:
    User.objects.filter(pk=world.staff.pk).update(language="sv")
    rows = read_csv(login(world.staff).get(csv_url(world), MARCH))
    assert rows[0][0] == "Tid"
    assert rows[1][3] == "Skapade en mapp"


def test_the_log_page_offers_the_download_with_its_filter(world: World, login: Any) -> None:
    html = login(world.admin).get(log_url(world)).content.decode()
    assert f'formaction="{csv_url(world)}"' in html


# --- Who may download it -------------------------------------------------------------------------


def test_admin_and_assigned_staff_download(world: World, login: Any, march: None) -> None:
    for user in (world.admin, world.staff):
        assert login(user).get(csv_url(world)).status_code == 200


@pytest.mark.parametrize(
    "who", ["staff_unassigned", "primary", "customer_user", "outsider", "outsider_customer_user"]
)
def test_others_get_404(world: World, login: Any, march: None, who: str) -> None:
    assert login(getattr(world, who)).get(csv_url(world)).status_code == 404


def test_outsider_gets_404_through_their_own_customer_too(world: World, login: Any, march: None) -> None:
    url = reverse("documents:partner_audit_csv", args=[world.other_collaboration.pk])
    assert login(world.outsider).get(url).status_code == 404


def test_anonymous_is_sent_to_log_in(client: Any, world: World) -> None:
    response = client.get(csv_url(world))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_csv_holds_no_other_customers_events(world: World, login: Any, march: None) -> None:
    services.folder_create(collaboration=world.other_collaboration, actor=world.admin, name="Hemlig A")
    services.folder_create(collaboration=world.outsider_collaboration, actor=world.outsider, name="Hemlig B")
    body = b"".join(login(world.admin).get(csv_url(world)).streaming_content).decode("utf-8-sig")
    assert "Hemlig" not in body
