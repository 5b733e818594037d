"""The inbox, the bell, opening and marking notifications, and the notification settings page."""

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
from notifications import selectors, services
from notifications.events import DEFAULTS, GROUPS
from notifications.models import EmailMode, Event, Mute, Notification, Preference
from portal.models import User
from tests.conftest import World
from tests.factories import CollaborationFactory, CustomerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

BAD_MODE = "Choose immediately, daily digest or off for each kind of notification."
NOT_OFFERED = "These notification settings are not available to you."


@pytest.fixture(autouse=True)
def _actors_speak_english(world: World) -> None:
    """Pages speak the logged-in user's language and the factories make Swedish users. With
    English actors the asserted texts hold whether or not the Swedish catalogue is compiled."""
    User.objects.update(language="en")


def make(
    user: User,
    *,
    name: str = "Bokslut.pdf",
    url: str = "/somewhere/",
    collaboration: Collaboration | None = None,
    in_app: bool = True,
    read: bool = False,
) -> Notification:
    now = timezone.now()
    return Notification.objects.create(
        recipient=user,
        event=Event.DOCUMENT_ADDED,
        collaboration=collaboration,
        params={"folder": "Bokslut 2026", "names": [name]},
        url=url,
        in_app=in_app,
        email_mode=EmailMode.OFF,
        created_at=now,
        updated_at=now,
        read_at=now if read else None,
    )


def text(response: Any) -> str:
    """The page's visible text, whitespace collapsed, for asserting sentences across tags."""
    content = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(content.replace("&nbsp;", " ").split())


def unread(notification: Notification) -> bool:
    return Notification.objects.get(pk=notification.pk).read_at is None


def offered_events(*, account: bool) -> list[str]:
    return [e for key, _title, events in GROUPS if account or key != "account" for e in events]


def settings_post(*, account: bool = False, **changes: Any) -> dict[str, Any]:
    """A full submission of the preferences form with the defaults, then `changes`
    (email_<event>="digest", in_app_<event>=False, muted=[ids], ...)."""
    data: dict[str, Any] = {}
    for event in offered_events(account=account):
        data[f"email_{event}"] = DEFAULTS[event].email
        if DEFAULTS[event].in_app:
            data[f"in_app_{event}"] = "on"
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def save_settings(client: Client, data: dict[str, Any]) -> Any:
    return client.post(reverse("notifications:preferences"), data)


def notification_queries(context: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in context.captured_queries if "notifications_notification" in q["sql"]]


# --- The inbox ----------------------------------------------------------------------------------


