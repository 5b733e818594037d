"""Fixing a sent signing (issue 13): remind a party now, change a party's name or email, add or
remove a party, extend the deadline. For anyone who may start a signing for the customer (404 for
everyone else), while the request is pending; every fix is on the timeline with its actor, and
the sender hears of it when someone else made it. A replaced link answers 410, not 404."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from guardian.shortcuts import assign_perm
from pypdf import PdfReader

from customers.services import WORK_WITH_CUSTOMER
from documents.models import Folder
from documents.storage import document_storage
from notifications.events import describe
from notifications.models import Event as Told
from notifications.models import Notification
from portal.errors import ServiceError
from portal.models import User
from signing import selectors, services
from signing.models import Event, Party, RetiredLink, Role, SigningRequest, Status
from signing.services import PartyInput
from tests.conftest import World
from tests.factories import PartnerMembershipFactory
from tests.parallel import run_in_parallel
from tests.signing.test_services import act, code_for, document, links, parties_of, send

FIX_KINDS = ["party_reminded", "party_changed", "party_added", "party_removed", "deadline_extended"]


@pytest.fixture(autouse=True)
def _english(world: World, settings: Any) -> Iterator[None]:
    """The tests read the English texts (msgids), in the services and on the users' pages."""
    User.objects.update(language="en")
    settings.NOTIFICATION_BATCH_SECONDS = 0
    with translation.override("en"):
        yield


# --- Helpers -------------------------------------------------------------------------------------

_numbers = itertools.count(1)


def _line(event: Event) -> str:
    """The event's line on the timeline, in English (a page answered in the test may have left
    another language active)."""
    with translation.override("en"):
        return selectors.describe_event(event)


def _two(world: World, folder: Folder, *, in_order: bool = True, **kwargs: Any) -> SigningRequest:
    """A and B sign, A first (or both at once)."""
    return send(
        world,
        document(folder, world.admin, f"Avtal {next(_numbers)}.pdf"),
        [
            PartyInput("A", "a@example.com", order=1),
            PartyInput("B", "b@example.com", order=2 if in_order else 1),
        ],
        language="en",
        **kwargs,
    )


def _url(name: str, world: World, request: SigningRequest, party: Party | None = None) -> str:
    args = [world.collaboration.pk, request.pk] + ([party.pk] if party is not None else [])
    return reverse(f"signing:{name}", args=args)


def _change_data(party: Party, name: str, email: str) -> dict[str, str]:
    return {f"party-{party.pk}-name": name, f"party-{party.pk}-email": email}


def _add_data(name: str, email: str, *, role: str = Role.SIGNER, order: int = 1) -> dict[str, str]:
    return {
        "add-name": name,
        "add-email": email,
        "add-role": role,
        "add-method": "email_code",
        "add-order": str(order),
        "add-mobile": "",
        "add-personnummer": "",
    }


def _deadline_data(day: dt.date) -> dict[str, str]:
    return {"deadline-deadline": day.isoformat()}


def _snapshot(request: SigningRequest) -> tuple[Any, ...]:
    return (
        SigningRequest.objects.values_list("deadline", "status").get(pk=request.pk),
        sorted(
            Party.objects.filter(request=request).values_list(
                "pk", "name", "email", "token_hash", "reminded_at"
            )
        ),
        Event.objects.filter(request=request, kind__in=FIX_KINDS).count(),
        RetiredLink.objects.count(),
    )


def _fix_posts(world: World, request: SigningRequest, party: Party) -> list[tuple[str, dict[str, str]]]:
    later = timezone.localdate() + dt.timedelta(days=30)
    return [
        (_url("partner_party_remind", world, request, party), {}),
        (_url("partner_party_change", world, request, party), _change_data(party, "X", "x@example.com")),
        (_url("partner_party_remove", world, request, party), {}),
        (_url("partner_party_add", world, request), _add_data("C", "c@example.com")),
        (_url("partner_deadline", world, request), _deadline_data(later)),
    ]


