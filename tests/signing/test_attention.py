"""The "needs attention" badges on Mina samarbeten: a user dismisses a customer's declined or
expired badge for themselves (stored, colleagues keep theirs; a later decline or expiry shows it
again), and each badge opens the customer's Signeringar filtered to what it counts."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Collaboration
from portal.models import User
from signing import services
from signing.models import AttentionKind, AttentionSeen, SigningRequest, Status
from tests.conftest import World
from tests.factories import (
    CollaborationFactory,
    CustomerMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
)
from tests.factories import signing_request as _signing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(world: World) -> None:
    User.objects.update(language="en")


def page(response: Any) -> str:
    return response.content.decode()


def _counts(client: Client, name: str = "Kund Alfa AB") -> tuple[int, int, int]:
    response = client.get(reverse("customers:customer_list"))
    assert response.status_code == 200
    row = next(c for c in response.context["page"].object_list if c.customer.name == name)
    return row.signings_waiting, row.signings_declined, row.signings_expired


def _dismiss_url(collaboration: Collaboration, kind: str) -> str:
    return reverse("signing:attention_dismiss", args=[collaboration.pk, kind])


# --- Dismissing ---------------------------------------------------------------------------------------


def test_dismissing_hides_the_badge_for_this_user_only(world: World, login: Any) -> None:
    _signing(world.collaboration, world.staff, Status.PENDING)
    _signing(
        world.collaboration, world.staff, Status.DECLINED, finished_at=timezone.now() - dt.timedelta(hours=1)
    )
    _signing(
        world.collaboration, world.staff, Status.EXPIRED, finished_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert _counts(login(world.staff)) == (1, 1, 1)

    client = login(world.admin)
    html = page(client.get(reverse("customers:customer_list")))
    assert "Dismiss 1 declined signing for Kund Alfa AB" in html
    assert "Dismiss 1 expired signing for Kund Alfa AB" in html
    response = client.post(_dismiss_url(world.collaboration, "declined"))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_list")
    # Declined is gone for the admin; expired and waiting stay.
    html = page(client.get(reverse("customers:customer_list")))
    assert "The declined signings of Kund Alfa AB are dismissed for you; a new decline shows again." in html
    assert _counts(client) == (1, 0, 1)
    html = page(client.get(reverse("customers:customer_list")))
    assert "1 declined" not in html and "Dismiss 1 declined" not in html
    assert "1 expired" in html
    # The assigned staff member still sees it.
    assert _counts(login(world.staff)) == (1, 1, 1)
    seen = AttentionSeen.objects.get()
    assert (seen.user_id, seen.collaboration_id, seen.kind) == (
        world.admin.pk,
        world.collaboration.pk,
        "declined",
    )


def test_dismissing_expired_leaves_declined(world: World, login: Any) -> None:
    _signing(world.collaboration, world.staff, Status.DECLINED)
    _signing(world.collaboration, world.staff, Status.EXPIRED)
    client = login(world.staff)
    response = client.post(_dismiss_url(world.collaboration, "expired"), follow=True)
    assert "The expired signings of Kund Alfa AB are dismissed for you" in page(response)
    assert _counts(client) == (0, 1, 0)


def test_a_later_decline_shows_the_badge_again(world: World, login: Any) -> None:
    first = timezone.now() - dt.timedelta(days=2)
    _signing(world.collaboration, world.staff, Status.DECLINED, finished_at=first)
    _signing(world.collaboration, world.staff, Status.DECLINED, finished_at=first)
    client = login(world.staff)
    client.post(_dismiss_url(world.collaboration, "declined"))
    assert _counts(client) == (0, 0, 0)
    _signing(
        world.collaboration,
        world.staff,
        Status.DECLINED,
        finished_at=timezone.now() + dt.timedelta(seconds=1),
    )
    assert _counts(client) == (0, 1, 0)
    assert "1 declined" in page(client.get(reverse("customers:customer_list")))


def test_dismissing_only_covers_what_the_badge_showed(world: World, login: Any) -> None:
    """The button carries when the newest counted signing finished: one that declined after the
    page was drawn (and before the click) still shows."""
    shown = timezone.now() - dt.timedelta(minutes=5)
    _signing(world.collaboration, world.staff, Status.DECLINED, finished_at=shown)
    client = login(world.staff)
    response = client.get(reverse("customers:customer_list"))
    row = next(c for c in response.context["page"].object_list if c.pk == world.collaboration.pk)
    assert row.signings_declined_until == shown
    assert f'value="{shown.isoformat()}"' in page(response)
    _signing(
        world.collaboration,
        world.staff,
        Status.DECLINED,
        finished_at=timezone.now() - dt.timedelta(minutes=1),
    )
    client.post(_dismiss_url(world.collaboration, "declined"), {"until": shown.isoformat()})
    assert _counts(client) == (0, 1, 0)
    assert AttentionSeen.objects.get().seen_at == shown


def test_dismissal_only_moves_forward_and_never_past_now(world: World) -> None:
    now = timezone.now()
    later = now - dt.timedelta(minutes=1)
    earlier = now - dt.timedelta(hours=1)
    kwargs: dict[str, Any] = {"user": world.staff, "collaboration": world.collaboration, "kind": "declined"}
    assert services.attention_dismiss(**kwargs, until=later, now=now).seen_at == later
    assert services.attention_dismiss(**kwargs, until=earlier, now=now).seen_at == later
    # A time in the future (a hand-made form) cannot hide declines yet to come.
    assert services.attention_dismiss(**kwargs, until=now + dt.timedelta(days=9), now=now).seen_at == now
    assert AttentionSeen.objects.count() == 1


def test_dismiss_returns_to_the_page_of_the_list_it_came_from(world: World, login: Any) -> None:
    _signing(world.collaboration, world.staff, Status.DECLINED)
    client = login(world.staff)
    back = reverse("customers:customer_list") + "?q=Kund&page=1"
    response = client.post(_dismiss_url(world.collaboration, "declined"), {"next": back})
    assert response["Location"] == back
    # Never to another site.
    response = client.post(_dismiss_url(world.collaboration, "declined"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("customers:customer_list")
    response = client.post(_dismiss_url(world.collaboration, "declined"), {"next": "//evil.example/"})
    assert response["Location"] == reverse("customers:customer_list")


def test_dismiss_buttons_are_forms_without_javascript(world: World, login: Any) -> None:
    _signing(world.collaboration, world.staff, Status.DECLINED)
    _signing(world.collaboration, world.staff, Status.DECLINED)
    html = page(login(world.staff).get(reverse("customers:customer_list") + "?q=Kund"))
    assert f'action="{_dismiss_url(world.collaboration, "declined")}"' in html
    assert 'method="post"' in html
    assert "Dismiss 2 declined signings for Kund Alfa AB" in html
    assert 'name="next" value="/customers/?q=Kund"' in html
    # Nothing to dismiss on "waiting": it still waits.
    _signing(world.collaboration, world.staff, Status.PENDING)
    html = page(login(world.staff).get(reverse("customers:customer_list")))
    assert "Dismiss 1 waiting" not in html


# --- Who may dismiss ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "staff_unassigned", "primary", "customer_user"])
def test_those_who_may_not_see_the_customer_get_404(world: World, login: Any, who: str) -> None:
    _signing(world.collaboration, world.staff, Status.DECLINED)
    response = login(getattr(world, who)).post(_dismiss_url(world.collaboration, "declined"))
    assert response.status_code == 404
    assert not AttentionSeen.objects.exists()


def test_anonymous_goes_to_login(world: World, client: Client) -> None:
    response = client.post(_dismiss_url(world.collaboration, "declined"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not AttentionSeen.objects.exists()


def test_dismiss_is_post_only_and_knows_its_kinds(world: World, login: Any) -> None:
    client = login(world.staff)
    assert client.get(_dismiss_url(world.collaboration, "declined")).status_code == 405
    assert client.post(_dismiss_url(world.collaboration, "pending")).status_code == 404
    assert client.post(_dismiss_url(world.collaboration, "nonsense")).status_code == 404
    assert not AttentionSeen.objects.exists()
    assert {k.value for k in AttentionKind} == {"declined", "expired"}


# --- The badges open Signeringar filtered ------------------------------------------------------------


def test_each_badge_links_to_signeringar_filtered_to_it(world: World, login: Any) -> None:
    for status in (Status.PENDING, Status.DECLINED, Status.EXPIRED):
        _signing(world.collaboration, world.staff, status)
    html = page(login(world.staff).get(reverse("customers:customer_list")))
    base = reverse("signing:partner_list", args=[world.collaboration.pk])
    for wanted in ("pending", "declined", "expired"):
        assert f'href="{base}?status={wanted}"' in html


def test_signeringar_lists_only_the_status_asked_for(world: World, login: Any) -> None:
    titles: dict[str, str] = {}
    all_statuses = (
        Status.DRAFT,
        Status.PENDING,
        Status.DECLINED,
        Status.EXPIRED,
        Status.COMPLETED,
        Status.CANCELLED,
    )
    for status in all_statuses:
        titles[status] = _signing(world.collaboration, world.staff, status, title=f"{status}.pdf").title
    client = login(world.staff)
    url = reverse("signing:partner_list", args=[world.collaboration.pk])
    for wanted in ("draft", "pending", "declined", "expired", "completed", "cancelled"):
        response = client.get(url, {"status": wanted})
        assert response.status_code == 200
        assert [s.status for s in response.context["page"].object_list] == [wanted]
        html = page(response)
        assert titles[wanted] in html
        assert all(t not in html for s, t in titles.items() if s != wanted)
    # The active filter is shown (and is a link of the filter control).
    response = client.get(url, {"status": "declined"})
    html = page(response)
    assert re.search(
        r'<a class="button small ?" href="\?status=declined" aria-current="page">Declined</a>', html
    )
    assert re.search(rf'<a class="button small secondary" href="{url}" >All</a>', html)
    # No filter, or an unknown one: everything.
    for query in ({}, {"status": "nonsense"}, {"status": ""}):
        response = client.get(url, query)
        assert response.status_code == 200
        assert len(response.context["page"].object_list) == len(all_statuses)
        assert re.search(
            rf'<a class="button small ?" href="{url}" aria-current="page">All</a>', page(response)
        )


def test_an_empty_filtered_list_says_so(world: World, login: Any) -> None:
    _signing(world.collaboration, world.staff, Status.PENDING)
    url = reverse("signing:partner_list", args=[world.collaboration.pk])
    html = page(login(world.staff).get(url, {"status": "expired"}))
    assert "No signings with this status." in html
    assert "No signings yet." not in html


def test_the_filter_is_kept_when_turning_pages(world: World, login: Any, settings: Any) -> None:
    settings.PAGE_SIZE = 2
    for _n in range(3):
        _signing(world.collaboration, world.staff, Status.DECLINED)
    _signing(world.collaboration, world.staff, Status.PENDING)
    url = reverse("signing:partner_list", args=[world.collaboration.pk])
    html = page(login(world.staff).get(url, {"status": "declined"}))
    assert 'href="?status=declined&amp;page=2"' in html
    response = login(world.staff).get(url, {"status": "declined", "page": 2})
    assert [s.status for s in response.context["page"].object_list] == ["declined"]


def test_outsiders_get_404_for_the_filtered_list(world: World, login: Any) -> None:
    url = reverse("signing:partner_list", args=[world.collaboration.pk]) + "?status=declined"
    for who in (world.outsider, world.staff_unassigned, world.primary):
        assert login(who).get(url).status_code == 404


# --- Query counts -------------------------------------------------------------------------------------


def _customer_list_queries(client: Client, n_customers: int) -> int:
    """Customers each with a waiting, a dismissed and a new declined, and a dismissed expiry."""
    partner = PartnerFactory.create()
    member = PartnerMembershipFactory.create(partner=partner, role="admin", user__language="en").user
    earlier = timezone.now() - dt.timedelta(days=2)
    for _ in range(n_customers):
        collaboration = CollaborationFactory.create(partner=partner)
        CustomerMembershipFactory.create(
            customer=collaboration.customer, is_primary_contact=True, is_admin=True
        )
        _signing(collaboration, member, Status.PENDING)
        _signing(collaboration, member, Status.DECLINED, finished_at=earlier)
        _signing(collaboration, member, Status.DECLINED)
        _signing(collaboration, member, Status.EXPIRED, finished_at=earlier)
        for kind in AttentionKind:
            AttentionSeen.objects.create(
                user=member, collaboration=collaboration, kind=kind, seen_at=earlier + dt.timedelta(hours=1)
            )
    client.force_login(member)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("customers:customer_list"))
    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert len(rows) == n_customers
    assert {(c.signings_waiting, c.signings_declined, c.signings_expired) for c in rows} == {(1, 1, 0)}
    assert page(response).count(">1 declined</span>") == n_customers
    return len(ctx.captured_queries)


def test_customer_list_query_count_is_flat_with_dismissals(db: None, client: Client, settings: Any) -> None:
    settings.PAGE_SIZE = 100
    assert _customer_list_queries(client, 2) == _customer_list_queries(client, 40)


def _filtered_list_queries(client: Client, world: World, count: int) -> int:
    SigningRequest.objects.all().delete()
    for _n in range(count):
        _signing(world.collaboration, world.staff, Status.DECLINED)
        _signing(world.collaboration, world.staff, Status.PENDING)
    client.force_login(world.staff)
    url = reverse("signing:partner_list", args=[world.collaboration.pk])
    client.get(url)  # the first visit stores the active organisation in the session
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"status": "declined"})
    assert len(response.context["page"].object_list) == count
    return len(ctx.captured_queries)


def test_filtered_signeringar_query_count_is_flat(world: World, client: Client, settings: Any) -> None:
    settings.PAGE_SIZE = 100
    assert _filtered_list_queries(client, world, 1) == _filtered_list_queries(client, world, 12)
