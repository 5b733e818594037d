"""How a party proves who they are before signing: a small interface, so that BankID plugs in
beside the email code without touching the flow in signing.services.

A method starts (sends a code, opens a BankID order), verifies what the party gives back, and
says what it proved (the evidence printed on the audit trail page).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Protocol

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.errors import ServiceError
from signing.models import Method, Party


class SigningMethod(Protocol):
    code: str

    def start(self, party: Party) -> str:
        """Begin proving identity; returns a secret to deliver to the party (or "")."""

    def verify(self, party: Party, answer: str) -> None:
        """Raise ServiceError unless `answer` proves the party; record the proof on `party`."""

    def evidence(self, party: Party) -> dict[str, str]: ...


def _hash(code: str, salt: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def max_failures() -> int:
    """Wrong answers a party may give in all, whatever the method, before its link is locked."""
    return int(getattr(settings, "SIGNING_CODE_MAX_FAILURES", 15))


class EmailCode:
    """A six-digit code sent to the party's email: valid for CODE_MINUTES, at most CODE_TRIES tries,
    at most SENDS_PER_HOUR codes an hour. Every count is one conditional UPDATE, so parallel
    requests cannot slip past a limit: a try is counted before its answer is compared."""

    code: str = Method.EMAIL_CODE

    @staticmethod
    def minutes() -> int:
        return int(getattr(settings, "SIGNING_CODE_MINUTES", 10))

    @staticmethod
    def tries() -> int:
        return int(getattr(settings, "SIGNING_CODE_TRIES", 5))

    @staticmethod
    def sends_per_hour() -> int:
        return int(getattr(settings, "SIGNING_CODE_SENDS_PER_HOUR", 5))

    def start(self, party: Party) -> str:
        now = timezone.now()
        hour_ago = now - dt.timedelta(hours=1)
        new_window = Q(code_window_start__isnull=True) | Q(code_window_start__lte=hour_ago)
        counted = Party.objects.filter(
            new_window | Q(code_window_sends__lt=self.sends_per_hour()), pk=party.pk
        ).update(
            code_window_start=Case(When(new_window, then=Value(now)), default=F("code_window_start")),
            code_window_sends=Case(When(new_window, then=Value(1)), default=F("code_window_sends") + 1),
        )
        if not counted:
            raise ServiceError(
                _("You have asked for too many codes. Try again in an hour, or use the last code sent.")
            )
        value = f"{secrets.randbelow(10**6):06d}"
        Party.objects.filter(pk=party.pk).update(
            code_hash=_hash(value, party.token_salt),
            code_sent_at=timezone.now(),
            code_attempts=0,
            code_verified_at=None,
        )
        return value

    def verify(self, party: Party, answer: str) -> None:
        party.refresh_from_db(fields=["code_hash", "code_sent_at", "code_attempts", "code_verified_at"])
        if not party.code_hash or party.code_sent_at is None:
            raise ServiceError(_("Ask for a code first."), field="code")
        if timezone.now() > party.code_sent_at + dt.timedelta(minutes=self.minutes()):
            raise ServiceError(_("The code has expired. Ask for a new code."), field="code")
        # Count the try first, as a wrong one, in one statement: N parallel guesses count N, and
        # none is compared once the code's tries or the party's wrong answers are used up.
        code_hash = party.code_hash
        counted = Party.objects.filter(
            pk=party.pk,
            code_hash=code_hash,
            code_attempts__lt=self.tries(),
            code_failures__lt=max_failures(),
        ).update(code_attempts=F("code_attempts") + 1, code_failures=F("code_failures") + 1)
        if not counted:
            raise ServiceError(_("Too many wrong codes. Ask for a new code."), field="code")
        answer = "".join(answer.split())
        if not hmac.compare_digest(_hash(answer, party.token_salt), code_hash):
            attempts = Party.objects.values_list("code_attempts", flat=True).get(pk=party.pk)
            left = self.tries() - attempts
            raise ServiceError(
                _("Wrong code. %(left)d tries left.") % {"left": left}
                if left > 0
                else _("Too many wrong codes. Ask for a new code."),
                field="code",
            )
        # Right: the try was no failure after all. The code is spent once (its hash from the one
        # that was compared), so two parallel right answers verify once.
        now = timezone.now()
        if not Party.objects.filter(pk=party.pk, code_hash=code_hash).update(
            code_verified_at=now, code_hash="", code_failures=F("code_failures") - 1
        ):
            raise ServiceError(_("Ask for a code first."), field="code")
        party.code_verified_at = now

    def evidence(self, party: Party) -> dict[str, str]:
        name, _at, domain = party.email.partition("@")
        masked = f"{name[:1]}***@{domain}"
        verified = (
            timezone.localtime(party.code_verified_at).strftime("%Y-%m-%d %H:%M:%S")
            if party.code_verified_at
            else ""
        )
        return {
            "email_code": _("one-time code sent to %(email)s, entered %(time)s")
            % {"email": masked, "time": verified}
        }


METHODS: dict[str, SigningMethod] = {str(Method.EMAIL_CODE): EmailCode()}


def method_for(party: Party) -> SigningMethod:
    return METHODS[party.method]