# --- Who may fix: anyone who may start a signing for the customer, nobody else ------------------------


def test_outsiders_get_404_for_every_fix_and_nothing_changes(
    funded: World, folder: Folder, client: Client, login: Any
) -> None:
    request = _two(funded, folder, in_order=False)
    a = parties_of(request)["A"]
    before = _snapshot(request)
    for url, data in _fix_posts(funded, request, a):
        assert client.post(url, data).status_code == 302  # anonymous: to the login page
        assert "/accounts/login/" in client.post(url, data)["Location"]
        for who in ("outsider", "staff_unassigned", "primary", "customer_user", "outsider_customer_user"):
            assert login(getattr(funded, who)).post(url, data).status_code == 404, (who, url)
        client.logout()
        assert login(funded.staff).get(url).status_code == 405
        client.logout()
    assert _snapshot(request) == before


def test_another_request_s_party_or_another_customer_s_request_is_404(
    funded: World, folder: Folder, login: Any
) -> None:
    request = _two(funded, folder)
    other = _two(funded, folder)
    b_of_other = parties_of(other)["B"]
    client = login(funded.staff)
    url = _url("partner_party_change", funded, request, b_of_other)
    assert client.post(url, _change_data(b_of_other, "X", "x@example.com")).status_code == 404
    # The request under another customer of the same firm (the admin may see both customers).
    wrong = reverse("signing:partner_deadline", args=[funded.other_collaboration.pk, request.pk])
    later = timezone.localdate() + dt.timedelta(days=30)
    assert login(funded.admin).post(wrong, _deadline_data(later)).status_code == 404
    assert Party.objects.get(pk=b_of_other.pk).email == "b@example.com"


def test_a_colleague_who_works_with_the_customer_fixes_and_the_sender_is_told(
    funded: World, folder: Folder, login: Any
) -> None:
    """Not only the sender or an account administrator (as for cancelling): anyone who may start
    a signing for the customer."""
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    colleague = PartnerMembershipFactory.create(partner=funded.partner, user__name="Cilla Colleague").user
    assign_perm(WORK_WITH_CUSTOMER, colleague, funded.collaboration)
    colleague.language = "en"
    colleague.save(update_fields=["language"])
    response = login(colleague).post(
        _url("partner_party_change", funded, request, a), _change_data(a, "Anna", "anna@example.com")
    )
    assert response.status_code == 302
    assert Party.objects.get(pk=a.pk).email == "anna@example.com"
    event = Event.objects.get(request=request, kind="party_changed")
    assert event.actor == colleague
    told = Notification.objects.get(recipient=funded.staff, event=Told.SIGNING_ATTENTION)
    assert told.url == _url("partner_detail", funded, request)
    with translation.override("en"):
        assert describe(told.event, told.params) == f"Cilla Colleague changed your signing of {request.title}"
    # The sender fixing their own signing is not told about it.
    Notification.objects.all().delete()
    login(funded.staff).post(
        _url("partner_deadline", funded, request),
        _deadline_data(timezone.localdate() + dt.timedelta(days=20)),
    )
    assert not Notification.objects.filter(recipient=funded.staff).exists()


def test_the_service_refuses_a_user_who_may_not_work_with_the_customer(funded: World, folder: Folder) -> None:
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    for who in (funded.staff_unassigned, funded.outsider, funded.primary):
        with pytest.raises(ServiceError, match="work with this customer"):
            services.party_change(party=a, actor=who, name="X", email="x@example.com")
        with pytest.raises(ServiceError, match="work with this customer"):
            services.party_remind(party=a, actor=who)
    assert Party.objects.get(pk=a.pk).email == "a@example.com"


# --- Remind now --------------------------------------------------------------------------------------


