"""Sessions: the idle and absolute timeouts, the list of logged-in browsers under My account,
ending them, and the other sessions ending on a password change, two-factor, deactivation and
removal from the last organisation."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import CustomerMembership
from customers.services import customer_user_remove
from partners.models import PartnerMembership
from partners.services import membership_remove
from portal import sessions
from portal.models import AuditEvent, User, UserSession
from tests.admin.test_admin import post_data
from tests.conftest import World
from tests.factories import PASSWORD, CustomerMembershipFactory, UserFactory
from tests.portal.test_twofactor import english, totp_code

pytestmark = pytest.mark.django_db

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


def logged_in(user: User, user_agent: str = FIREFOX_WINDOWS, ip: str = "192.0.2.10") -> Client:
    """A browser of `user` after the real login form (password), with its own user agent."""
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response
    return client


def is_logged_in(client: Client) -> bool:
    return client.get(reverse("profile")).status_code == 200


def age(client: Client, *, idle: int = 0, since_login: int = 0) -> None:
    """As if the last noted activity was `idle` seconds ago and the login `since_login` ago."""
    session = client.session
    now = int(time.time())
    session[sessions.SEEN_KEY] = now - idle
    session[sessions.STARTED_KEY] = now - max(since_login, idle)
    session.save()


def login_with_next(path: str) -> str:
    location = urlsplit(Client().get(path)["Location"])  # where Django's own login_required sends
    assert location.path == reverse("login") and parse_qs(location.query) == {"next": [path]}
    return urlunsplit(location)


def session_key(client: Client) -> str:
    return str(client.cookies["sessionid"].value)


# --- The timeouts ---------------------------------------------------------------------------------------


def test_login_makes_a_session_row(world: World) -> None:
    client = logged_in(world.staff, ip="192.0.2.77")
    row = UserSession.objects.get(user=world.staff)
    assert row.session_key == session_key(client)
    assert str(row.ip) == "192.0.2.77"
    assert row.user_agent == FIREFOX_WINDOWS
    assert client.session[sessions.KIND_KEY] == "partner"
    assert client.session[sessions.ROW_KEY] == row.pk


def test_idle_session_is_signed_out_with_a_calm_message_and_next_kept(world: World) -> None:
    client = logged_in(english(world.staff))
    key = session_key(client)
    age(client, idle=2 * 3600 + 1)
    response = client.get("/account/?tab=x")
    assert response.status_code == 302
    assert response["Location"] == login_with_next("/account/?tab=x")
    page = client.get(response["Location"])
    assert "You were signed out after 2 hours without activity." in page.content.decode()
    assert page.context["next"] == "/account/?tab=x"
    assert not is_logged_in(client)
    assert not UserSession.objects.filter(user=world.staff).exists()
    assert not Session.objects.filter(session_key=key).exists()
    event = AuditEvent.objects.get(action="session.expired")
    assert event.actor == world.staff and event.details == {"reason": "idle"}


def test_activity_within_the_idle_window_keeps_the_session_and_is_noted(world: World) -> None:
    client = logged_in(world.staff)
    age(client, idle=2 * 3600 - 30, since_login=11 * 3600)
    before = UserSession.objects.get(user=world.staff).last_seen_at
    assert is_logged_in(client)
    assert int(time.time()) - client.session[sessions.SEEN_KEY] <= 2
    row = UserSession.objects.get(user=world.staff)
    assert row.last_seen_at > before
    # Active again just before the limit: still in, as the last activity moved on.
    age(client, idle=2 * 3600 - 30, since_login=11 * 3600)
    assert is_logged_in(client)


def test_activity_is_written_at_most_once_a_minute(world: World) -> None:
    client = logged_in(world.staff)
    age(client, idle=30)
    with CaptureQueriesContext(connection) as queries:
        assert is_logged_in(client)
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert writes == []
    age(client, idle=61)
    with CaptureQueriesContext(connection) as queries:
        assert is_logged_in(client)
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert any('"portal_usersession"' in sql for sql in writes)


def test_absolute_timeout_ends_even_an_active_session(world: World) -> None:
    client = logged_in(english(world.staff))
    age(client, idle=10, since_login=12 * 3600 + 1)
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "you had been signed in for 12 hours" in page.content.decode()
    assert not is_logged_in(client)


def test_customer_users_have_their_own_idle_setting(world: World, settings: Any) -> None:
    settings.SESSION_IDLE_MINUTES_CUSTOMER = 30
    customer = logged_in(world.customer_user)
    staff = logged_in(world.staff)
    assert customer.session[sessions.KIND_KEY] == "customer"
    age(customer, idle=31 * 60)
    age(staff, idle=31 * 60)
    assert not is_logged_in(customer)
    assert is_logged_in(staff)


def test_htmx_request_gets_a_401_with_hx_redirect_to_the_page_it_came_from(world: World) -> None:
    client = logged_in(world.staff)
    age(client, idle=3 * 3600)
    response = client.get(
        reverse("profile"),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/customers/?q=a"},
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == login_with_next("/customers/?q=a")
    assert not is_logged_in(client)


def test_an_idle_form_post_returns_to_the_page_of_the_form_not_the_post(world: World) -> None:
    client = logged_in(world.staff)
    age(client, idle=3 * 3600)
    response = client.post(
        reverse("switch_organisation"), {"org": "x"}, headers={"Referer": "http://testserver/account/"}
    )
    assert response.status_code == 302
    assert response["Location"] == login_with_next("/account/")
    foreign = logged_in(world.admin)
    age(foreign, idle=3 * 3600)
    response = foreign.post(
        reverse("switch_organisation"), {"org": "x"}, headers={"Referer": "https://evil.example/phish"}
    )
    assert response["Location"] == login_with_next("/")


def test_upload_script_gets_a_401_json_it_can_show(world: World) -> None:
    client = logged_in(english(world.staff))
    age(client, idle=3 * 3600)
    response = client.post(
        reverse("profile"),
        headers={"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"},
    )
    assert response.status_code == 401
    assert "2 hours without activity" in response.json()["error"]


def test_a_session_whose_row_was_ended_is_signed_out_at_its_next_noted_activity(world: World) -> None:
    client = logged_in(world.staff)
    UserSession.objects.filter(user=world.staff).delete()  # ended, though the store kept it
    age(client, idle=61)
    assert not is_logged_in(client)


def test_logout_removes_the_row(world: World) -> None:
    client = logged_in(world.staff)
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user=world.staff).exists()


# --- My account: the list and ending sessions -------------------------------------------------------------


def test_list_shows_only_the_users_own_sessions_and_marks_this_one(world: World) -> None:
    mine = logged_in(english(world.staff), FIREFOX_WINDOWS, "192.0.2.1")
    logged_in(world.staff, SAFARI_IPHONE, "192.0.2.2")
    logged_in(world.admin, CHROME_LINUX, "198.51.100.9")  # a colleague
    logged_in(world.outsider, EDGE_WINDOWS, "203.0.113.5")
    page = mine.get(reverse("profile"))
    rows = page.context["sessions"]["rows"]
    assert {row["row"].user_id for row in rows} == {world.staff.pk}
    assert [row["device"] for row in rows if row["current"]] == ["Firefox on Windows"]
    html = page.content.decode()
    assert "Safari on iOS" in html and "192.0.2.2" in html
    assert "Chrome on Linux" not in html and "198.51.100.9" not in html
    assert "Edge on Windows" not in html and "203.0.113.5" not in html
    assert html.count("This device") == 1


def test_profile_page_query_count_does_not_grow_with_sessions(world: World) -> None:
    client = logged_in(world.staff)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("profile")).status_code == 200
        return len(ctx.captured_queries)

    one = queries()
    for agent in (SAFARI_IPHONE, CHROME_LINUX, EDGE_WINDOWS):
        logged_in(world.staff, agent)
    assert queries() == one
    assert one <= 12


def test_ending_another_users_session_is_404_and_it_survives(world: World) -> None:
    attacker = logged_in(world.staff)
    for victim in (world.admin, world.outsider):  # a colleague, another firm's admin
        victim_client = logged_in(victim, SAFARI_IPHONE)
        row = UserSession.objects.get(user=victim)
        response = attacker.post(reverse("session_end", args=[row.pk]))
        assert response.status_code == 404
        assert UserSession.objects.filter(pk=row.pk).exists()
        assert is_logged_in(victim_client)
    assert not AuditEvent.objects.filter(action="session.ended").exists()


def test_ending_one_of_ones_own_sessions(world: World) -> None:
    mine = logged_in(english(world.staff))
    phone = logged_in(world.staff, SAFARI_IPHONE)
    tablet = logged_in(world.staff, CHROME_LINUX)
    phone_row = UserSession.objects.get(session_key=session_key(phone))
    response = mine.post(reverse("session_end", args=[phone_row.pk]))
    assert response.status_code == 302
    assert not is_logged_in(phone)
    assert not Session.objects.filter(session_key=phone_row.session_key).exists()
    assert is_logged_in(tablet) and is_logged_in(mine)
    event = AuditEvent.objects.get(action="session.ended")
    assert event.actor == world.staff and event.object_repr == "Safari on iOS"


def test_this_session_cannot_be_ended_from_the_list_and_get_is_refused(world: World) -> None:
    mine = logged_in(world.staff)
    own = UserSession.objects.get(user=world.staff)
    assert mine.post(reverse("session_end", args=[own.pk])).status_code == 404
    assert mine.get(reverse("session_end", args=[own.pk])).status_code == 405
    assert mine.get(reverse("sessions_end_others")).status_code == 405
    assert is_logged_in(mine)


def test_ending_sessions_needs_a_login(world: World) -> None:
    logged_in(world.staff)
    row = UserSession.objects.get(user=world.staff)
    response = Client().post(reverse("session_end", args=[row.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert UserSession.objects.filter(pk=row.pk).exists()


def test_end_all_other_sessions_keeps_this_one_and_others_users(world: World) -> None:
    mine = logged_in(world.staff)
    others = [logged_in(world.staff, agent) for agent in (SAFARI_IPHONE, CHROME_LINUX)]
    colleague = logged_in(world.admin)
    response = mine.post(reverse("sessions_end_others"))
    assert response.status_code == 302
    assert [is_logged_in(client) for client in others] == [False, False]
    assert is_logged_in(mine) and is_logged_in(colleague)
    assert UserSession.objects.filter(user=world.staff).count() == 1
    event = AuditEvent.objects.get(action="session.ended_others")
    assert event.details == {"reason": "user", "count": 2}


# --- Other sessions end when the account's security changes ---------------------------------------------


def test_password_change_ends_the_other_sessions_and_keeps_this_one(world: World) -> None:
    mine = logged_in(world.staff)
    other = logged_in(world.staff, SAFARI_IPHONE)
    other_key = session_key(other)
    response = mine.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-Secret-9911",
            "new_password2": "a-new-Secret-9911",
        },
    )
    assert response.status_code == 302, response
    assert not Session.objects.filter(session_key=other_key).exists()  # destroyed, not just refused
    assert is_logged_in(mine)
    assert not is_logged_in(other)
    row = UserSession.objects.get(user=world.staff)
    assert row.session_key == session_key(mine)  # the key changed with the password: the row follows
    assert AuditEvent.objects.get(action="session.ended_others").details["reason"] == "password_changed"


def test_password_reset_ends_every_session(world: World, mailoutbox: list[Any]) -> None:
    other = logged_in(world.staff)
    Client().post(reverse("password_reset"), {"email": world.staff.email})
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    path = link[link.index("/accounts/reset/") :]
    anonymous = Client()
    form_page = anonymous.get(path, follow=True)
    response = anonymous.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-Secret-9911", "new_password2": "a-new-Secret-9911"},
    )
    assert response.status_code == 302
    assert not is_logged_in(other)
    assert not UserSession.objects.filter(user=world.staff).exists()


def test_turning_on_two_factor_ends_the_other_sessions(world: World) -> None:
    mine = logged_in(world.staff)
    other = logged_in(world.staff, SAFARI_IPHONE)
    assert mine.get(reverse("twofactor_enrol")).status_code == 200
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=world.staff, confirmed=False)
    response = mine.post(reverse("twofactor_enrol"), {"code": totp_code(device)})
    assert response.status_code == 302
    assert is_logged_in(mine)
    assert not is_logged_in(other)
    assert AuditEvent.objects.get(action="session.ended_others").details["reason"] == "two_factor_on"


def test_deactivation_in_django_admin_ends_every_session(world: World) -> None:
    operator = User.objects.create_superuser(email="root@example.com", name="Root", password=PASSWORD)
    admin_client = Client()
    admin_client.force_login(operator)
    victim = [logged_in(world.staff), logged_in(world.staff, SAFARI_IPHONE)]
    url = reverse("admin:portal_user_change", args=[world.staff.pk])
    data = post_data(admin_client.get(url))
    data.pop("is_active", None)  # an unticked checkbox is not sent
    response = admin_client.post(url, data)
    assert response.status_code == 302
    world.staff.refresh_from_db()
    assert not world.staff.is_active
    assert not UserSession.objects.filter(user=world.staff).exists()
    assert not Session.objects.filter(session_key__in=[session_key(c) for c in victim]).exists()
    assert AuditEvent.objects.get(action="session.ended_all").details == {"reason": "deactivated", "count": 2}


def test_a_password_set_in_django_admin_ends_every_session_of_the_person(world: World) -> None:
    operator = User.objects.create_superuser(email="root@example.com", name="Root", password=PASSWORD)
    admin_client = logged_in(operator)
    victim = logged_in(world.staff)
    victim_key = session_key(victim)
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[world.staff.pk]),
        {"password1": "a-new-Secret-9911", "password2": "a-new-Secret-9911", "usable_password": "true"},
    )
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=victim_key).exists()
    assert not UserSession.objects.filter(user=world.staff).exists()
    assert AuditEvent.objects.get(action="session.ended_all").details["reason"] == "password_reset"
    assert is_logged_in(admin_client)


def test_saving_a_user_in_admin_without_deactivating_ends_nothing(world: World) -> None:
    operator = User.objects.create_superuser(email="root@example.com", name="Root", password=PASSWORD)
    admin_client = Client()
    admin_client.force_login(operator)
    victim = logged_in(world.staff)
    url = reverse("admin:portal_user_change", args=[world.staff.pk])
    data = post_data(admin_client.get(url))
    data["name"] = "Sam Renamed"
    assert admin_client.post(url, data).status_code == 302
    assert is_logged_in(victim)


def test_removal_from_the_last_firm_ends_every_session(world: World) -> None:
    victim = logged_in(world.staff_unassigned)
    membership = PartnerMembership.objects.get(user=world.staff_unassigned)
    membership_remove(membership=membership, actor=world.admin)
    assert not is_logged_in(victim)
    assert not UserSession.objects.filter(user=world.staff_unassigned).exists()


def test_removal_from_one_of_two_organisations_ends_nothing(world: World) -> None:
    # Ulla is staff at Alfa and also a user at one of its customers.
    CustomerMembershipFactory.create(customer=world.customer, user=world.staff_unassigned)
    victim = logged_in(world.staff_unassigned)
    membership_remove(
        membership=PartnerMembership.objects.get(user=world.staff_unassigned), actor=world.admin
    )
    assert is_logged_in(victim)


def test_removal_from_the_last_customer_ends_every_session(world: World) -> None:
    victim = logged_in(world.customer_user)
    bystander = logged_in(world.primary)
    customer_user_remove(
        membership=CustomerMembership.objects.get(user=world.customer_user), actor=world.primary
    )
    assert not is_logged_in(victim)
    assert is_logged_in(bystander)


# --- Pieces -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (CHROME_LINUX, "Chrome on Linux"),
        (EDGE_WINDOWS, "Edge on Windows"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("", "Unknown browser"),
        ("curl/8.5.0", "Unknown browser"),
    ],
)
def test_device_label(agent: str, label: str) -> None:
    with translation.override("en"):
        assert sessions.device_label(agent) == label


def test_prune_drops_rows_past_their_limits_and_of_sessions_gone(world: World) -> None:
    fresh = logged_in(world.staff)
    logged_in(world.admin)
    logged_in(world.primary)
    UserSession.objects.filter(user=world.admin).update(last_seen_at=timezone.now() - timedelta(hours=3))
    Session.objects.filter(session_key=UserSession.objects.get(user=world.primary).session_key).delete()
    assert sessions.sessions_prune() == 2
    assert list(UserSession.objects.values_list("user", flat=True)) == [world.staff.pk]
    assert is_logged_in(fresh)


def test_a_session_from_before_tracking_is_adopted(world: World) -> None:
    client = Client()
    client.force_login(world.staff)
    UserSession.objects.all().delete()
    session = client.session
    for key in (sessions.STARTED_KEY, sessions.SEEN_KEY, sessions.ROW_KEY, sessions.KIND_KEY):
        session.pop(key, None)
    session.save()
    assert is_logged_in(client)
    assert UserSession.objects.filter(user=world.staff, session_key=session_key(client)).exists()


def test_new_user_without_organisation_is_staff_kind() -> None:
    user = UserFactory.create()
    assert sessions.user_kind(user) == "partner"