def test_inbox_lists_only_my_in_app_notifications_newest_first(world: World, login: Any) -> None:
    older = make(world.customer_user, name="Gammal.pdf", collaboration=world.collaboration)
    Notification.objects.filter(pk=older.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
    newer = make(world.customer_user, name="Ny.pdf", collaboration=world.collaboration)
    make(world.customer_user, name="Bara-epost.pdf", in_app=False)
    make(world.primary, name="Någon-annans.pdf")
    make(world.outsider_customer_user, name="Utomstående.pdf")

    response = login(world.customer_user).get(reverse("notifications:inbox"))

    assert response.status_code == 200
    assert [item.id for item in response.context["items"]] == [newer.pk, older.pk]
    page = text(response)
    assert "Ny.pdf was added to Bokslut 2026" in page
    assert "Gammal.pdf was added to Bokslut 2026" in page
    assert page.index("Ny.pdf") < page.index("Gammal.pdf")
    assert str(world.collaboration) in page
    for foreign in ("Bara-epost.pdf", "Någon-annans.pdf", "Utomstående.pdf"):
        assert foreign not in page
    content = response.content.decode()
    assert reverse("notifications:open", args=[newer.pk]) in content
    assert "<h1>Notifications</h1>" in content


def test_unread_is_said_in_words_not_only_shown(world: World, login: Any) -> None:
    make(world.customer_user, name="Oläst.pdf")
    make(world.customer_user, name="Läst.pdf", read=True)
    response = login(world.customer_user).get(reverse("notifications:inbox"))
    page = text(response)
    assert page.count("Unread ") == 1
    assert re.search(r"Unread Oläst\.pdf was added", page)
    # One mark-as-read button, for the unread one, named after it.
    assert page.count("Mark as read") == 1
    assert "Mark as read : Oläst.pdf was added to Bokslut 2026" in page


def test_an_empty_inbox_says_so(world: World, login: Any) -> None:
    response = login(world.customer_user).get(reverse("notifications:inbox"))
    assert "No notifications yet." in text(response)
    assert "Mark all as read" not in text(response)


def test_anonymous_visitor_is_sent_to_log_in(client: Client, world: World) -> None:
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _inbox_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200
    return len(queries)


def test_inbox_query_count_does_not_grow_with_the_notifications(world: World, login: Any) -> None:
    client = login(world.customer_user)
    for i in range(3):
        make(world.customer_user, name=f"{i}.pdf", collaboration=world.collaboration)
    with_three = _inbox_queries(client)
    other = CollaborationFactory.create(partner=world.other_partner, customer=world.customer)
    for i in range(27):
        make(world.customer_user, name=f"x{i}.pdf", collaboration=other if i % 2 else world.collaboration)
    with_thirty = _inbox_queries(client)
    assert with_three == with_thirty


# --- Opening and marking ------------------------------------------------------------------------


def test_opening_marks_read_and_goes_where_it_leads(world: World, login: Any) -> None:
    notification = make(world.customer_user, url="/collaborations/7/folders/3/")
    other = make(world.customer_user)
    response = login(world.customer_user).get(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/collaborations/7/folders/3/"
    assert not unread(notification)
    assert unread(other)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example/phish",
        "",
    ],
)
def test_opening_never_leaves_the_site(world: World, login: Any, url: str) -> None:
    notification = make(world.customer_user, url=url)
    response = login(world.customer_user).get(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox")
    assert not unread(notification)


def test_an_off_site_url_is_not_even_linked(world: World, login: Any) -> None:
    notification = make(world.customer_user, url="https://evil.example/")
    response = login(world.customer_user).get(reverse("notifications:inbox"))
    content = response.content.decode()
    assert "evil.example" not in content
    assert f'href="{reverse("notifications:open", args=[notification.pk])}"' not in content


@pytest.mark.parametrize("who", ["outsider", "outsider_customer_user", "primary", "admin"])
def test_someone_else_cannot_open_or_mark_my_notification(world: World, login: Any, who: str) -> None:
    mine = make(world.customer_user, collaboration=world.collaboration)
    client = login(getattr(world, who))
    assert client.get(reverse("notifications:open", args=[mine.pk])).status_code == 404
    assert client.post(reverse("notifications:mark_read", args=[mine.pk])).status_code == 404
    client.post(reverse("notifications:mark_all_read"))
    assert unread(mine)


def test_a_missing_id_is_the_same_404(world: World, login: Any) -> None:
    client = login(world.customer_user)
    assert client.get(reverse("notifications:open", args=[999_999])).status_code == 404
    assert client.post(reverse("notifications:mark_read", args=[999_999])).status_code == 404


def test_mark_one_read(world: World, login: Any) -> None:
    first, second = make(world.customer_user), make(world.customer_user)
    response = login(world.customer_user).post(
        reverse("notifications:mark_read", args=[first.pk]), {"page": "2"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox") + "?page=2"
    assert not unread(first)
    assert unread(second)


def test_marking_changes_nothing_on_get(world: World, login: Any) -> None:
    mine = make(world.customer_user)
    client = login(world.customer_user)
    assert client.get(reverse("notifications:mark_read", args=[mine.pk])).status_code == 405
    assert client.get(reverse("notifications:mark_all_read")).status_code == 405
    assert unread(mine)


def test_mark_all_read_marks_only_mine(world: World, login: Any) -> None:
    mine = [make(world.customer_user) for _ in range(3)]
    theirs = make(world.primary)
    response = login(world.customer_user).post(reverse("notifications:mark_all_read"))
    assert response.status_code == 302
    assert not any(unread(n) for n in mine)
    assert unread(theirs)


# --- The bell -----------------------------------------------------------------------------------


def test_the_bell_shows_my_unread_count_on_every_page(world: World, login: Any) -> None:
    for _ in range(3):
        make(world.customer_user)
    make(world.customer_user, read=True)
    make(world.customer_user, in_app=False)
    make(world.primary)
    client = login(world.customer_user)
    for url in (reverse("profile"), reverse("customers:collaboration_list")):
        content = client.get(url).content.decode()
        assert '<span class="visually-hidden">Notifications, 3 unread</span>' in content
        assert '<span class="bell-count" aria-hidden="true">3</span>' in content
        assert f'class="bell" href="{reverse("notifications:inbox")}"' in content


def test_the_bell_says_99_plus_beyond_99(world: World, login: Any) -> None:
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            recipient=world.customer_user,
            event=Event.DOCUMENT_ADDED,
            params={"folder": "F", "names": ["a"]},
            email_mode=EmailMode.OFF,
            created_at=now,
            updated_at=now,
        )
        for _ in range(120)
    )
    content = login(world.customer_user).get(reverse("profile")).content.decode()
    assert "Notifications, 120 unread" in content
    assert '<span class="bell-count" aria-hidden="true">99+</span>' in content


def test_a_new_user_has_a_quiet_bell(world: World, login: Any) -> None:
    newcomer = CustomerMembershipFactory.create(customer=world.customer, user__language="en").user
    response = login(newcomer).get(reverse("profile"))
    content = response.content.decode()
    assert response.context["bell"].unread == 0
    assert '<span class="visually-hidden">Notifications</span>' in content
    assert "bell-count" not in content.split("</header>")[0]


def test_the_bell_costs_one_count_query(world: World, login: Any) -> None:
    make(world.customer_user)
    client = login(world.customer_user)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("profile"))
    found = notification_queries(queries)
    assert len(found) == 1
    assert "COUNT(" in found[0].upper()