def test_remind_now_emails_the_link_and_notifies_a_portal_user_at_most_once_an_hour(
    funded: World, folder: Folder, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    karin = funded.primary
    request = send(
        funded, document(folder, funded.admin), [PartyInput(karin.name, karin.email)], language="en"
    )
    party = Party.objects.get(request=request)
    client = login(funded.staff)
    url = _url("partner_party_remind", funded, request, party)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert f"{karin.name} was sent a reminder." in response.content.decode()
    reminders = [m for m in mail.outbox if m.to == [karin.email] and str(m.subject).startswith("Reminder:")]
    assert len(reminders) == 1 and selectors.party_token(party) in str(reminders[0].body)
    assert Notification.objects.filter(recipient=karin, event=Told.SIGNING_REMINDER).count() == 1
    assert Event.objects.get(request=request, kind="party_reminded").actor == funded.staff
    # Again within the hour: refused, nothing sent; the page shows when instead of the button.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "reminded less than an hour ago" in response.content.decode()
    assert "Reminded at" in response.content.decode() and "Remind now" not in response.content.decode()
    assert len([m for m in mail.outbox if str(m.subject).startswith("Reminder:")]) == 1
    # An hour later it may be reminded again.
    Party.objects.filter(pk=party.pk).update(reminded_at=timezone.now() - dt.timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    assert len([m for m in mail.outbox if str(m.subject).startswith("Reminder:")]) == 2
    assert Event.objects.filter(request=request, kind="party_reminded").count() == 2


def test_remind_only_a_party_whose_turn_it_is_and_who_has_not_answered(funded: World, folder: Folder) -> None:
    request = send(
        funded,
        document(folder, funded.admin),
        [
            PartyInput("A", "a@example.com", order=1),
            PartyInput("B", "b@example.com", order=2),
            PartyInput("V", "v@example.com", role=Role.VIEWER),
        ],
    )
    p = parties_of(request)
    with pytest.raises(ServiceError, match="not B's turn"):
        services.party_remind(party=p["B"], actor=funded.staff)
    with pytest.raises(ServiceError, match="only gets a copy"):
        services.party_remind(party=p["V"], actor=funded.staff)
    act(p["A"])
    with pytest.raises(ServiceError, match="already answered"):
        services.party_remind(party=p["A"], actor=funded.staff)
    services.party_remind(party=p["B"], actor=funded.staff)
    SigningRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - dt.timedelta(minutes=1))
    Party.objects.filter(pk=p["B"].pk).update(reminded_at=None)
    with pytest.raises(ServiceError, match="deadline has passed"):
        services.party_remind(party=p["B"], actor=funded.staff)
    SigningRequest.objects.filter(pk=request.pk).update(status=Status.CANCELLED)
    with pytest.raises(ServiceError, match="waiting for signatures"):
        services.party_remind(party=p["B"], actor=funded.staff)


# --- Change a party's name or email --------------------------------------------------------------------


def test_changing_the_email_retires_the_old_link_with_410_and_sends_a_new_one(
    funded: World, folder: Folder, client: Client, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    karin = funded.primary
    with django_capture_on_commit_callbacks(execute=True):
        request = send(
            funded,
            document(folder, funded.admin),
            [PartyInput("Karin Lund", "karin@kund.exmaple")],
            language="en",
        )
    party = Party.objects.get(request=request)
    assert party.user is None
    old = selectors.party_token(party)
    assert links("karin@kund.exmaple") == [old]
    staff = login(funded.staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            _url("partner_party_change", funded, request, party),
            _change_data(party, "Karin Lund", karin.email.upper()),
            follow=True,
        )
    assert f"Karin Lund was changed and sent a new link at {karin.email}." in response.content.decode()
    changed = Party.objects.get(pk=party.pk)
    assert (changed.email, changed.user) == (karin.email, karin)  # the portal user of the new address
    fresh = links(karin.email)
    assert len(fresh) == 1 and fresh[0] != old == links("karin@kund.exmaple")[0]
    assert Notification.objects.filter(recipient=karin, event=Told.SIGNING_REQUESTED).exists()
    client.logout()
    # The old link: every page of it answers 410 and says it was replaced; the new one works.
    for url in (
        reverse("signing:sign", args=[old]),
        reverse("signing:document", args=[old]),
        reverse("signing:page", args=[old, 1]),
    ):
        gone = client.get(url)
        assert gone.status_code == 410, url
    assert (
        "replaced this link with a new one"
        in client.get(reverse("signing:sign", args=[old])).content.decode()
    )
    assert client.post(reverse("signing:sign", args=[old]), {"action": "code"}).status_code == 410
    assert client.get(reverse("signing:sign", args=[fresh[0]])).status_code == 200
    assert client.get(reverse("signing:sign", args=["0" * 64])).status_code == 404  # unknown stays 404
    # On the timeline, with who and what.
    event = Event.objects.get(request=request, kind="party_changed")
    assert event.actor == funded.staff and event.party_id == party.pk
    assert event.detail["old_email"] == "karin@kund.exmaple"
    assert event.detail["new_email"] == karin.email
    assert _line(event) == (
        f"Sam Staff changed Karin Lund <karin@kund.exmaple> to Karin Lund <{karin.email}>; "
        "the old link no longer works"
    )
    page = login(funded.staff).get(_url("partner_detail", funded, request)).content.decode()
    assert "Sam Staff changed Karin Lund &lt;karin@kund.exmaple&gt;" in page


def test_a_name_only_change_also_replaces_the_link(funded: World, folder: Folder) -> None:
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    old = a.token_hash
    changed = services.party_change(
        party=a, actor=funded.staff, name="  Anna   Andersson ", email="A@example.com"
    )
    assert (changed.name, changed.email) == ("Anna Andersson", "a@example.com")
    assert changed.token_hash != old and RetiredLink.objects.filter(token_hash=old, party=a).exists()
    with pytest.raises(ServiceError, match="Nothing was changed"):
        services.party_change(party=changed, actor=funded.staff, name="Anna Andersson", email="a@example.com")


def test_a_party_who_answered_cannot_be_changed(funded: World, folder: Folder, login: Any) -> None:
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    act(a)
    response = login(funded.staff).post(
        _url("partner_party_change", funded, request, a), _change_data(a, "A", "new@example.com"), follow=True
    )
    assert "A has already answered: they can no longer be changed." in response.content.decode()
    assert Party.objects.get(pk=a.pk).email == "a@example.com"
    assert not RetiredLink.objects.exists()


def test_an_email_already_on_the_request_is_refused_clearly(
    funded: World, folder: Folder, login: Any
) -> None:
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    client = login(funded.staff)
    response = client.post(
        _url("partner_party_change", funded, request, a), _change_data(a, "A", "B@example.com")
    )
    assert response.status_code == 422
    assert "b@example.com is already a party to this signing." in response.content.decode()
    response = client.post(
        _url("partner_party_change", funded, request, a), _change_data(a, "A", "not-an-email")
    )
    assert response.status_code == 422 and "Enter a valid email address." in response.content.decode()
    assert Party.objects.get(pk=a.pk).email == "a@example.com"


def test_a_party_changed_before_its_turn_gets_the_new_link_when_its_turn_comes(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = _two(funded, folder)
    p = parties_of(request)
    with django_capture_on_commit_callbacks(execute=True):
        services.party_change(party=p["B"], actor=funded.staff, name="Berit", email="berit@example.com")
    assert links("berit@example.com") == [] and links("b@example.com") == []
    with django_capture_on_commit_callbacks(execute=True):
        act(p["A"])
    assert links("berit@example.com") == [selectors.party_token(Party.objects.get(pk=p["B"].pk))]
    assert links("b@example.com") == []


def test_the_holder_of_the_old_link_cannot_sign_after_the_change(funded: World, folder: Folder) -> None:
    """The old holder read its party (by the old link) and had its code before the change
    committed: the signature that arrives afterwards is refused, under the same row lock."""
    request = _two(funded, folder)
    stale = Party.objects.get(pk=parties_of(request)["A"].pk)
    services.party_start_method(party=stale)
    code = code_for("a@example.com")
    services.party_change(
        party=Party.objects.get(pk=stale.pk), actor=funded.staff, name="A", email="new@example.com"
    )
    with pytest.raises(ServiceError):
        services.party_act(party=stale, action="sign", answer=code)
    # Even with the code verified before the change, the act itself checks the link.
    with pytest.raises(ServiceError, match="replaced"):
        services._record_act(party=stale, action="sign", ip=None, user_agent="", reason="")
    assert Party.objects.get(pk=stale.pk).acted_at is None
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING


def test_a_revoked_link_answers_410_too(
    funded: World, folder: Folder, client: Client, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    old = selectors.party_token(a)
    with django_capture_on_commit_callbacks(execute=True):
        login(funded.staff).post(_url("partner_revoke", funded, request, a))
    client.logout()
    response = client.get(reverse("signing:sign", args=[old]))
    assert response.status_code == 410
    assert "replaced this link" in response.content.decode()


# --- Add or remove a party ------------------------------------------------------------------------------


def test_an_added_party_in_the_current_turn_gets_its_link_at_once(
    funded: World, folder: Folder, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = _two(funded, folder)
    client = login(funded.staff)
    url = _url("partner_party_add", funded, request)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, _add_data("Cecilia", "Cecilia@Example.com", order=1), follow=True)
    assert "Cecilia was added and sent the link." in response.content.decode()
    cecilia = Party.objects.get(request=request, email="cecilia@example.com")
    assert links("cecilia@example.com") == [selectors.party_token(cecilia)]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, _add_data("David", "david@example.com", role=Role.APPROVER, order=3))
    assert links("david@example.com") == []  # not his turn yet
    event = Event.objects.get(request=request, kind="party_added", party__name="David")
    assert _line(event) == "Sam Staff added David <david@example.com> (Approver)"
    assert Event.objects.get(request=request, kind="party_added", party=cecilia).actor == funded.staff


def test_adding_refuses_an_order_before_the_current_turn_a_known_email_and_a_bad_row(
    funded: World, folder: Folder, login: Any
) -> None:
    request = _two(funded, folder)
    Party.objects.filter(request=request, name="A").update(order=2)
    Party.objects.filter(request=request, name="B").update(order=3)
    client = login(funded.staff)
    url = _url("partner_party_add", funded, request)
    response = client.post(url, _add_data("Early", "early@example.com", order=1))
    assert response.status_code == 422 and "The order must be 2 or later" in response.content.decode()
    response = client.post(url, _add_data("Dup", "a@example.com", order=2))
    assert response.status_code == 422 and "a@example.com is already a party" in response.content.decode()
    response = client.post(url, _add_data("", "nameless@example.com", order=2))
    assert response.status_code == 422
    assert Party.objects.filter(request=request).count() == 2
    # A viewer's order does not matter: it gets a copy at the end.
    services.party_add(
        signing=request,
        actor=funded.staff,
        party=PartyInput("Viewer", "v@example.com", role=Role.VIEWER, order=1),
    )


def test_no_adding_or_removing_once_someone_signed(funded: World, folder: Folder, login: Any) -> None:
    request = _two(funded, folder)
    p = parties_of(request)
    act(p["A"])
    client = login(funded.staff)
    response = client.post(_url("partner_party_remove", funded, request, p["B"]), follow=True)
    assert "Someone has already signed or approved" in response.content.decode()
    response = client.post(
        _url("partner_party_add", funded, request), _add_data("C", "c@example.com", order=2), follow=True
    )
    assert "Someone has already signed or approved" in response.content.decode()
    assert Party.objects.filter(request=request).count() == 2
    page = client.get(_url("partner_detail", funded, request)).content.decode()
    assert "Add a party" not in page and "Remove B" not in page
    assert "Change the name or email of B" in page  # B has not answered: it may still be corrected


def test_removing_never_takes_the_last_signer_and_keeps_the_name_on_the_timeline(
    funded: World,
    folder: Folder,
    client: Client,
    login: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = send(
            funded,
            document(folder, funded.admin),
            [PartyInput("A", "a@example.com"), PartyInput("P", "p@example.com", role=Role.APPROVER)],
            language="en",
        )
    p = parties_of(request)
    p_link = selectors.party_token(p["P"])
    staff = login(funded.staff)
    response = staff.post(_url("partner_party_remove", funded, request, p["A"]), follow=True)
    assert "A is the only signer" in response.content.decode()
    assert "Remove A" not in staff.get(_url("partner_detail", funded, request)).content.decode()
    response = staff.post(_url("partner_party_remove", funded, request, p["P"]), follow=True)
    assert "P was removed from the signing." in response.content.decode()
    assert not Party.objects.filter(pk=p["P"].pk).exists()
    lines = [_line(e) for e in Event.objects.filter(request=request).select_related("party")]
    assert "P was sent the signing link" in lines
    assert "Sam Staff removed P <p@example.com>; their link no longer works" in lines
    staff.logout()
    gone = client.get(reverse("signing:sign", args=[p_link]))
    assert gone.status_code == 410 and "removed you from this signing" in gone.content.decode()


def test_removing_the_current_turn_passes_it_on(
    funded: World, folder: Folder, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = _two(funded, folder)
    assert links("b@example.com") == []
    with django_capture_on_commit_callbacks(execute=True):
        services.party_remove(party=parties_of(request)["A"], actor=funded.staff)
    assert links("b@example.com") == [selectors.party_token(parties_of(request)["B"])]
    act(parties_of(request)["B"])
    assert SigningRequest.objects.get(pk=request.pk).status == Status.COMPLETED


# --- Extend the deadline ---------------------------------------------------------------------------------


def test_extending_the_deadline_only_later_and_within_a_year_of_sending(
    funded: World, folder: Folder, login: Any
) -> None:
    request = _two(funded, folder)
    client = login(funded.staff)
    url = _url("partner_deadline", funded, request)
    current = timezone.localdate(request.deadline)
    response = client.post(url, _deadline_data(current - dt.timedelta(days=1)))
    assert response.status_code == 422 and "later than the current one" in response.content.decode()
    response = client.post(url, _deadline_data(timezone.localdate() - dt.timedelta(days=1)))
    assert response.status_code == 422 and "must be in the future" in response.content.decode()
    response = client.post(url, _deadline_data(timezone.localdate() + dt.timedelta(days=367)))
    assert (
        response.status_code == 422
        and "at most a year after the signing was sent" in response.content.decode()
    )
    new_day = current + dt.timedelta(days=10)
    response = client.post(url, _deadline_data(new_day), follow=True)
    assert "The deadline was extended." in response.content.decode()
    assert timezone.localdate(SigningRequest.objects.get(pk=request.pk).deadline) == new_day
    event = Event.objects.get(request=request, kind="deadline_extended")
    assert event.actor == funded.staff
    assert _line(event).startswith("Sam Staff moved the deadline from")


def test_a_request_past_its_deadline_but_not_yet_expired_can_be_given_more_time(
    funded: World, folder: Folder
) -> None:
    request = _two(funded, folder)
    SigningRequest.objects.filter(pk=request.pk).update(deadline=timezone.now() - dt.timedelta(hours=1))
    services.signing_extend_deadline(
        signing=request, actor=funded.staff, deadline=timezone.now() + dt.timedelta(days=3)
    )
    assert services.signings_expire_due() == 0
    assert SigningRequest.objects.get(pk=request.pk).status == Status.PENDING


def test_nothing_can_be_fixed_once_the_request_is_not_pending(
    funded: World, folder: Folder, login: Any
) -> None:
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    services.signing_cancel(signing=request, actor=funded.staff)
    before = _snapshot(request)
    client = login(funded.staff)
    for url, data in _fix_posts(funded, request, a):
        response = client.post(url, data, follow=True)
        assert "Only a signing that is waiting for signatures can be changed." in response.content.decode(), (
            url
        )
    assert _snapshot(request) == before
    page = client.get(_url("partner_detail", funded, request)).content.decode()
    for offered in (
        "Remind now",
        "Change the name or email",
        "Add a party",
        "Extend the deadline",
        "Remove A",
    ):
        assert offered not in page


# --- The page --------------------------------------------------------------------------------------------


def test_the_page_offers_the_fixes_and_its_queries_do_not_grow_with_the_parties(
    funded: World, folder: Folder, login: Any
) -> None:
    client = login(funded.staff)

    def queries(n: int) -> int:
        request = send(
            funded,
            document(folder, funded.admin, f"Avtal {n}.pdf"),
            [PartyInput(f"P{i}", f"p{i}@example.com", order=1 + i % 2) for i in range(n)],
        )
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(_url("partner_detail", funded, request))
        assert response.status_code == 200
        page = response.content.decode()
        assert page.count("Remind now") == (n + 1) // 2  # the parties of order 1
        assert page.count("Change the name or email of") == n
        assert "Add a party" in page and "Extend the deadline" in page
        return len(ctx.captured_queries)

    queries(2)  # the first page of the test reads what is cached afterwards (the user's groups, ...)
    assert queries(3) == queries(8)


# --- The audit trail ----------------------------------------------------------------------------------


def test_the_sealed_pdf_s_audit_page_shows_the_change(
    funded: World, folder: Folder, seal_keys: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        request = send(
            funded, document(folder, funded.admin), [PartyInput("Karin", "karin@kund.exmaple")], language="en"
        )
    services.party_change(
        party=Party.objects.get(request=request), actor=funded.staff, name="Karin", email="karin@kund.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        act(Party.objects.get(request=request))
    request.refresh_from_db()
    assert request.sealed_version is not None
    with document_storage().open(request.sealed_version.storage_key, "rb") as handle:
        audit = PdfReader(io.BytesIO(handle.read())).pages[-1].extract_text()
    assert "karin@kund.exmaple" in audit and "the old link no longer works" in audit


# --- At the same moment -------------------------------------------------------------------------------


def _parallel(calls: list[Callable[[], object]]) -> list[str]:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")
    return sorted(run_in_parallel(calls))


@pytest.mark.django_db(transaction=True)
def test_two_changes_of_one_party_at_once_do_not_both_win(funded: World, folder: Folder) -> None:
    request = _two(funded, folder)
    seen = Party.objects.get(request=request, name="A")  # both read the party before either wrote
    calls: list[Callable[[], object]] = [
        partial(services.party_change, party=seen, actor=funded.staff, name="A", email=f"a{n}@example.com")
        for n in range(2)
    ]
    assert _parallel(calls) == ["ok", "refused"]
    assert RetiredLink.objects.filter(party=seen).count() == 1
    assert Event.objects.filter(request=request, kind="party_changed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_removing_two_signers_at_once_leaves_one(funded: World, folder: Folder) -> None:
    request = _two(funded, folder, in_order=False)
    p = parties_of(request)
    calls: list[Callable[[], object]] = [
        partial(services.party_remove, party=p[name], actor=funded.staff) for name in ("A", "B")
    ]
    assert _parallel(calls) == ["ok", "refused"]
    assert Party.objects.filter(request=request, role=Role.SIGNER).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_reminders_at_once_send_one(funded: World, folder: Folder) -> None:
    request = _two(funded, folder)
    a = parties_of(request)["A"]
    calls: list[Callable[[], object]] = [
        partial(services.party_remind, party=a, actor=funded.staff) for _n in range(3)
    ]
    assert _parallel(calls) == ["ok", "refused", "refused"]
    assert Event.objects.filter(request=request, kind="party_reminded").count() == 1
