"""Reads for e-signing: permission-filtered querysets in a constant number of queries.

The callers have decided access (signing.access): a read of what one request holds takes only the
request; those whose answer depends on who asks take the user.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from customers.models import Collaboration, CustomerMembership
from customers.selectors import customer_users_for_partner
from documents import storage
from documents.models import Document, DocumentVersion
from partners.models import PartnerMembership
from portal import sql
from portal.errors import ServiceError
from portal.models import User
from signing import pdfcheck, prepare
from signing.models import (
    Attachment,
    AttentionKind,
    AttentionSeen,
    Event,
    Party,
    RetiredLink,
    Role,
    SigningRequest,
    Status,
)

MUST_ACT = [Role.SIGNER, Role.APPROVER]
# Declined and expired requests stay on the overview this long, or until the user dismisses them.
ATTENTION_DAYS = 30
# What the partner's Signeringar filters on (the badges on Mina samarbeten link to pending, declined
# and expired).
PARTNER_STATUSES = [
    Status.DRAFT,
    Status.PENDING,
    Status.COMPLETED,
    Status.DECLINED,
    Status.CANCELLED,
    Status.EXPIRED,
]
# The wizard lists at most this many of the customer's PDFs as attachments (most recent first).
ATTACHMENT_CHOICES = 200


def signings_for_collaboration(
    *, collaboration: Collaboration, status: str | None = None
) -> QuerySet[SigningRequest]:
    """The customer's requests (of one of PARTNER_STATUSES when `status` is one, all otherwise),
    newest first, each with `required_count` (signers and approvers) and `done_count` (those who
    signed or approved): one query for a page of them."""
    requests = SigningRequest.objects.filter(collaboration=collaboration)
    if status in PARTNER_STATUSES:
        requests = requests.filter(status=status)
    return (
        requests.select_related("created_by", "updated_by")
        .annotate(
            required_count=Count("parties", filter=Q(parties__role__in=MUST_ACT)),
            done_count=Count(
                "parties",
                filter=Q(parties__role__in=MUST_ACT, parties__action__in=["signed", "approved"]),
            ),
        )
        .order_by("-created_at", "-id")
    )


def parties_of(*, signing: SigningRequest) -> list[Party]:
    return list(Party.objects.filter(request=signing).order_by("order", "id"))


def attachments_of(*, signing: SigningRequest) -> list[Attachment]:
    return list(
        Attachment.objects.filter(request=signing)
        .select_related("version__document")
        .order_by("position", "id")
    )


def timeline_of(*, signing: SigningRequest) -> list[Event]:
    return list(Event.objects.filter(request=signing).select_related("party").order_by("created_at", "id"))


# Unfinished: one waiting for signatures, or one signed by everyone whose sealed PDF is not stored
# yet (sealing still reads the file). A draft holds nothing: deleting its document leaves the draft,
# which then cannot be sent.
_UNFINISHED = Q(status=Status.PENDING) | Q(status=Status.COMPLETED, sealed_at__isnull=True)


def documents_signing_locks(document_ids: list[int] | QuerySet[Any]) -> dict[int, str]:
    """The documents signing holds, registered with documents.locks (which answers for one or for
    a folder's many): {document id: "pending" or "sealed"} in one query. "pending" while the
    document (signed or attached) is in an unfinished signing, "sealed" when it is a signing's
    sealed output. `document_ids` may be a queryset of ids, used as a subquery. Takes no actor:
    it is a rule about the documents, not a read on someone's behalf."""
    main = SigningRequest.objects.filter(_UNFINISHED, document_id__in=document_ids)
    attached = Attachment.objects.filter(
        request__in=SigningRequest.objects.filter(_UNFINISHED), version__document_id__in=document_ids
    )
    sealed = SigningRequest.objects.filter(sealed_version__document_id__in=document_ids)
    rows = (
        main.order_by()
        .values_list("document_id", Value("pending"))
        .union(
            attached.order_by().values_list("version__document_id", Value("pending")),
            sealed.order_by().values_list("sealed_version__document_id", Value("sealed")),
        )
    )
    held: dict[int, str] = {}
    for document_id, reason in rows:
        if held.get(document_id) != "pending":
            held[document_id] = reason
    return held


def current_order_of(parties: list[Party]) -> int | None:
    """As current_order, from parties already read (no query)."""
    waiting = [p.order for p in parties if p.must_act and p.acted_at is None]
    return min(waiting) if waiting else None


def check_stored_pdf(version: DocumentVersion, *, name: str = "") -> pdfcheck.PdfInfo:
    """pdfcheck on a version's stored file, read no further than its size limit. Raises
    pdfcheck.PdfRefused (its message starts with `name` when one is given).

    A stored file never changes (a new one gets a new key), so a file's answer is remembered in
    this process, per key and limits: a send checks its files before it locks them and again,
    under the locks, in signing.prepare, and parses each once."""
    limits = (getattr(settings, "SIGNING_MAX_BYTES", None), getattr(settings, "SIGNING_MAX_PAGES", None))
    return _check_stored(version.storage_key, name, limits)


@functools.lru_cache(maxsize=256)
def _check_stored(storage_key: str, name: str, limits: tuple[object, object]) -> pdfcheck.PdfInfo:
    # A refusal raises and is not remembered.
    with storage.document_storage().open(storage_key, "rb") as handle:
        return pdfcheck.check_pdf(cast(BinaryIO, handle), name=name)


def signable_refusal(document: Document) -> str | None:
    """Why the document's stored file cannot be sent for signing (pdfcheck's reason), or None."""
    version = document.current_version
    if version is None:
        return None  # signing_send says "The document has no file."
    try:
        check_stored_pdf(version, name=document.name)
    except pdfcheck.PdfRefused as refusal:
        return refusal.message
    return None


def attachment_candidates(*, collaboration: Collaboration, document: Document) -> list[Document]:
    """The customer's other live PDFs, the most recently updated first, with their folder."""
    return list(
        Document.objects.filter(
            folder__collaboration=collaboration,
            deleted_at__isnull=True,
            current_version__content_type="application/pdf",
        )
        .exclude(pk=document.pk)
        .select_related("folder")
        .only("pk", "name", "updated_at", "folder__name", "folder__collaboration_id")
        .order_by("-updated_at", "-id")[:ATTACHMENT_CHOICES]
    )


@dataclass(frozen=True)
class Person:
    """Someone the wizard offers to add as a party with one click."""

    user_id: int
    name: str
    email: str
    mobile: str
    personnummer: str


def _person(user: User) -> Person:
    return Person(user.pk, user.get_full_name(), user.email, user.mobile, user.personnummer)


def people_for_parties(*, collaboration: Collaboration) -> tuple[list[Person], list[Person]]:
    """The customer's users (once the collaboration is active) and the partner's staff."""
    customer: list[CustomerMembership] = list(
        customer_users_for_partner(collaboration=collaboration).filter(user__is_active=True)
    )
    staff = (
        PartnerMembership.objects.filter(partner_id=collaboration.partner_id, user__is_active=True)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    return [_person(m.user) for m in customer], [_person(m.user) for m in staff]


def attention_counts(*, user: User, now: dt.datetime | None = None) -> dict[str, RawSQL]:
    """The annotations of a query of collaborations: `signings_waiting` (pending), `signings_declined` and
    `signings_expired` (in the last ATTENTION_DAYS days, and after `user` last dismissed that
    badge: AttentionSeen), and `signings_declined_until` / `signings_expired_until` (when the
    newest of those finished: what a dismissal covers). Scalar subqueries, so the list costs no
    extra query whatever its length; written as SQL (portal.sql: the ORM's took longer to build
    than the page took to render), the collaboration's table unaliased (customers.badges)."""
    since = sql.moment((now or timezone.now()) - dt.timedelta(days=ATTENTION_DAYS))
    requests, seen = sql.table(SigningRequest), sql.table(AttentionSeen)
    mine = f"FROM {requests} r WHERE r.collaboration_id = {sql.outer(Collaboration, 'id')} AND r.status = %s"
    unseen = (
        f"{mine} AND r.finished_at >= %s AND NOT EXISTS (SELECT 1 FROM {seen} a WHERE a.user_id = %s"  # noqa: S608 -- names quoted by portal.sql, values as parameters
        " AND a.collaboration_id = r.collaboration_id AND a.kind = %s AND a.seen_at >= r.finished_at)"
    )

    def unseen_params(kind: AttentionKind) -> list[Any]:
        return [kind.value, since, user.pk, kind.value]

    declined, expired = unseen_params(AttentionKind.DECLINED), unseen_params(AttentionKind.EXPIRED)
    return {
        "signings_waiting": sql.scalar(f"SELECT COUNT(*) {mine}", [Status.PENDING.value], IntegerField()),
        "signings_declined": sql.scalar(f"SELECT COUNT(*) {unseen}", declined, IntegerField()),
        "signings_expired": sql.scalar(f"SELECT COUNT(*) {unseen}", expired, IntegerField()),
        "signings_declined_until": sql.scalar(
            f"SELECT MAX(r.finished_at) {unseen}", declined, DateTimeField()
        ),
        "signings_expired_until": sql.scalar(f"SELECT MAX(r.finished_at) {unseen}", expired, DateTimeField()),
    }


def _waiting_on(user: User, now: dt.datetime | None) -> QuerySet[Party]:
    """The user's parties whose turn it is, in pending requests before their deadline."""
    turn = (
        Party.objects.filter(request=OuterRef("request"), role__in=MUST_ACT, acted_at__isnull=True)
        .order_by()
        .values("request")
        .annotate(first=Min("order"))
        .values("first")[:1]
    )
    return (
        Party.objects.filter(
            user=user,
            role__in=MUST_ACT,
            acted_at__isnull=True,
            request__status=Status.PENDING,
            request__deadline__gt=now or timezone.now(),
        )
        .annotate(turn=Subquery(turn, output_field=IntegerField()))
        .filter(order=F("turn"))
    )


def waiting_on_user_exists(*, user: User, now: dt.datetime | None = None) -> RawSQL:
    """For annotating collaborations: whether any of their signings waits on `user` now, what
    _waiting_on finds. Written as SQL (portal.sql): on Samarbeten the ORM's Exists of a Subquery
    took about 2 ms to build and compile, for a page that shows one line."""
    c = sql.column
    must_act = [role.value for role in MUST_ACT]
    roles = ", ".join(["%s"] * len(must_act))
    turn = (
        f"SELECT MIN({c('q', Party, 'order')}) FROM {sql.table(Party)} q"  # noqa: S608 -- names quoted by portal.sql, values as parameters
        f" WHERE {c('q', Party, 'request')} = {c('p', Party, 'request')}"
        f" AND {c('q', Party, 'role')} IN ({roles}) AND {c('q', Party, 'acted_at')} IS NULL"
    )
    waiting = (
        f"SELECT 1 FROM {sql.table(Party)} p"  # noqa: S608 -- names quoted by portal.sql, values as parameters
        f" INNER JOIN {sql.joined('r', SigningRequest, c('p', Party, 'request'))}"
        f" WHERE {c('r', SigningRequest, 'collaboration')} = {sql.outer(Collaboration, 'id')}"
        f" AND {c('p', Party, 'user')} = %s AND {c('p', Party, 'role')} IN ({roles})"
        f" AND {c('p', Party, 'acted_at')} IS NULL AND {c('r', SigningRequest, 'status')} = %s"
        f" AND {c('r', SigningRequest, 'deadline')} > %s AND {c('p', Party, 'order')} = ({turn})"
    )
    params = [user.pk, *must_act, Status.PENDING.value, sql.moment(now or timezone.now()), *must_act]
    return sql.scalar(f"SELECT EXISTS ({waiting})", params, BooleanField())


def parties_waiting_on(
    *, user: User, collaboration_ids: list[int] | None = None, now: dt.datetime | None = None
) -> QuerySet[Party]:
    """The user's parties whose turn it is, in pending requests before their deadline (optionally
    within some collaborations), in one query: the earliest deadline first."""
    parties = _waiting_on(user, now)
    if collaboration_ids is not None:
        parties = parties.filter(request__collaboration_id__in=collaboration_ids)
    return parties.select_related("request__collaboration__partner", "request__created_by").order_by(
        "request__deadline", "pk"
    )


# The customer side (Samarbeten > partner > Signeringar) lists sent requests only: a draft is the
# firm's until it is sent.
CUSTOMER_STATUSES = [Status.PENDING, Status.COMPLETED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED]


def signings_for_customer_user(
    *,
    user: User,
    collaboration: Collaboration,
    visible_root_ids: Sequence[int],
    status: str | None = None,
) -> QuerySet[SigningRequest]:
    """The collaboration's sent requests that `user`, one of its customer's users (the caller
    checked), is a party to (as the party's user, or by the party's email) or whose document is in
    a folder the user sees (`visible_root_ids`: documents.access.visible_root_ids), newest first,
    with their parties in order: a page of them costs two queries however many rows it has.
    `status` narrows the list to one of CUSTOMER_STATUSES; any other value is ignored."""
    own = Party.objects.filter(request=OuterRef("pk")).filter(Q(user=user) | Q(email__iexact=user.email))
    signings = SigningRequest.objects.filter(
        Exists(own) | Q(document__folder__root_id__in=list(visible_root_ids)),
        collaboration=collaboration,
        status__in=CUSTOMER_STATUSES,
    )
    if status in CUSTOMER_STATUSES:
        signings = signings.filter(status=status)
    return (
        signings.select_related("created_by", "sealed_version")
        .prefetch_related(Prefetch("parties", queryset=Party.objects.order_by("order", "id")))
        .order_by("-created_at", "-id")
    )


def ending_summary(*, collaboration: Collaboration) -> list[str]:
    """What ending the collaboration does to its signings, for the end page (customers.hooks)."""
    from django.utils.translation import ngettext

    pending = SigningRequest.objects.filter(collaboration=collaboration, status=Status.PENDING).count()
    if not pending:
        return []
    return [
        ngettext(
            "%(n)d pending signing will be cancelled and its parties told; the signature is refunded "
            "if nobody has signed yet.",
            "%(n)d pending signings will be cancelled and their parties told; each signature is "
            "refunded if nobody has signed yet.",
            pending,
        )
        % {"n": pending}
    ]


# --- Reads that were in signing.services: whose turn it is, whether a party may act, what a
# party's link still serves, and the timeline's lines. -----------------------------------------

SEALED_DAYS = 30  # a completed request's parties may fetch the sealed PDF by their link this long


SEAL_RETRY_AFTER = dt.timedelta(minutes=10)


def current_order(signing: SigningRequest) -> int | None:
    """The order number whose parties may act now; None when every signer and approver has."""
    value = Party.objects.filter(
        request=signing, role__in=[Role.SIGNER, Role.APPROVER], acted_at__isnull=True
    ).aggregate(m=Min("order"))["m"]
    return int(value) if value is not None else None


def retired_link_reason(retired: RetiredLink) -> str:
    """Why a retired link no longer works (for the page answered with 410)."""
    if retired.reason == RetiredLink.Reason.REMOVED:
        return _("The sender has removed you from this signing, so the link no longer works.")
    return _(
        "The sender has replaced this link with a new one, sent by email. Use the link in the newest "
        "email about this signing, or ask the sender."
    )


def may_act(party: Party) -> str | None:
    """Why `party` cannot act now, or None when it may."""
    signing = party.request
    if signing.status != Status.PENDING:
        return {
            Status.COMPLETED: _("This document has already been signed by everyone."),
            Status.DECLINED: _("This signing was declined and has stopped."),
            Status.EXPIRED: _("This signing expired at its deadline."),
            Status.CANCELLED: _("The sender cancelled this signing."),
        }.get(Status(signing.status), _("This signing is not open."))
    if signing.deadline <= timezone.now():
        return _("This signing expired at its deadline.")
    if party.locked_at is not None:
        return _(
            "This link is locked after too many wrong codes. "
            "The sender has been told and can send you a new link."
        )
    if not party.must_act:
        return _("You get a copy when everyone has signed.")
    if party.acted_at is not None:
        return _("You have already answered this signing.")
    if current_order(signing) != party.order:
        return _("It is not your turn yet: you will get an email when it is.")
    return None


def _day(value: object) -> str:
    when = parse_datetime(str(value))
    return date_format(timezone.localtime(when), "DATE_FORMAT") if when is not None else ""


def _describe_fix(event: Event) -> str | None:
    """The timeline's line for a fix (describe_event), or None for another kind of event."""
    d = event.detail
    by = d.get("by", "")
    if event.kind == "party_changed":
        return _("%(by)s changed %(old)s to %(new)s; the old link no longer works") % {
            "by": by,
            "old": f"{d.get('old_name', '')} <{d.get('old_email', '')}>",
            "new": f"{d.get('new_name', '')} <{d.get('new_email', '')}>",
        }
    if event.kind == "party_added":
        role = Role(d["role"]).label if d.get("role") in Role.values else ""
        return _("%(by)s added %(who)s (%(role)s)") % {
            "by": by,
            "who": f"{d.get('name', '')} <{d.get('email', '')}>",
            "role": role,
        }
    if event.kind == "party_removed":
        return _("%(by)s removed %(who)s; their link no longer works") % {
            "by": by,
            "who": f"{d.get('name', '')} <{d.get('email', '')}>",
        }
    if event.kind == "party_reminded":
        who = event.party.name if event.party is not None else str(d.get("party_name", ""))
        return _("%(by)s reminded %(who)s") % {"by": by, "who": who}
    if event.kind == "deadline_extended":
        return _("%(by)s moved the deadline from %(old)s to %(new)s") % {
            "by": by,
            "old": _day(d.get("old")),
            "new": _day(d.get("new")),
        }
    return None


def signings_unsealed_due(*, now: dt.datetime | None = None) -> list[int]:
    """Completed requests still without a sealed PDF whose sealing failed (or never finished) at
    least SEAL_RETRY_AFTER ago, and whose file is still there to seal."""
    since = (now or timezone.now()) - SEAL_RETRY_AFTER
    return list(
        SigningRequest.objects.filter(
            status=Status.COMPLETED, sealed_at__isnull=True, document__isnull=False, version__isnull=False
        )
        .filter(Q(seal_failed_at__lte=since) | Q(seal_failed_at__isnull=True, finished_at__lte=since))
        .values_list("pk", flat=True)
    )


def link_state(party: Party, *, now: dt.datetime | None = None) -> str:
    """What the party's link still serves: "open" (the request is pending: everything), "done" (a
    completed request within SEALED_DAYS: its page and the sealed PDF once stored) or "gone"."""
    signing = party.request
    if signing.status == Status.PENDING:
        return "open"
    if signing.status != Status.COMPLETED or signing.finished_at is None:
        return "gone"
    if (now or timezone.now()) - signing.finished_at > dt.timedelta(days=SEALED_DAYS):
        return "gone"
    if signing.sealed_at is not None and (
        signing.sealed_version is None or signing.sealed_version.deleted_at is not None
    ):
        return "gone"  # sealed, and the sealed file has since been deleted (or is in the trash)
    return "done"


def link_gone_reason(party: Party) -> str:
    """Why the party's link serves nothing more (for the page answered with 410)."""
    signing = party.request
    if signing.status == Status.COMPLETED:
        return _(
            "Everyone has signed. The signed document is no longer available by this link: "
            "ask the sender for a copy."
        )
    return {
        Status.DECLINED: _("This signing was declined and has stopped. The link no longer works."),
        Status.EXPIRED: _("This signing expired at its deadline. The link no longer works."),
        Status.CANCELLED: _("The sender cancelled this signing. The link no longer works."),
    }.get(Status(signing.status), _("This signing is no longer open."))


def describe_event(event: Event) -> str:
    """One line of the timeline, in the active language (the audit trail page uses it)."""
    who = event.party.name if event.party is not None else str(event.detail.get("party_name", ""))
    texts = {
        "sent": _("Sent for signing"),
        "notified": _("%(who)s was sent the signing link") % {"who": who},
        "code_sent": _("%(who)s was sent a one-time code") % {"who": who},
        "signed": _("%(who)s signed") % {"who": who},
        "approved": _("%(who)s approved") % {"who": who},
        "declined": _("%(who)s declined") % {"who": who},
        "completed": _("Everyone has signed"),
        "cancelled": (
            _("Cancelled by %(who)s: the collaboration ended")
            if event.detail.get("reason") == "collaboration_ended"
            else _("Cancelled by %(who)s")
        )
        % {"who": event.detail.get("by", "")},
        "expired": _("Expired at the deadline"),
        "refunded": _("The signature was refunded"),
        "reminded": _("Reminders sent"),
        "sealed": _("The sealed PDF was stored"),
        "locked": _("%(who)s's link was locked after too many wrong codes") % {"who": who},
        "link_revoked": _("%(who)s was given a new link; the old one no longer works") % {"who": who},
        "bankid_wrong_person": _("%(who)s's BankID signature was refused: it was made by someone else")
        % {"who": who},
    }
    if event.party is None and event.kind == "declined":
        text = _("The signing was declined and stopped")
    elif event.kind == "prepared":
        text = prepare.describe(event.detail)
    else:
        text = _describe_fix(event) or texts.get(event.kind, event.kind)
    return f"{text} ({event.ip})" if event.ip else text


# --- A party's personal link: the party it names, and whether it was reminded lately. -----------

# A party is reminded by hand at most this often (signing.services.party_remind).
REMIND_EVERY = dt.timedelta(hours=1)


def link_token(salt: str) -> str:
    """The secret in a personal link made with `salt` (recomputed for each email, never stored)."""
    return salted_hmac("signing.party", salt).hexdigest()


def party_token(party: Party) -> str:
    """The secret in the party's personal link."""
    return link_token(party.token_salt)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LinkRetired(ServiceError):
    """A link that was replaced, or whose party was removed: its pages answer 410 and say so."""

    def __init__(self, retired: RetiredLink) -> None:
        super().__init__(_("This signing link no longer works."))
        self.retired = retired


def party_for_token(token: str) -> Party:
    """The party of a personal link; ServiceError for an unknown token (the page says the link is
    not valid, nothing more)."""
    party = (
        Party.objects.select_related("request__collaboration__partner", "request__created_by")
        .filter(token_hash=token_hash(token))
        .exclude(request__status=Status.DRAFT)  # a draft's parties have salts, but no link yet
        .first()
    )
    if party is None:
        retired = (
            RetiredLink.objects.select_related("request__collaboration__partner", "request__created_by")
            .filter(token_hash=token_hash(token))
            .first()
        )
        if retired is not None:
            raise LinkRetired(retired)
        raise ServiceError(_("This signing link is not valid."))
    return party


def reminded_recently(party: Party, *, now: dt.datetime | None = None) -> bool:
    """Whether `party` was reminded by hand less than REMIND_EVERY ago (the page says when)."""
    return party.reminded_at is not None and (now or timezone.now()) - party.reminded_at < REMIND_EVERY