def test_an_anonymous_page_asks_nothing_about_notifications(client: Client, world: World) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("login"))
    assert response.status_code == 200
    assert notification_queries(queries) == []
    assert 'class="bell"' not in response.content.decode()


def test_the_bell_is_marked_current_in_the_inbox(world: World, login: Any) -> None:
    content = login(world.customer_user).get(reverse("notifications:inbox")).content.decode()
    assert re.search(r'class="bell" href="[^"]+" aria-current="page"', content)


# --- Preferences --------------------------------------------------------------------------------


def test_my_account_links_to_the_settings(world: World, login: Any) -> None:
    content = login(world.customer_user).get(reverse("profile")).content.decode()
    assert f'href="{reverse("notifications:preferences")}"' in content


def test_the_defaults_are_shown_when_nothing_is_saved(world: World, login: Any) -> None:
    response = login(world.customer_user).get(reverse("notifications:preferences"))
    assert response.status_code == 200
    form = response.context["form"]
    for event in offered_events(account=False):
        assert form[f"email_{event}"].value() == DEFAULTS[event].email
        assert form[f"in_app_{event}"].value() is DEFAULTS[event].in_app
    content = response.content.decode()
    replaced = re.search(r'<select name="email_document_replaced".*?</select>', content, re.S)
    assert replaced is not None
    assert '<option value="digest" selected>Daily digest</option>' in replaced.group(0)
    assert 'for="id_email_document_added">Email: Document added</label>' in content


def test_my_saved_choice_is_shown(world: World, login: Any) -> None:
    services.preferences_set(
        user=world.customer_user,
        actor=world.customer_user,
        choices={Event.DOCUMENT_ADDED: (EmailMode.OFF, False)},
    )
    form = login(world.customer_user).get(reverse("notifications:preferences")).context["form"]
    assert form["email_document_added"].value() == EmailMode.OFF
    assert form["in_app_document_added"].value() is False


def test_storage_and_balance_only_for_account_administrators(world: World, login: Any) -> None:
    for user in (world.staff, world.customer_user, world.primary):
        page = text(login(user).get(reverse("notifications:preferences")))
        assert "Storage and balance" not in page
        assert "Signature balance low" not in page
        assert "Document added" in page and "Signing requested" in page
    page = text(login(world.admin).get(reverse("notifications:preferences")))
    assert "Storage and balance" in page
    assert "Signature balance low" in page


