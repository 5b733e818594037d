from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.urls import reverse
from django.utils import translation

from customers.models import CustomerMembership
from customers.tasks import send_customer_welcome
from partners.models import Partner
from portal.models import User
from portal.outbox import outbox_add
from portal.tasks import run_outbox
from tests.factories import PASSWORD, CustomerMembershipFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

PARTNER_SUBJECT_MSGID = "%(partner)s shares documents with you in the partner portal"
SWEDISH_MO = Path(django_settings.BASE_DIR) / "locale" / "sv" / "LC_MESSAGES" / "django.mo"
NEW_PASSWORD = "Blue-Otter-Canyon-42"


def _mo_bytes(messages: dict[str, str]) -> bytes:
    """A GNU gettext .mo catalog (the format msgfmt writes) holding `messages`."""
    entries = sorted(
        (k.encode(), v.encode())
        for k, v in {"": "Content-Type: text/plain; charset=UTF-8\n", **messages}.items()
    )
    ids = strs = b""
    spans = []
    for msgid, msgstr in entries:
        spans.append((len(msgid), len(ids), len(msgstr), len(strs)))
        ids += msgid + b"\0"
        strs += msgstr + b"\0"
    ids_start = 7 * 4 + 16 * len(entries)
    strs_start = ids_start + len(ids)
    table = [n for id_len, id_off, _, _ in spans for n in (id_len, ids_start + id_off)]
    table += [n for _, _, str_len, str_off in spans for n in (str_len, strs_start + str_off)]
    header = struct.pack("<7I", 0x950412DE, 0, len(entries), 28, 28 + 8 * len(entries), 0, 0)
    return header + struct.pack(f"<{len(table)}I", *table) + ids + strs


def use_swedish_catalog(settings: Any, tmp_path: Path, messages: dict[str, str]) -> None:
    """Make sure Swedish differs from English for `messages`, so a test can tell which language
    something was rendered in. The project's compiled catalog is used when it exists; until the
    translations are compiled, a stand-in catalog with `messages` takes its place."""
    if SWEDISH_MO.exists():
        return
    directory = tmp_path / "locale" / "sv" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    (directory / "django.mo").write_bytes(_mo_bytes(messages))
    settings.LOCALE_PATHS = [tmp_path / "locale"]  # resets Django's translation caches


class FailingEmailBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise ConnectionRefusedError("the mail server is down")


def _new_member(*, language: str = "en", has_password: bool = False) -> CustomerMembership:
    if has_password:
        user = UserFactory.create(language=language)
    else:
        # As the services make a new user: no password until they choose one.
        user = User.objects.create_user(
            email=f"new-{language}@example.com", name="Nils Ny", language=language
        )
    return CustomerMembershipFactory.create(user=user, customer__name="Kund Alfa AB")


@pytest.fixture
def partner(db: None) -> Partner:
    return PartnerFactory.create(name="Alfa Byrå AB")


def _set_password_link(body: str) -> str:
    match = re.search(r"https?://\S+/accounts/set-password/\S+/", body)
    assert match is not None, body
    return match.group(0)


def test_running_twice_sends_one_email(partner: Partner, mailoutbox: list[Any]) -> None:
    membership = _new_member()
    message = outbox_add("customers.tasks.send_customer_welcome", membership.pk, partner.pk)
    run_outbox.delay(message.pk)
    run_outbox.delay(message.pk)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [membership.user.email]
    membership.refresh_from_db()
    assert membership.welcome_sent_at is not None


def test_deleted_membership_is_a_normal_exit(mailoutbox: list[Any]) -> None:
    membership = _new_member()
    membership_id = membership.pk
    membership.delete()
    send_customer_welcome.delay(membership_id)
    assert mailoutbox == []


def test_english_user_gets_english_subject_whatever_language_is_active(
    partner: Partner, mailoutbox: list[Any]
) -> None:
    membership = _new_member(language="en")
    with translation.override("sv"):
        send_customer_welcome.delay(membership.pk, partner.pk)
    assert mailoutbox[0].subject == "Alfa Byrå AB shares documents with you in the partner portal"
    assert "Hello Nils," in mailoutbox[0].body


