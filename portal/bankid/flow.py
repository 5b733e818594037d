"""A BankID order from start to use: the login and the signing step both go through here.

    order = flow.start(purpose=..., end_user_ip=..., session_key=... or party_id=...)
    state = flow.poll(order)        # every second from the page: QR now, status, message
    if state.status == "complete" and flow.consume(order):  # once, whoever asks
        ... order.completion_data["user"]["personalNumber"] ...
    flow.cancel(order)              # the person leaves, or starts again

The animated QR code is computed here from the seconds since the start; `qr_start_secret`
stays on the server. `poll` calls BankID's collect at most every COLLECT_INTERVAL seconds per
order and never twice at once (a row lock taken with SKIP LOCKED: a poll arriving while another
collects answers from the stored state). A BankID error never escapes as an exception from
`poll` or `cancel`; `start` raises `BankIDError`, whose `user_message` is the text to show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.bankid import hints, qr
from portal.bankid.client import BankIDClient
from portal.bankid.errors import ERRORS_BY_CODE, BankIDError, BankIDUnavailable
from portal.models import BankIDOrder

logger = logging.getLogger(__name__)

COLLECT_INTERVAL = timedelta(seconds=2)  # BankID asks for a collect every 1-2 s, not more often


@dataclass(frozen=True)
class PollState:
    status: str  # BankIDOrder.Status
    hint_code: str
    message: str  # translated, for the person
    qr_svg: str  # the QR code for this second ("" unless pending with the QR flow)
    consumed: bool

    @property
    def done(self) -> bool:
        return self.status != BankIDOrder.Status.PENDING


def _client() -> BankIDClient:
    return BankIDClient.from_settings()


def _owner_filter(*, session_key: str = "", party_id: int | None = None) -> Q:
    if party_id is not None:
        return Q(party_id=party_id)
    if session_key:
        return Q(session_key=session_key)
    raise ValueError("an order belongs to a session or a party")


def start(
    *,
    purpose: str,
    end_user_ip: str,
    user_visible_data: str = "",
    user_non_visible_data: bytes = b"",
    requirement: dict[str, Any] | None = None,
    flow: str = BankIDOrder.Flow.QR,
    session_key: str = "",
    party_id: int | None = None,
) -> BankIDOrder:
    """Start an auth (login) or sign order for a session or a party, cancelling that owner's
    earlier open order of the same purpose. `user_non_visible_data` (bytes) ties a signature to
    what is signed. Raises BankIDError (user_message) when BankID
    refuses or can't be reached; nothing is stored then."""
    owner = _owner_filter(session_key=session_key, party_id=party_id)
    for old in BankIDOrder.objects.filter(owner, purpose=purpose, status=BankIDOrder.Status.PENDING):
        cancel(old)
    with _client() as client:
        call = client.sign if purpose == BankIDOrder.Purpose.SIGN else client.auth
        started = call(
            end_user_ip=end_user_ip,
            user_visible_data=user_visible_data,
            user_non_visible_data=user_non_visible_data,
            requirement=requirement,
        )
    return BankIDOrder.objects.create(
        purpose=purpose,
        flow=flow,
        order_ref=started.order_ref,
        qr_start_token=started.qr_start_token,
        qr_start_secret=started.qr_start_secret,
        auto_start_token=started.auto_start_token,
        started_at=timezone.now(),
        session_key=session_key if party_id is None else "",
        party_id=party_id,
    )


def qr_content_now(order: BankIDOrder, now: datetime | None = None) -> str:
    seconds = max(0, int(((now or timezone.now()) - order.started_at).total_seconds()))
    return qr.qr_content(order.qr_start_token, order.qr_start_secret, seconds)


def message(order: BankIDOrder) -> str:
    if order.status == BankIDOrder.Status.CANCELLED:
        return str(hints.RFA3)
    if order.error_code:
        return ERRORS_BY_CODE.get(order.error_code, BankIDError)().user_message
    flow: hints.Flow = "same_device" if order.flow == BankIDOrder.Flow.SAME_DEVICE else "qr"
    return hints.message_for(order.status, order.hint_code or None, flow)


