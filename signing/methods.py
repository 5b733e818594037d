"""How a party proves who they are before signing: a small interface, so that BankID plugs in
beside the email code without touching the flow in signing.services.

A method starts (sends a code, opens a BankID order), verifies what the party gives back, and
says what it proved (the evidence printed on the audit trail page).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override
from lxml import etree

from portal.bankid.client import BankIDClient, CollectResult, CompletionData, Order
from portal.errors import ServiceError
from signing.alerts import sender_alert
from signing.models import Event, Method, Party, SigningRequest

# What a party gives back: the email code as typed, or BankID's collected (complete) order.
Answer = str | CollectResult

BANKID_SIGNATURE_NS = "http://www.bankid.com/signature/v1.0.0/types"


class SigningMethod(Protocol):
    code: str

    def start(self, party: Party) -> str:
        """Begin proving identity; returns a secret to deliver to the party (or "")."""

    def verify(self, party: Party, answer: Answer, *, declining: bool = False) -> None:
        """Raise ServiceError unless `answer` proves the party (and, where the proof says what it
        was given for, that it was given to decline exactly when `declining`); record the proof."""

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

    def verify(self, party: Party, answer: Answer, *, declining: bool = False) -> None:
        if not isinstance(answer, str):
            raise ServiceError(_("Enter the code you were sent."), field="code")
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


def mask_personnummer(value: str) -> str:
    """19850312-XXXX: the birth date only, for pages that anyone holding the file can read."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"{digits[:8]}-XXXX" if len(digits) == 12 else ("XXXX" if digits else "")