def test_saving_changes_my_settings_and_nobody_elses(world: World, login: Any) -> None:
    services.preferences_set(
        user=world.primary, actor=world.primary, choices={Event.DOCUMENT_ADDED: (EmailMode.OFF, True)}
    )
    data = settings_post(email_document_added="digest", in_app_document_deleted=False)
    # Naming someone else changes nothing: the page only ever edits the logged-in person.
    data["user"] = str(world.primary.pk)
    data["user_id"] = str(world.primary.pk)
    response = save_settings(login(world.customer_user), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:preferences")
    mine = selectors.preferences_for(world.customer_user)
    assert mine[Event.DOCUMENT_ADDED] == (EmailMode.DIGEST, True)
    assert mine[Event.DOCUMENT_DELETED] == (EmailMode.DIGEST, False)
    assert Preference.objects.filter(user=world.customer_user).count() == 2  # defaults store nothing
    assert selectors.preferences_for(world.primary)[Event.DOCUMENT_ADDED] == (EmailMode.OFF, True)
    assert not Preference.objects.exclude(user__in=[world.customer_user, world.primary]).exists()


def test_saving_says_so(world: World, login: Any) -> None:
    client = login(world.customer_user)
    response = client.post(reverse("notifications:preferences"), settings_post(), follow=True)
    assert "Your notification settings were saved." in text(response)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email_document_added": "weekly"}, BAD_MODE),
        ({"email_document_added": False}, BAD_MODE),
        ({"email_balance_low": "off"}, NOT_OFFERED),  # not offered to a customer user
        ({"in_app_storage_warning": "on"}, NOT_OFFERED),
        ({"email_no_such_event": "off"}, NOT_OFFERED),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(
    world: World, login: Any, changes: dict[str, Any], message: str
) -> None:
    data = settings_post(email_document_replaced="off", muted=[str(world.collaboration.pk)], **changes)
    response = save_settings(login(world.customer_user), data)
    assert response.status_code == 422
    assert message in text(response)
    assert not Preference.objects.filter(user=world.customer_user).exists()
    assert not Mute.objects.filter(user=world.customer_user).exists()


def test_staff_cannot_set_the_account_events(world: World, login: Any) -> None:
    response = save_settings(login(world.staff), settings_post(email_balance_low="off"))
    assert response.status_code == 422
    assert not Preference.objects.filter(user=world.staff).exists()


def test_an_account_administrator_sets_the_account_events(world: World, login: Any) -> None:
    data = settings_post(account=True, email_balance_low="digest", in_app_storage_warning=False)
    response = save_settings(login(world.admin), data)
    assert response.status_code == 302
    mine = selectors.preferences_for(world.admin)
    assert mine[Event.BALANCE_LOW] == (EmailMode.DIGEST, True)
    assert mine[Event.STORAGE_WARNING] == (EmailMode.IMMEDIATELY, False)


def test_unchecking_in_the_portal_is_saved(world: World, login: Any) -> None:
    save_settings(login(world.customer_user), settings_post(in_app_document_added=False))
    assert selectors.preferences_for(world.customer_user)[Event.DOCUMENT_ADDED] == (
        EmailMode.IMMEDIATELY,
        False,
    )


# --- Muting -------------------------------------------------------------------------------------


def _mute_choices(response: Any) -> set[int]:
    return {int(value) for value, _label in response.context["form"].fields["muted"].choices}


def test_the_mute_list_offers_only_collaborations_i_can_see(world: World, login: Any) -> None:
    url = reverse("notifications:preferences")
    assert _mute_choices(login(world.admin).get(url)) == {
        world.collaboration.pk,
        world.other_collaboration.pk,
    }
    assert _mute_choices(login(world.staff).get(url)) == {world.collaboration.pk}
    assert _mute_choices(login(world.staff_unassigned).get(url)) == set()
    assert _mute_choices(login(world.customer_user).get(url)) == {world.collaboration.pk}
    assert _mute_choices(login(world.outsider).get(url)) == {world.outsider_collaboration.pk}
    page = text(login(world.staff).get(url))
    assert "Kund Alfa AB" in page
    assert "Bygg Alfa AB" not in page and "Kund Beta AB" not in page


def test_a_customer_user_sees_only_active_collaborations(world: World, login: Any) -> None:
    ended = CollaborationFactory.create(customer=world.customer, status="ended")
    invited = CollaborationFactory.create(customer=world.customer, status="invited")
    choices = _mute_choices(login(world.customer_user).get(reverse("notifications:preferences")))
    assert ended.pk not in choices and invited.pk not in choices


def test_muting_keeps_only_collaborations_i_can_see(world: World, login: Any) -> None:
    muted = [world.collaboration.pk, world.other_collaboration.pk, world.outsider_collaboration.pk, 999_999]
    response = save_settings(login(world.staff), settings_post(muted=[str(pk) for pk in muted] + ["x"]))
    assert response.status_code == 302
    assert list(Mute.objects.filter(user=world.staff).values_list("collaboration_id", flat=True)) == [
        world.collaboration.pk
    ]
    assert not Mute.objects.exclude(user=world.staff).exists()


def test_unmuting_removes_the_mute_and_shows_it(world: World, login: Any) -> None:
    client = login(world.admin)
    save_settings(client, settings_post(account=True, muted=[str(world.collaboration.pk)]))
    response = client.get(reverse("notifications:preferences"))
    assert response.context["form"]["muted"].value() == [world.collaboration.pk]
    assert re.search(rf'value="{world.collaboration.pk}"[^>]*checked', response.content.decode())
    save_settings(client, settings_post(account=True))
    assert not Mute.objects.filter(user=world.admin).exists()


def test_a_person_without_collaborations_is_told_so(world: World, login: Any) -> None:
    loner = UserFactory.create(language="en")
    response = login(loner).get(reverse("notifications:preferences"))
    assert response.status_code == 200
    assert "You have no collaborations to mute." in text(response)
