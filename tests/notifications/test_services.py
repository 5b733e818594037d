"""Who hears what, how, and exactly once: the preference matrix, mutes, visibility, batching,
language, the outbox's delivery and the daily digest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.utils import translation

from customers.services import customer_invite
from documents import services as documents
from documents.models import Audience, CustomerAccess, Folder
from notifications import selectors, services, tasks
from notifications.events import DEFAULTS, describe
from notifications.models import EmailMode, Event, Mute, Notification, Preference
from portal.errors import ServiceError
from portal.models import Language, User
from tests.conftest import World
from tests.factories import CustomerMembershipFactory, PartnerMembershipFactory

TEXT = b"plain text\n"


@pytest.fixture(autouse=True)
def _no_batch_delay(settings: Any) -> None:
    """Emails go out at once in these tests (the batching window is tested on its own)."""
    settings.NOTIFICATION_BATCH_SECONDS = 0


@pytest.fixture(autouse=True)
def _english(world: World) -> Iterator[None]:
    """Texts are asserted in English: the recipients read English (emails use their language)."""
    User.objects.update(language=Language.ENGLISH)
    with translation.override("en"):
        yield


def shared_folder(world: World, **kwargs: Any) -> Folder:
    options = {"customer_access": CustomerAccess.READ, "audience": Audience.ALL} | kwargs
    return documents.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="Bokslut 2026", **options
    )


def upload(folder: Folder, actor: User, name: str) -> None:
    documents.document_upload(
        folder=folder, actor=actor, name=name, chunks=[TEXT + name.encode()], by_customer=False
    )


def raise_event(world: World, event: str, recipients: list[User], capture: Any) -> None:
    with capture(execute=True):
        services.notifications_add(
            event=event,
            recipients=recipients,
            actor=world.admin,
            collaboration=world.collaboration,
            url="/somewhere/",
            params={
                "folder": "F",
                "partner": "P",
                "customer": "C",
                "document": "D",
                "party": "X",
                "sender": "S",
                "percent": 80,
                "used": 1,
                "included": 2,
                "blocks": 1,
                "balance": 1,
                "title": "T",
                "due": "2026-12-15",
            },
            names=["a.pdf"],
        )


# --- The preference matrix ---------------------------------------------------------------------


@pytest.mark.parametrize("event", Event.values)
@pytest.mark.parametrize("email", EmailMode.values)
@pytest.mark.parametrize("in_app", [True, False])
def test_each_event_reaches_the_channels_its_recipient_chose(
    world: World, django_capture_on_commit_callbacks: Any, event: str, email: str, in_app: bool
) -> None:
    person = world.customer_user
    services.preferences_set(user=person, actor=person, choices={event: (email, in_app)})
    raise_event(world, event, [person], django_capture_on_commit_callbacks)
    rows = list(Notification.objects.filter(recipient=person))
    if email == EmailMode.OFF and not in_app:
        assert rows == []
    else:
        assert len(rows) == 1 and rows[0].event == event
        assert rows[0].in_app is in_app and rows[0].email_mode == email
    immediate = [m for m in mail.outbox if m.to == [person.email]]
    assert len(immediate) == (1 if email == EmailMode.IMMEDIATELY else 0)
    mail.outbox.clear()
    tasks.send_digests()
    digests = [m for m in mail.outbox if m.to == [person.email]]
    assert len(digests) == (1 if email == EmailMode.DIGEST else 0)
    assert Notification.objects.filter(recipient=person, in_app=True).count() == (1 if in_app else 0)


def test_defaults_apply_without_a_choice_and_my_choice_changes_nobody_elses(world: World) -> None:
    assert selectors.preferences_for(world.customer_user)[Event.DOCUMENT_ADDED] == (
        EmailMode.IMMEDIATELY,
        True,
    )
    services.preferences_set(
        user=world.customer_user,
        actor=world.customer_user,
        choices={Event.DOCUMENT_ADDED: (EmailMode.OFF, False)},
    )
    assert selectors.preferences_for(world.customer_user)[Event.DOCUMENT_ADDED] == (EmailMode.OFF, False)
    assert selectors.preferences_for(world.primary)[Event.DOCUMENT_ADDED] == (EmailMode.IMMEDIATELY, True)
    # Back to the default: no row is kept.
    default = DEFAULTS[Event.DOCUMENT_ADDED]
    services.preferences_set(
        user=world.customer_user,
        actor=world.customer_user,
        choices={Event.DOCUMENT_ADDED: (default.email, default.in_app)},
    )
    assert not Preference.objects.exists()


@pytest.mark.parametrize("actor", ["admin", "primary", "outsider"])
def test_nobody_changes_another_persons_settings(world: World, actor: str) -> None:
    with pytest.raises(ServiceError):
        services.preferences_set(
            user=world.customer_user,
            actor=getattr(world, actor),
            choices={Event.DOCUMENT_ADDED: (EmailMode.OFF, False)},
        )
    with pytest.raises(ServiceError):
        services.mutes_set(
            user=world.customer_user,
            actor=getattr(world, actor),
            collaborations=[world.collaboration],
            muted_ids=[world.collaboration.pk],
        )
    assert not Preference.objects.exists() and not Mute.objects.exists()


def test_an_unknown_mode_or_event_is_refused_and_saves_nothing(world: World) -> None:
    bad: list[dict[str, tuple[str, bool]]] = [
        {Event.DOCUMENT_ADDED: ("weekly", True)},
        {"document_lost": (EmailMode.OFF, True)},
    ]
    for choices in bad:
        with pytest.raises(ServiceError):
            services.preferences_set(user=world.customer_user, actor=world.customer_user, choices=choices)
    assert not Preference.objects.exists()


def test_a_muted_collaboration_tells_nothing(world: World, django_capture_on_commit_callbacks: Any) -> None:
    services.mutes_set(
        user=world.customer_user,
        actor=world.customer_user,
        collaborations=[world.collaboration],
        muted_ids=[world.collaboration.pk, world.outsider_collaboration.pk],  # not theirs: ignored
    )
    assert list(Mute.objects.values_list("collaboration_id", flat=True)) == [world.collaboration.pk]
    folder = shared_folder(world)
    with django_capture_on_commit_callbacks(execute=True):
        upload(folder, world.admin, "Bokslut.pdf")
    assert not Notification.objects.filter(recipient=world.customer_user).exists()
    assert Notification.objects.filter(recipient=world.primary).exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.primary.email, world.staff.email])


# --- Who is told ---------------------------------------------------------------------------------


def test_the_person_who_caused_it_is_never_told(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    folder = shared_folder(world)
    with django_capture_on_commit_callbacks(execute=True):
        upload(folder, world.staff, "Bokslut.pdf")
    told = set(Notification.objects.values_list("recipient_id", flat=True))
    assert told == {world.admin.pk, world.primary.pk, world.customer_user.pk}


def test_nobody_hears_of_a_folder_they_cannot_see(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    third = CustomerMembershipFactory.create(customer=world.customer, user__name="Tredje Person").user
    folder = shared_folder(world, audience=Audience.SELECTED, selected_user_ids=[world.customer_user.pk])
    internal = documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Intern",
        customer_access=CustomerAccess.NONE,
    )
    Notification.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        upload(folder, world.admin, "Lön.pdf")
        upload(internal, world.admin, "Anteckningar.pdf")
    told_about = {
        (n.recipient_id, n.params["folder"]) for n in Notification.objects.filter(event=Event.DOCUMENT_ADDED)
    }
    assert told_about == {
        (world.customer_user.pk, "Bokslut 2026"),
        (world.staff.pk, "Bokslut 2026"),
        (world.staff.pk, "Intern"),
    }
    for outsider in (
        third,
        world.primary,
        world.staff_unassigned,
        world.outsider,
        world.outsider_customer_user,
    ):
        assert not any(outsider.email in m.to for m in mail.outbox)


def test_a_new_grant_tells_the_people_who_got_access(world: World) -> None:
    folder = shared_folder(world, audience=Audience.SELECTED, selected_user_ids=[world.customer_user.pk])
    granted = Notification.objects.filter(event=Event.FOLDER_ACCESS)
    assert [n.recipient_id for n in granted] == [world.customer_user.pk]
    documents.folder_set_access(
        folder=folder,
        actor=world.admin,
        customer_access=CustomerAccess.READ,
        audience=Audience.SELECTED,
        selected_user_ids=[world.customer_user.pk, world.primary.pk],
    )
    assert sorted(n.recipient_id for n in granted.all()) == sorted([world.customer_user.pk, world.primary.pk])
    assert describe(Event.FOLDER_ACCESS, granted.first().params) == (  # type: ignore[union-attr]
        "Alfa Byrå AB shared the folder Bokslut 2026 with you"
    )


def test_an_invitation_tells_the_customers_other_administrators(world: World) -> None:
    from tests.factories import CustomerAccountFactory

    company = CustomerAccountFactory.create(name="Nya Kunden AB")
    invited = CustomerMembershipFactory.create(customer=company, is_primary_contact=True, is_admin=True).user
    other_admin = CustomerMembershipFactory.create(customer=company, is_admin=True).user
    CustomerMembershipFactory.create(customer=company)  # a plain user: not told
    customer_invite(
        partner=world.partner, actor=world.admin, org_number=company.org_number, email=invited.email
    )
    told = Notification.objects.filter(event=Event.INVITATION)
    assert [n.recipient_id for n in told] == [other_admin.pk]
    assert (
        describe(Event.INVITATION, told[0].params)
        == "Alfa Byrå AB invites Nya Kunden AB to collaborate in the portal"
    )


# --- Bulk and language ---------------------------------------------------------------------------


def test_thirty_uploads_make_one_notification_and_one_email_each(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFICATION_BATCH_SECONDS = 60
    folder = shared_folder(world)
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for n in range(30):
            upload(folder, world.admin, f"Lönebesked {n:02d}.pdf")
    rows = Notification.objects.filter(event=Event.DOCUMENT_ADDED)
    assert sorted(n.recipient_id for n in rows) == sorted(
        [world.staff.pk, world.primary.pk, world.customer_user.pk]
    )
    assert {n.count for n in rows} == {30}
    assert (
        describe(Event.DOCUMENT_ADDED, rows[0].params, rows[0].count)
        == "30 documents were added to Bokslut 2026"
    )
    # The first upload scheduled each person's email (delayed by the batch window); the later ones
    # joined it. Running the scheduled sends delivers one email per person.
    for callback in callbacks:
        callback()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [world.staff.email, world.primary.email, world.customer_user.email]
    )
    assert all("30 documents were added to Bokslut 2026" in m.subject for m in mail.outbox)


def test_each_recipient_reads_it_in_their_own_language(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(pk=world.primary.pk).update(language=Language.SWEDISH)
    User.objects.filter(pk=world.customer_user.pk).update(language=Language.ENGLISH)
    folder = shared_folder(world)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        upload(folder, world.admin, "Bokslut.pdf")
    by_person = {m.to[0]: m for m in mail.outbox}
    swedish, english = by_person[world.primary.email], by_person[world.customer_user.email]
    assert swedish.subject == "Bokslut.pdf har lagts till i Bokslut 2026"
    assert "Hej Karin" in swedish.body and "Ändra dem här" in swedish.body
    assert english.subject == "Bokslut.pdf was added to Bokslut 2026"
    assert "Hello Olle" in english.body and "Change them here" in english.body
    html = english.alternatives[0][0]  # type: ignore[attr-defined]
    opened = Notification.objects.get(recipient=world.customer_user, event=Event.DOCUMENT_ADDED)
    assert f"/notifications/{opened.pk}/" in html and "/notifications/settings/" in html


# --- Delivery ------------------------------------------------------------------------------------


def test_running_the_delivery_twice_sends_one_email(world: World) -> None:
    folder = shared_folder(world)
    with translation.override("en"):
        upload(folder, world.admin, "Bokslut.pdf")  # no on-commit run: nothing sent yet
    notification = Notification.objects.get(recipient=world.customer_user, event=Event.DOCUMENT_ADDED)
    mail.outbox.clear()
    tasks.deliver_email.apply(args=(notification.pk,), task_id="first")
    tasks.deliver_email.apply(args=(notification.pk,), task_id="second")
    tasks.deliver_email.apply(args=(notification.pk,), task_id="first")  # the same task redelivered
    assert [m.to for m in mail.outbox] == [[world.customer_user.email]]


def test_the_sweeper_sends_what_was_never_enqueued_and_takes_over_stale_claims(
    world: World, settings: Any
) -> None:
    import datetime as dt

    from django.utils import timezone

    settings.NOTIFICATION_SWEEP_AFTER_SECONDS = 120
    settings.NOTIFICATION_CLAIM_STALE_SECONDS = 600
    folder = shared_folder(world)
    upload(folder, world.admin, "Bokslut.pdf")  # on-commit never ran: as if the broker was down
    rows = Notification.objects.filter(event=Event.DOCUMENT_ADDED)
    assert tasks.sweep_undelivered() == 0  # too young to be called lost
    long_ago = timezone.now() - dt.timedelta(minutes=15)
    rows.update(created_at=long_ago)
    stuck = rows.get(recipient=world.primary)
    Notification.objects.filter(pk=stuck.pk).update(email_claim="dead-task", email_claimed_at=timezone.now())
    mail.outbox.clear()
    assert tasks.sweep_undelivered() == 2  # the claimed one is left to its (live) task
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.staff.email, world.customer_user.email])
    Notification.objects.filter(pk=stuck.pk).update(email_claimed_at=long_ago)  # its worker died
    assert tasks.sweep_undelivered() == 1
    assert tasks.sweep_undelivered() == 0
    assert len(mail.outbox) == 3
    assert not rows.filter(emailed_at__isnull=True).exists()


def test_the_digest_groups_by_collaboration_and_goes_once(world: World) -> None:
    person = world.admin
    services.preferences_set(
        user=person, actor=person, choices={Event.DOCUMENT_ADDED: (EmailMode.DIGEST, True)}
    )
    other = documents.folder_create(
        collaboration=world.other_collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    folder = shared_folder(world)
    colleague = PartnerMembershipFactory.create(
        partner=world.partner, role="admin", user__name="Bo Admin"
    ).user
    for name in ("Ett.pdf", "Två.pdf"):
        upload(folder, world.staff, name)
    upload(other, colleague, "Tre.pdf")
    mail.outbox.clear()
    assert tasks.send_digests() >= 1
    digest = [m for m in mail.outbox if m.to == [person.email]]
    assert len(digest) == 1
    body = digest[0].body
    for line in (
        "Ett.pdf was added to Bokslut 2026",
        "Två.pdf was added to Bokslut 2026",
        "Tre.pdf was added to Avtal",
        str(world.collaboration),
        str(world.other_collaboration),
    ):
        assert line in body
    # Grouped: each collaboration's heading comes before its own lines.
    assert (
        body.index(str(world.collaboration))
        < body.index("Ett.pdf")
        < body.index(str(world.other_collaboration))
    )
    mail.outbox.clear()
    assert tasks.send_digests() == 0  # nothing new: no email
    assert mail.outbox == []


def test_staff_is_told_only_about_assigned_customers(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    extra = PartnerMembershipFactory.create(partner=world.partner, user__name="Ny Staff").user
    other = documents.folder_create(
        collaboration=world.other_collaboration,
        actor=world.admin,
        name="Avtal",
        customer_access=CustomerAccess.NONE,
    )
    with django_capture_on_commit_callbacks(execute=True):
        upload(other, world.admin, "Avtal.pdf")
    told = set(Notification.objects.filter(event=Event.DOCUMENT_ADDED).values_list("recipient_id", flat=True))
    assert told == set()  # only the admin may see it, and the admin uploaded it
    assert extra.pk not in told and world.staff.pk not in told