class BankID:
    """A BankID sign order that shows the party what it signs. The order is started and collected
    by the signing page's BankID flow (`start_order`, then collect until complete); `verify` takes
    the complete CollectResult and records BankID's completionData on the party.

    One completed order proves one signature: its orderRef is stored on the party under a unique
    constraint, so the same order offered for a second party (or a second time) is refused."""

    code: str = Method.BANKID

    def start(self, party: Party) -> str:
        return ""  # nothing to email: the party opens BankID on the signing page

    @staticmethod
    def order_text(party: Party) -> str:
        """userVisibleData: what the party reads in the BankID app, in the request's language."""
        request = party.request
        with override(request.language):
            return _("I sign %(document)s, sent by %(sender)s.") % {
                "document": request.title,
                "sender": request.created_by.get_full_name(),
            }

    @staticmethod
    def order_data(party: Party, *, declining: bool = False) -> bytes:
        """userNonVisibleData: ties the signature to this party and the exact file (its sha256),
        and says when it was given to decline: an order approved as "I decline to sign …" can
        never be taken as a signature, nor the other way round."""
        request = party.request
        data = f"portal-signing:{request.pk}:{party.pk}:{request.version_sha256}"
        return f"{data}:decline".encode() if declining else data.encode()

    def order_options(self, party: Party, *, declining: bool = False) -> dict[str, Any]:
        """The sign order's fields for `party` (for client.sign, or the signing page's BankID flow):
        what it signs, what ties it to this signing, and, for a party given a personnummer,
        BankID's requirement that only that person can sign."""
        return {
            "user_visible_data": self.order_text(party),
            "user_non_visible_data": self.order_data(party, declining=declining),
            "requirement": {"personalNumber": party.personnummer} if party.personnummer else None,
        }

    def start_order(self, party: Party, *, client: BankIDClient, end_user_ip: str) -> Order:
        """Open a sign order for `party`; a party given a personnummer can only sign as that person."""
        return client.sign(end_user_ip=end_user_ip, **self.order_options(party))

    @staticmethod
    def answer(order_ref: str, completion_data: dict[str, Any] | None) -> CollectResult:
        """The answer for `verify` from a completed order kept elsewhere (the BankID flow's row:
        its order_ref and completion_data, once consumed)."""
        completion = CompletionData.from_json(completion_data) if completion_data else None
        return CollectResult(order_ref, "complete" if completion else "pending", None, completion)

    def verify(self, party: Party, answer: Answer, *, declining: bool = False) -> None:
        data = answer.completion_data if isinstance(answer, CollectResult) else None
        if not isinstance(answer, CollectResult) or answer.status != "complete" or data is None:
            raise ServiceError(_("Sign with BankID first."))
        order_ref = answer.order_ref
        try:
            signed = etree.fromstring(base64.b64decode(data.signature))
        except (ValueError, etree.XMLSyntaxError):
            raise ServiceError(_("BankID's answer could not be read. Sign with BankID again.")) from None
        ns = {"b": BANKID_SIGNATURE_NS}
        if signed.findtext(".//b:clientInfo/b:orderRef", namespaces=ns) != order_ref or base64.b64decode(
            signed.findtext("b:usrNonVisibleData", default="", namespaces=ns)
        ) != self.order_data(party, declining=declining):
            raise ServiceError(
                _("That BankID signature was made for another signing. Sign with BankID again.")
            )
        if party.personnummer and data.user.personal_number != party.personnummer:
            self._wrong_person(party, data.user.name)
            raise ServiceError(
                _(
                    "You signed with the BankID of someone other than the person this signature is for. "
                    "The signature was not accepted, and the sender has been told."
                )
            )
        evidence = {**data.raw, "orderRef": order_ref}
        try:
            with transaction.atomic():
                stored = Party.objects.filter(pk=party.pk, acted_at__isnull=True).update(
                    bankid_order_ref=order_ref, bankid_evidence=evidence
                )
        except IntegrityError:
            raise ServiceError(
                _("That BankID signature has already been used. Sign with BankID again.")
            ) from None
        if not stored:
            raise ServiceError(_("You have already answered this signing."))
        party.bankid_order_ref, party.bankid_evidence = order_ref, evidence

    @staticmethod
    def _wrong_person(party: Party, used_name: str) -> None:
        """Count a wrong answer, note it on the timeline and tell the sender."""
        Party.objects.filter(pk=party.pk).update(code_failures=F("code_failures") + 1)
        request = SigningRequest.objects.select_related("collaboration", "created_by").get(
            pk=party.request_id
        )
        Event.objects.create(
            request=request, kind="bankid_wrong_person", party=party, detail={"used": used_name}
        )
        sender_alert(request, actor=None, party=party.name)

    def evidence(self, party: Party) -> dict[str, str]:
        data = party.bankid_evidence or {}
        user = data.get("user") or {}
        device = data.get("device") or {}
        when = timezone.localtime(party.acted_at).strftime("%Y-%m-%d %H:%M:%S") if party.acted_at else ""
        lines = {
            "bankid": _("%(name)s, %(number)s, signed %(time)s")
            % {
                "name": user.get("name", ""),
                "number": mask_personnummer(str(user.get("personalNumber", ""))),
                "time": when,
            }
        }
        if data.get("bankIdIssueDate"):
            lines["bankid_issued"] = str(data["bankIdIssueDate"])
        if device.get("ipAddress"):
            lines["bankid_device"] = str(device["ipAddress"])
        if data.get("orderRef"):
            lines["bankid_order"] = str(data["orderRef"])
        return lines


def bankid_configured() -> bool:
    return bool(settings.BANKID_URL)


def method_choices() -> list[tuple[str, str]]:
    """The methods a sender may choose now: BankID only when the portal is configured for it."""
    offered = bankid_configured()
    return [(value, str(label)) for value, label in Method.choices if value != Method.BANKID or offered]


def default_method() -> str:
    return str(Method.BANKID if bankid_configured() else Method.EMAIL_CODE)


METHODS: dict[str, SigningMethod] = {str(Method.EMAIL_CODE): EmailCode(), str(Method.BANKID): BankID()}


def method_for(party: Party) -> SigningMethod:
    return METHODS[party.method]