def state(order: BankIDOrder, now: datetime | None = None) -> PollState:
    svg = ""
    if order.status == BankIDOrder.Status.PENDING and order.flow == BankIDOrder.Flow.QR:
        svg = qr.qr_svg(qr_content_now(order, now), title=_("QR code to scan with the BankID app"))
    return PollState(
        status=order.status,
        hint_code=order.hint_code,
        message=message(order),
        qr_svg=svg,
        consumed=order.consumed_at is not None,
    )


def poll(order: BankIDOrder) -> PollState:
    """The order's state now, after a collect when one is due (and no other is running)."""
    now = timezone.now()
    if order.status == BankIDOrder.Status.PENDING:
        order = _collect_if_due(order, now)
    return state(order, now)


def _collect_if_due(order: BankIDOrder, now: datetime) -> BankIDOrder:
    with transaction.atomic():
        locked = (
            BankIDOrder.objects.select_for_update(skip_locked=True)
            .filter(pk=order.pk, status=BankIDOrder.Status.PENDING)
            .filter(Q(last_collect_at__isnull=True) | Q(last_collect_at__lte=now - COLLECT_INTERVAL))
            .first()
        )
        if locked is None:  # another request is collecting, or did so a moment ago
            return BankIDOrder.objects.get(pk=order.pk)
        locked.last_collect_at = now
        try:
            with _client() as client:
                result = client.collect(locked.order_ref)
        except BankIDError as exc:
            logger.warning("BankID collect for %s failed: %s", locked.order_ref, exc)
            if not (exc.retryable or isinstance(exc, BankIDUnavailable)):
                locked.status, locked.error_code = BankIDOrder.Status.FAILED, exc.error_code
                locked.qr_start_secret = ""
            locked.save(update_fields=["last_collect_at", "status", "error_code", "qr_start_secret"])
            return locked
        locked.hint_code = result.hint_code or ""
        if result.status == "complete" and result.completion_data is not None:
            locked.status = BankIDOrder.Status.COMPLETE
            locked.completion_data = result.completion_data.raw
        elif result.status == "failed":
            locked.status = BankIDOrder.Status.FAILED
        if locked.status != BankIDOrder.Status.PENDING:
            locked.qr_start_secret = ""  # no QR code is drawn for an ended order
        locked.save(
            update_fields=["last_collect_at", "status", "hint_code", "completion_data", "qr_start_secret"]
        )
        return locked


def cancel(order: BankIDOrder) -> None:
    """Cancel an open order at BankID and here; a finished one stays as it is."""
    updated = BankIDOrder.objects.filter(pk=order.pk, status=BankIDOrder.Status.PENDING).update(
        status=BankIDOrder.Status.CANCELLED, qr_start_secret=""
    )
    order.refresh_from_db()
    if not updated:
        return
    try:
        with _client() as client:
            client.cancel(order.order_ref)
    except BankIDError as exc:  # it expires at BankID by itself within three minutes
        logger.info("BankID cancel for %s: %s", order.order_ref, exc)


def consume(order: BankIDOrder) -> bool:
    """Use a completed order: True exactly once, for the first caller (`order` is then reloaded,
    completion data and all); False afterwards and for an order that did not complete."""
    now = timezone.now()
    used = BankIDOrder.objects.filter(
        pk=order.pk, status=BankIDOrder.Status.COMPLETE, consumed_at__isnull=True
    ).update(consumed_at=now)
    if used:
        order.refresh_from_db()  # the completion data a poll stored on its own copy of the row
    return bool(used)


def owned(*, order_id: Any, purpose: str, session_key: str = "", party_id: int | None = None) -> BankIDOrder:
    """The order if it belongs to this session or party (DoesNotExist otherwise: a 404)."""
    if not session_key and party_id is None:
        raise BankIDOrder.DoesNotExist
    return BankIDOrder.objects.get(
        _owner_filter(session_key=session_key, party_id=party_id), pk=order_id, purpose=purpose
    )


def personal_number(order: BankIDOrder) -> str:
    data = order.completion_data or {}
    return str((data.get("user") or {}).get("personalNumber", ""))


def prune(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete orders started more than `older_than` ago (BankID ends every order within three
    minutes; what a signing keeps as evidence is stored on its party). Returns how many went.
    Idempotent; nightly as portal.tasks.prune_bankid_orders."""
    return int(BankIDOrder.objects.filter(started_at__lt=timezone.now() - older_than).delete()[0])