def test_without_partner_the_subject_welcomes_to_the_customer(mailoutbox: list[Any]) -> None:
    membership = _new_member(language="en")
    send_customer_welcome.delay(membership.pk)
    assert mailoutbox[0].subject == "Welcome to the partner portal, Kund Alfa AB"


def test_swedish_user_gets_a_subject_that_is_not_the_english_one(
    partner: Partner, mailoutbox: list[Any], settings: Any, tmp_path: Path
) -> None:
    use_swedish_catalog(settings, tmp_path, {PARTNER_SUBJECT_MSGID: "%(partner)s [sv] dokument"})
    english = _new_member(language="en")
    swedish = _new_member(language="sv")
    with translation.override("en"):
        send_customer_welcome.delay(english.pk, partner.pk)
        send_customer_welcome.delay(swedish.pk, partner.pk)
    subjects = {message.to[0]: message.subject for message in mailoutbox}
    assert subjects[english.user.email] == "Alfa Byrå AB shares documents with you in the partner portal"
    assert subjects[swedish.user.email] != subjects[english.user.email]
    assert "Alfa Byrå AB" in subjects[swedish.user.email]


def test_set_password_link_lets_a_new_user_choose_a_password_and_log_in(
    partner: Partner, mailoutbox: list[Any], client: Client, settings: Any
) -> None:
    membership = _new_member()
    user = membership.user
    assert not user.has_usable_password()
    send_customer_welcome.delay(membership.pk, partner.pk)
    link = _set_password_link(mailoutbox[0].body)
    assert link.startswith(settings.PORTAL_BASE_URL)
    assert link in mailoutbox[0].alternatives[0][0]  # the HTML part has the same link
    path = urlsplit(link).path

    # Django swaps the token in the URL for one kept in the session, so it cannot leak via Referer.
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == path.rsplit("/", 2)[0] + "/set-password/"
    response = client.get(response["Location"])
    assert response.status_code == 200
    assert response.context["validlink"] is True
    assert user.email in response.content.decode()

    response = client.post(
        response.wsgi_request.path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("set_password_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    client.logout()
    response = client.post(reverse("login"), {"username": user.email.upper(), "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_set_password_link_works_only_once(partner: Partner, mailoutbox: list[Any], client: Client) -> None:
    membership = _new_member()
    send_customer_welcome.delay(membership.pk, partner.pk)
    path = urlsplit(_set_password_link(mailoutbox[0].body)).path
    form_url = client.get(path)["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    stranger = Client()
    response = stranger.get(path)
    assert response.status_code == 200
    assert response.context["validlink"] is False
    response = stranger.post(
        form_url, {"new_password1": "Someone-Elses-Pass-99", "new_password2": "Someone-Elses-Pass-99"}
    )
    assert response.context["validlink"] is False
    membership.user.refresh_from_db()
    assert membership.user.check_password(NEW_PASSWORD)


def test_user_with_a_password_gets_a_login_link_instead(
    partner: Partner, mailoutbox: list[Any], settings: Any
) -> None:
    membership = _new_member(has_password=True)
    send_customer_welcome.delay(membership.pk, partner.pk)
    message = mailoutbox[0]
    assert f"{settings.PORTAL_BASE_URL}{reverse('login')}" in message.body
    assert "/set-password/" not in message.body
    assert "/set-password/" not in message.alternatives[0][0]
    membership.user.refresh_from_db()
    assert membership.user.check_password(PASSWORD)  # the email did not touch it


def test_failed_send_gives_the_claim_back_so_a_retry_sends(
    partner: Partner, mailoutbox: list[Any], settings: Any
) -> None:
    membership = _new_member()
    message = outbox_add("customers.tasks.send_customer_welcome", membership.pk, partner.pk)
    settings.EMAIL_BACKEND = f"{__name__}.FailingEmailBackend"
    with pytest.raises(ConnectionRefusedError):
        run_outbox(message.pk)
    membership.refresh_from_db()
    assert membership.welcome_sent_at is None
    assert mailoutbox == []
    message.refresh_from_db()
    assert (message.claimed_by, message.done_at, message.attempts) == ("", None, 1)
    assert message.last_error == "ConnectionRefusedError: the mail server is down"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_outbox(message.pk)
    assert len(mailoutbox) == 1
    membership.refresh_from_db()
    assert membership.welcome_sent_at is not None
    message.refresh_from_db()
    assert message.done_at is not None and message.last_error == ""
