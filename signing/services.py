"""Writes for e-signing: send, act (sign, approve, decline), cancel, expire, remind, seal.

Rules held here:
- A request is a draft from the wizard's first step (nobody is told, nothing is charged, no
  link works, the document is not held). Sending turns it pending and charges one signature in
  the same transaction: an empty balance, or any bad input, leaves the draft as it was.
- The parties whose turn it is are those with the lowest order number among the signers and
  approvers who have not acted; equal numbers act in parallel. Nobody acts out of turn.
- Every change of state is a conditional UPDATE (status from one value to the next, a party's
  `acted_at` from NULL), so a repeated click or task does nothing the second time.
- Cancelling before anyone signed or approved refunds the signature, once.
- A party proves who it is (the method's code) before signing, approving or declining; too many
  wrong answers lock its link until the sender revokes it (a new link is sent).
- The request's rows keep what was signed (names and sha256): deleting the files leaves them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from billing import services as billing
from customers.access import may_work_with
from customers.models import Collaboration, CustomerMembership
from documents import selectors
from documents.links import folder_url
from documents.locks import lock_documents
from documents.models import Document, DocumentVersion
from notifications.models import Event as NotificationEvent
from notifications.services import notifications_add
from partners.models import PartnerRole
from portal.emails import send_templated_email_to
from portal.errors import ServiceError
from portal.models import User
from portal.outbox import outbox_add
from portal.queue import enqueue_on_commit
from portal.validators import normalize_personnummer
from signing import pdfcheck, prepare
from signing import selectors as signing_selectors
from signing.alerts import sender_alert
from signing.deadlines import deadline_in
from signing.methods import Answer, bankid_configured, max_failures, method_for
from signing.models import (
    Attachment,
    AttentionKind,
    AttentionSeen,
    Event,
    Language,
    Method,
    Party,
    RetiredLink,
    Role,
    SigningRequest,
    Status,
)

MAX_PARTIES = 30


@dataclass(frozen=True)
class PartyInput:
    name: str
    email: str
    role: str = Role.SIGNER
    method: str = Method.EMAIL_CODE
    order: int = 1
    mobile: str = ""
    personnummer: str = ""


def _event(
    signing: SigningRequest,
    kind: str,
    *,
    party: Party | None = None,
    actor: User | None = None,
    ip: str | None = None,
    **detail: object,
) -> None:
    Event.objects.create(request=signing, kind=kind, party=party, actor=actor, ip=ip, detail=detail)


def _clean_parties(parties: Sequence[PartyInput]) -> list[PartyInput]:
    if not parties:
        raise ServiceError(_("Add at least one party."), field="parties")
    if len(parties) > MAX_PARTIES:
        raise ServiceError(_("At most %(n)d parties.") % {"n": MAX_PARTIES}, field="parties")
    cleaned, seen = [], set()
    for p in parties:
        name, email = " ".join(p.name.split()), p.email.strip().lower()
        if not name:
            raise ServiceError(_("Every party needs a name."), field="parties")
        if not email:
            raise ServiceError(_("%(name)s has no email address.") % {"name": name}, field="parties")
        try:
            validate_email(email)
        except ValidationError:
            raise ServiceError(
                _("%(email)s is not an email address.") % {"email": email}, field="parties"
            ) from None
        if email in seen:
            raise ServiceError(_("%(email)s is given for two parties.") % {"email": email}, field="parties")
        seen.add(email)
        if p.role not in Role.values or p.method not in Method.values:
            raise ServiceError(
                _("Choose a role and a signing method for %(name)s.") % {"name": name}, field="parties"
            )
        if p.method == Method.BANKID and not bankid_configured():
            raise ServiceError(
                _("BankID is not available: choose another signing method for %(name)s.") % {"name": name},
                field="parties",
            )
        if not 1 <= p.order <= 99:
            raise ServiceError(
                _("The order of %(name)s must be from 1 to 99.") % {"name": name}, field="parties"
            )
        try:
            personnummer = normalize_personnummer(p.personnummer) if p.personnummer.strip() else ""
        except ValidationError as invalid:
            raise ServiceError(
                _("%(name)s: %(error)s") % {"name": name, "error": invalid.messages[0]}, field="parties"
            ) from None
        cleaned.append(PartyInput(name, email, p.role, p.method, p.order, p.mobile.strip(), personnummer))
    if not any(p.role == Role.SIGNER for p in cleaned):
        raise ServiceError(_("At least one party must sign."), field="parties")
    return cleaned


def _signable(version: DocumentVersion, name: str) -> pdfcheck.PdfInfo:
    try:
        return signing_selectors.check_stored_pdf(version)
    except pdfcheck.PdfRefused as refusal:
        raise ServiceError(
            _("%(name)s cannot be signed: %(reason)s") % {"name": name, "reason": refusal.message}
        ) from None


# The page images of the signing page: at most MAX_THUMBNAILS pages (beyond that, the document
# itself, opened inline, shows the rest), PAGE_WIDTH pixels wide.
MAX_THUMBNAILS = 60
PAGE_WIDTH = 260


def page_image_numbers(signing: SigningRequest) -> range:
    return range(1, min(signing.pages, MAX_THUMBNAILS) + 1)


# --- Drafts: the wizard saves as it goes, and Send turns the draft pending --------------------------

FINISHED = [Status.COMPLETED, Status.DECLINED, Status.EXPIRED, Status.CANCELLED]


@dataclass(frozen=True)
class DraftDetails:
    """Everything of a draft but its parties (the wizard's settings step)."""

    deadline: datetime
    language: str = Language.SWEDISH
    message: str = ""
    reminder_days: int | None = None
    attachments: Sequence[Document] = ()


def _may_start(actor: User, collaboration: Collaboration) -> None:
    if may_work_with(actor, collaboration) is None:
        raise ServiceError(_("Only the firm's users who work with this customer can send for signing."))


def _live_document(document: Document | None, collaboration: Collaboration) -> Document:
    if document is None or document.deleted_at is not None:
        raise ServiceError(_("The document of this draft was deleted, so it cannot be sent."))
    if document.folder.collaboration_id != collaboration.pk:
        raise ServiceError(_("The document is not in this customer's folders."))
    return document


def _check_details(details: DraftDetails) -> None:
    if details.deadline <= timezone.now():
        raise ServiceError(_("The deadline must be in the future."), field="deadline")
    if details.deadline > timezone.now() + dt.timedelta(days=366):
        raise ServiceError(_("The deadline can be at most a year away."), field="deadline")
    if details.reminder_days is not None and not 1 <= details.reminder_days <= 30:
        raise ServiceError(_("Remind every 1 to 30 days, or not at all."), field="reminder_days")
    if details.language not in Language.values:
        raise ServiceError(_("Choose Swedish or English."), field="language")


def _check_attachment(
    extra: Document | None, *, collaboration: Collaboration, document_id: int | None
) -> Document:
    if (
        extra is None
        or extra.deleted_at is not None
        or extra.folder.collaboration_id != collaboration.pk
        or extra.pk == document_id
    ):
        raise ServiceError(_("Attachments must be other documents of this customer."), field="attachments")
    if extra.current_version is None:
        raise ServiceError(_("%(name)s has no file.") % {"name": extra.name}, field="attachments")
    return extra


def _locked_draft(draft: SigningRequest) -> SigningRequest:
    """The draft's row, locked (its row only, as signing_cancel); ServiceError once it is sent or
    deleted."""
    locked = (
        SigningRequest.objects.select_for_update(of=("self",))
        .select_related("collaboration", "document__folder")
        .filter(pk=draft.pk)
        .first()
    )
    if locked is None:
        raise ServiceError(_("This draft was deleted."))
    if locked.status != Status.DRAFT:
        raise ServiceError(_("This signing has been sent: it can no longer be changed here."))
    return locked


@transaction.atomic
def draft_create(
    *,
    collaboration: Collaboration,
    actor: User,
    document: Document,
    language: str = Language.SWEDISH,
    deadline: datetime | None = None,
) -> SigningRequest:
    """A draft for `document` (its current version), with no parties yet, the default language and
    a deadline DEFAULT_DEADLINE_DAYS away (signing.deadlines). Nobody is told and nothing is
    charged; the draft does not hold the document (deleting it leaves the draft, which then cannot
    be sent)."""
    _may_start(actor, collaboration)
    document = _live_document(document, collaboration)
    version = document.current_version
    if version is None:
        raise ServiceError(_("The document has no file."))
    now = timezone.now()
    return SigningRequest.objects.create(
        collaboration=collaboration,
        document=document,
        version=version,
        version_sha256=version.sha256,
        title=document.name,
        created_by=actor,
        updated_by=actor,
        created_at=now,
        updated_at=now,
        language=language,
        deadline=deadline or deadline_in(),
        status=Status.DRAFT,
    )


@transaction.atomic
def draft_update(
    *,
    draft: SigningRequest,
    actor: User,
    parties: Sequence[PartyInput] | None = None,
    details: DraftDetails | None = None,
) -> SigningRequest:
    """Save the wizard's parties (replacing the draft's rows) and/or its details (replacing its
    attachments), checked as draft_send checks them. Only a draft, by anyone who may start
    signings for its customer. Draft parties get their link's salt now, but no link works
    until the request is sent (party_for_token refuses a draft's)."""
    draft = _locked_draft(draft)
    _may_start(actor, draft.collaboration)
    if parties is not None:
        cleaned = _clean_parties(parties)
        Party.objects.filter(request=draft).delete()
        for p in cleaned:
            _create_party(draft, p, user=None)
    fields = ["updated_at", "updated_by"]
    if details is not None:
        _check_details(details)
        picked = {
            a.pk: _check_attachment(a, collaboration=draft.collaboration, document_id=draft.document_id)
            for a in details.attachments
        }
        Attachment.objects.filter(request=draft).delete()
        for position, extra in enumerate(picked.values()):
            assert extra.current_version is not None
            Attachment.objects.create(
                request=draft,
                version=extra.current_version,
                sha256=extra.current_version.sha256,
                name=extra.name,
                position=position,
            )
        draft.deadline = details.deadline
        draft.language = details.language
        draft.message = details.message.replace("\r\n", "\n").strip()
        draft.reminder_days = details.reminder_days
        fields += ["deadline", "language", "message", "reminder_days"]
    draft.updated_at, draft.updated_by = timezone.now(), actor
    draft.save(update_fields=fields)
    return draft


@transaction.atomic
def draft_delete(*, draft: SigningRequest, actor: User) -> None:
    """Delete a draft (its parties and attachments with it); a sent request is never deleted."""
    _may_start(actor, draft.collaboration)
    if not SigningRequest.objects.filter(pk=draft.pk, status=Status.DRAFT).exists():
        raise ServiceError(_("This signing has been sent: it can no longer be deleted."))
    # A conditional delete: a Send committing meanwhile wins, and the request stays.
    SigningRequest.objects.filter(pk=draft.pk, status=Status.DRAFT).delete()


@dataclass
class _Ready:
    document: Document
    version: DocumentVersion
    info: pdfcheck.PdfInfo
    parties: list[Party]
    cleaned: list[PartyInput]
    picked: list[Document]
    attachments: list[Attachment]


def _draft_ready(draft: SigningRequest) -> _Ready:
    """Everything Send checks before it takes a lock: ServiceError (with the step's field) otherwise."""
    collaboration = draft.collaboration
    found = Document.objects.select_related("folder", "current_version")
    document = _live_document(
        found.filter(pk=draft.document_id).first() if draft.document_id else None, collaboration
    )
    version = document.current_version
    if version is None:
        raise ServiceError(_("The document has no file."))
    parties = list(Party.objects.filter(request=draft).order_by("order", "id"))
    cleaned = _clean_parties(
        [PartyInput(p.name, p.email, p.role, p.method, p.order, p.mobile, p.personnummer) for p in parties]
    )
    _check_details(
        DraftDetails(
            deadline=draft.deadline,
            language=draft.language,
            message=draft.message,
            reminder_days=draft.reminder_days,
        )
    )
    info = _signable(version, document.name)
    attachments = list(
        Attachment.objects.filter(request=draft)
        .select_related("version__document__folder", "version__document__current_version")
        .order_by("position", "id")
    )
    picked = []
    for attachment in attachments:
        extra = attachment.version.document if attachment.version is not None else None
        extra = _check_attachment(extra, collaboration=collaboration, document_id=document.pk)
        assert extra.current_version is not None
        _signable(extra.current_version, extra.name)
        picked.append(extra)
    return _Ready(document, version, info, parties, cleaned, picked, attachments)


def draft_problem(*, draft: SigningRequest) -> ServiceError | None:
    """What stops the draft from being sent now (for its review page), or None. Send decides again.

    A read, but it stays beside draft_send: it is Send's own refusal (_draft_ready and the checks
    it shares with draft_update) asked in advance, and in selectors it would be a second copy of
    those rules, free to drift from the ones Send enforces."""
    try:
        _draft_ready(draft)
    except ServiceError as problem:
        return problem
    return None


@transaction.atomic
def draft_send(*, draft: SigningRequest, actor: User, version_id: int | None = None) -> SigningRequest:
    """Send the draft: it turns pending (a conditional UPDATE from draft), its document's current
    version is what is signed, and one signature is charged, once. `version_id` is what the sender
    reviewed (the draft's own by default): a newer one arriving meanwhile refuses the send. Raises
    ServiceError (billing.services.BalanceEmpty for an empty balance) and then changes nothing: the
    draft stays a draft. A second Send of the same draft (a double click, two people at once)
    returns the sent request and charges nothing more. The one who sends is its sender."""
    draft = SigningRequest.objects.select_related("collaboration__partner").get(pk=draft.pk)
    collaboration = draft.collaboration
    _may_start(actor, collaboration)
    if draft.status != Status.DRAFT:
        return draft
    ready = _draft_ready(draft)
    expected = version_id if version_id is not None else draft.version_id

    # The hold starts here: lock the documents' rows first, so an upload or a delete of them at the
    # same moment either committed before (and is seen now) or waits and then sees this signing.
    # A second Send of this draft waits here too, and then finds it sent (the UPDATE below).
    live = lock_documents([ready.document.pk, *(a.pk for a in ready.picked)])
    if ready.document.pk not in live:
        raise ServiceError(_("The document of this draft was deleted, so it cannot be sent."))
    if live[ready.document.pk].current_version_id != expected or ready.version.pk != expected:
        raise ServiceError(
            _("A new version of the document arrived while you sent it: look at it and send again.")
        )
    if any(extra.pk not in live for extra in ready.picked):
        raise ServiceError(_("Attachments must be other documents of this customer."), field="attachments")
    now = timezone.now()
    sent = SigningRequest.objects.filter(pk=draft.pk, status=Status.DRAFT).update(
        status=Status.PENDING,
        sent_at=now,
        created_by=actor,
        updated_at=now,
        updated_by=actor,
        version=ready.version,
        version_sha256=ready.version.sha256,
        title=ready.document.name,
        pages=ready.info.pages,
    )
    if not sent:  # sent by another click meanwhile (or deleted)
        earlier = SigningRequest.objects.filter(pk=draft.pk).first()
        if earlier is None:
            raise ServiceError(_("This draft was deleted."))
        return earlier
    signing = SigningRequest.objects.select_related("collaboration__partner", "created_by").get(pk=draft.pk)
    users = {
        u.email.lower(): u
        for u in User.objects.filter(email__in=[p.email for p in ready.cleaned], is_active=True)
    }
    for party in ready.parties:
        if party.email in users:
            Party.objects.filter(pk=party.pk).update(user=users[party.email])
    for attachment, extra in zip(ready.attachments, ready.picked, strict=True):
        assert extra.current_version is not None
        Attachment.objects.filter(pk=attachment.pk).update(
            version=extra.current_version, sha256=extra.current_version.sha256, name=extra.name
        )
    billing.signature_charge(
        partner=collaboration.partner, actor=actor, reference=signing.charge_reference, reason=signing.title
    )
    # The files as signed: a copy where pdfcheck asks for one. After the charge, which may refuse.
    prepare.prepare_sent_files(signing=signing, actor=actor)
    _event(signing, "sent", actor=actor, parties=len(ready.cleaned), attachments=len(ready.picked))
    _start_turn(signing)
    # The signer's first look would otherwise wait for PDFium, one render at a time per process.
    outbox_add("signing.tasks.render_signing_pages", signing.pk)
    return signing


@transaction.atomic
def signing_send(
    *,
    collaboration: Collaboration,
    actor: User,
    document: Document,
    parties: Sequence[PartyInput],
    deadline: datetime,
    language: str = Language.SWEDISH,
    message: str = "",
    reminder_days: int | None = None,
    attachments: Sequence[Document] = (),
) -> SigningRequest:
    """Send `document` (its current version) for signing at once, charging one signature: a draft
    made and sent in one transaction (the demo data, the benchmarks and tests use it). Raises
    ServiceError (billing.services.BalanceEmpty for an empty balance) and leaves nothing behind."""
    draft = draft_create(collaboration=collaboration, actor=actor, document=document, language=language)
    draft_update(
        draft=draft,
        actor=actor,
        parties=parties,
        details=DraftDetails(
            deadline=deadline,
            language=language,
            message=message,
            reminder_days=reminder_days,
            attachments=attachments,
        ),
    )
    return draft_send(draft=draft, actor=actor)


def draft_send_again(*, signing: SigningRequest, actor: User) -> SigningRequest:
    """A new draft from a finished request: the same document (its current version), parties,
    message, language, reminders and live attachments, and a deadline as far away as the first
    one was from its sending. Raises ServiceError when the document was deleted."""
    if signing.status not in FINISHED:
        raise ServiceError(_("Only a finished signing can be sent again."))
    document = None
    if signing.document_id is not None:
        found = Document.objects.select_related("folder", "current_version")
        document = found.filter(pk=signing.document_id).first()
    if document is None or document.deleted_at is not None:
        raise ServiceError(_("The document was deleted, so it cannot be sent again."))
    start = signing.sent_at or signing.created_at
    days = min(max((timezone.localdate(signing.deadline) - timezone.localdate(start)).days, 1), 365)
    parties = [
        PartyInput(p.name, p.email, p.role, p.method, p.order, p.mobile, p.personnummer)
        for p in Party.objects.filter(request=signing).order_by("order", "id")
    ]
    attachments = [
        a.version.document
        for a in Attachment.objects.filter(request=signing)
        .select_related("version__document__folder", "version__document__current_version")
        .order_by("position", "id")
        if a.version is not None
        and a.version.document.deleted_at is None
        and a.version.document.current_version is not None
        and a.version.document.pk != document.pk
    ]
    with transaction.atomic():
        draft = draft_create(
            collaboration=signing.collaboration, actor=actor, document=document, language=signing.language
        )
        return draft_update(
            draft=draft,
            actor=actor,
            parties=parties or None,
            details=DraftDetails(
                deadline=deadline_in(days),
                language=signing.language,
                message=signing.message,
                reminder_days=signing.reminder_days,
                attachments=attachments,
            ),
        )


def _start_turn(signing: SigningRequest) -> None:
    """Tell the parties whose turn it now is, once each (notified_at from NULL)."""
    order = signing_selectors.current_order(signing)
    if order is None:
        return
    due = Party.objects.filter(
        request=signing, order=order, role__in=[Role.SIGNER, Role.APPROVER], notified_at__isnull=True
    )
    for party in due:
        if Party.objects.filter(pk=party.pk, notified_at__isnull=True).update(notified_at=timezone.now()):
            _event(signing, "notified", party=party)
            outbox_add("signing.tasks.email_party", party.pk, "request")
            _tell_party(party, NotificationEvent.SIGNING_REQUESTED)


def _tell_party(party: Party, event: str) -> None:
    """A party who is a portal user also finds the request in the portal (its email is the personal
    link, so the notification stays in the inbox). The notification links to a page that needs
    the user's login, never to the token: the token is stored nowhere but in the party's email."""
    if party.user is None:
        return
    signing = party.request
    notifications_add(
        event=event,
        recipients=[party.user],
        actor=None,
        collaboration=signing.collaboration,
        url=reverse("signing:party_open", args=[party.pk]),
        params={"sender": signing.created_by.get_full_name(), "document": signing.title},
        email=False,
    )


def _tell_firm(signing: SigningRequest, status: str, party: Party | None = None) -> None:
    """The sender hears how it ended; a decline or an expiry also needs the attention of the
    firm's people who work with the customer."""
    signing = SigningRequest.objects.select_related("collaboration", "created_by", "document__folder").get(
        pk=signing.pk
    )
    params = {"document": signing.title, "party": party.name if party is not None else ""}
    if signing.document is not None:
        url = folder_url(signing.document.folder, "customer")
    else:  # the file is gone; the request's page still tells the story
        url = reverse("signing:partner_detail", args=[signing.collaboration_id, signing.pk])
    event = {
        Status.COMPLETED: NotificationEvent.SIGNING_COMPLETED,
        Status.DECLINED: NotificationEvent.SIGNING_DECLINED,
        Status.EXPIRED: NotificationEvent.SIGNING_EXPIRED,
    }[Status(status)]
    told = [signing.created_by]
    customer_parties: list[User] = []
    if status == Status.COMPLETED:
        # Parties who are the customer's users find it under Signeringar, where they fetch the
        # sealed PDF whatever the folder's access; any other party in the portal follows the folder.
        users = [p.user for p in signing.parties.select_related("user") if p.user is not None]
        members = set(
            CustomerMembership.objects.filter(
                customer_id=signing.collaboration.customer_id, user__in=users
            ).values_list("user_id", flat=True)
        )
        customer_parties = [u for u in users if u.pk in members and u.pk != signing.created_by_id]
        told += [u for u in users if u.pk not in members]
    notifications_add(
        event=event, recipients=told, actor=None, collaboration=signing.collaboration, url=url, params=params
    )
    if customer_parties:
        notifications_add(
            event=event,
            recipients=customer_parties,
            actor=None,
            collaboration=signing.collaboration,
            url=reverse("signing:customer_detail", args=[signing.collaboration_id, signing.pk]),
            params=params,
        )
    if status in (Status.DECLINED, Status.EXPIRED) and signing.document is not None:
        firm = (
            User.objects.filter(pk__in=[u.pk for u in selectors.folder_audience(signing.document.folder)])
            .filter(partner_memberships__partner_id=signing.collaboration.partner_id)
            .exclude(pk=signing.created_by_id)
            .distinct()
        )
        notifications_add(
            event=NotificationEvent.SIGNING_ATTENTION,
            recipients=firm,
            actor=None,
            collaboration=signing.collaboration,
            url=url,
            params=params,
        )


def party_start_method(*, party: Party) -> None:
    """Send the party its code (email code), after checking it may act. The code is emailed here,
    while the party waits for it, and never passes through the task queue."""
    reason = signing_selectors.may_act(party)
    if reason:
        raise ServiceError(reason)
    code = method_for(party).start(party)
    if not code:
        return
    try:
        send_templated_email_to(
            party.email,
            language=party.request.language,
            template="signing_code",
            context={"party": party, "code": code},
        )
    except OSError:
        Party.objects.filter(pk=party.pk).update(code_hash="", code_sent_at=None)
        raise ServiceError(_("The code could not be sent just now. Try again in a minute.")) from None
    _event(party.request, "code_sent", party=party)


def party_act(
    *,
    party: Party,
    action: str,
    answer: Answer = "",
    ip: str | None = None,
    user_agent: str = "",
    reason: str = "",
) -> Party:
    """Sign, approve or decline, once. Signing and approving need the method's proof (the code);
    declining needs a reason. The last required party completes the request and starts sealing.

    The proof is checked before the transaction, so a wrong code counts as a try even though
    nothing else changes; the state change then happens under the request's row lock."""
    party.request = SigningRequest.objects.get(pk=party.request_id)
    why_not = signing_selectors.may_act(party)
    if why_not:
        raise ServiceError(why_not)
    verb = "approve" if party.role == Role.APPROVER else "sign"
    if action == "decline":
        reason = reason.strip()
        if not reason:
            raise ServiceError(_("Say why you decline."), field="reason")
    elif action != verb:
        raise ServiceError(_("That is not what this party does."))
    # Declining stops the signing for everyone: it needs the same proof as signing.
    try:
        method_for(party).verify(party, answer, declining=action == "decline")
    except ServiceError:
        if _lock_if_too_many_failures(party):
            raise ServiceError(str(signing_selectors.may_act(party))) from None
        raise
    return _record_act(party=party, action=action, ip=ip, user_agent=user_agent, reason=reason)


@transaction.atomic
def _lock_if_too_many_failures(party: Party) -> bool:
    """Lock the party's link once its wrong answers reach the limit, note it on the timeline and
    tell the sender (once: locked_at from NULL). Returns whether the link is locked."""
    now = timezone.now()
    if not Party.objects.filter(
        pk=party.pk, locked_at__isnull=True, code_failures__gte=max_failures()
    ).update(locked_at=now, code_hash=""):
        locked = Party.objects.filter(pk=party.pk).values_list("locked_at", flat=True).first()
        party.locked_at = locked
        return locked is not None
    party.locked_at = now
    signing = SigningRequest.objects.select_related("collaboration", "created_by").get(pk=party.request_id)
    _event(signing, "locked", party=party)
    sender_alert(signing, actor=None, party=party.name)
    return True


@transaction.atomic
def _record_act(*, party: Party, action: str, ip: str | None, user_agent: str, reason: str) -> Party:
    signing = SigningRequest.objects.select_for_update().get(pk=party.request_id)
    party.request = signing
    why_not = signing_selectors.may_act(party)
    if why_not:
        raise ServiceError(why_not)
    done = {"sign": "signed", "approve": "approved", "decline": "declined"}[action]
    now = timezone.now()
    # The link the party came by must still be its link: a change (party_change) or a removal
    # committed meanwhile leaves its old holder nothing to act on.
    if not Party.objects.filter(pk=party.pk, acted_at__isnull=True, token_hash=party.token_hash).update(
        action=done, acted_at=now, ip=ip, user_agent=user_agent[:300], decline_reason=reason
    ):
        if Party.objects.filter(pk=party.pk, acted_at__isnull=False).exists():
            raise ServiceError(_("You have already answered this signing."))
        raise ServiceError(_("This signing link no longer works: the sender has replaced it."))
    party.refresh_from_db()
    _event(signing, done, party=party, ip=ip)
    if action == "decline":
        if _finish(signing, Status.DECLINED, {"reason": reason}):
            _tell_firm(signing, Status.DECLINED, party)
        return party
    if signing_selectors.current_order(signing) is None:
        if _finish(signing, Status.COMPLETED):
            # The firm hears of it when the sealed PDF is stored (signing_record_sealed): never before.
            enqueue_on_commit("signing.tasks.seal_signing", signing.pk)
    else:
        _start_turn(signing)
    return party


def _finish(signing: SigningRequest, status: str, detail: dict[str, str | int] | None = None) -> bool:
    """pending -> `status`, once. Returns whether this call made the change."""
    changed = SigningRequest.objects.filter(pk=signing.pk, status=Status.PENDING).update(
        status=status, finished_at=timezone.now()
    )
    if changed:
        signing.status = status
        Event.objects.create(request=signing, kind=status, detail=detail or {})  # its keys at the top
    return bool(changed)


def _signing_for_sender_or_admin(signing_id: int, actor: User, *, refusal: str) -> SigningRequest:
    """The request under its row lock, if `actor` sent it or is an account administrator of its
    partner; ServiceError(refusal) otherwise. Call inside the transaction."""
    # of=("self",): a FOR UPDATE over the join would lock the collaboration and partner rows too,
    # ahead of a refund's own partner lock, and deadlock with an upload committing meanwhile
    # (it holds the partner row and needs a key-share lock on the collaboration for its audit row).
    signing = (
        SigningRequest.objects.select_for_update(of=("self",))
        .select_related("collaboration__partner")
        .get(pk=signing_id)
    )
    is_admin = signing.collaboration.partner.memberships.filter(user=actor, role=PartnerRole.ADMIN).exists()
    if actor.pk != signing.created_by_id and not is_admin:
        raise ServiceError(refusal)
    return signing


@transaction.atomic
def signing_cancel(*, signing: SigningRequest, actor: User) -> SigningRequest:
    """The sender, or an account administrator of the partner, stops a pending request. If nobody
    had signed or approved yet, the signature is refunded (once)."""
    signing = _signing_for_sender_or_admin(
        signing.pk, actor, refusal=_("Only the sender or an account administrator can cancel this signing.")
    )
    if signing.status != Status.PENDING:
        raise ServiceError(_("Only a signing that is waiting for signatures can be cancelled."))
    _cancel(signing, actor=actor)
    return signing


def signings_cancel_for_ending(
    *, collaboration: Collaboration, actor: User | None, **_kwargs: object
) -> None:
    """The collaboration ended (customers.hooks.collaboration_ended, inside its transaction): every
    pending signing of it is cancelled as signing_cancel does (the same refund rule), whoever sent
    it, and the parties already told of it hear by email that it was cancelled because the
    collaboration ended; drafts go."""
    pending = SigningRequest.objects.select_for_update(of=("self",)).filter(
        collaboration=collaboration, status=Status.PENDING
    )
    for signing in pending.select_related("collaboration__partner").order_by("pk"):
        _cancel(signing, actor=actor, reason="collaboration_ended")
        for party_id in signing.parties.filter(notified_at__isnull=False).values_list("pk", flat=True):
            outbox_add("signing.tasks.email_party_cancelled", party_id)
    SigningRequest.objects.filter(collaboration=collaboration, status=Status.DRAFT).delete()


def _cancel(signing: SigningRequest, *, actor: User | None, reason: str = "") -> None:
    """pending -> cancelled, and the refund if nobody had signed or approved yet. Precondition: the
    request's row is locked and pending."""
    detail: dict[str, str | int] = {"by": actor.get_full_name() if actor is not None else ""}
    if reason:
        detail["reason"] = reason
    if not _finish(signing, Status.CANCELLED, detail):
        return
    if not signing.parties.filter(action__in=["signed", "approved"]).exists():
        refund = billing.signature_refund(
            partner=signing.collaboration.partner,
            actor=actor,
            reference=signing.charge_reference,
            reason=_("Cancelled before anyone signed: %(title)s") % {"title": signing.title},
        )
        if refund is not None:
            _event(signing, "refunded", actor=actor)


# --- Fixing a sent request: remind, change or add or remove a party, extend the deadline -------------
# For anyone who may start signings for the customer (customers.access.may_work_with), while the
# request is pending. Each takes the request's row lock first (_signing_for_fixing), as a party's
# act does (_record_act), so a fix and a signature never interleave: a change after a signature
# sees it, and a signature after a change sees the new link (and not the old one's holder).


def _signing_for_fixing(signing_id: int, actor: User) -> SigningRequest:
    """The request under its row lock (its row only, as _signing_for_sender_or_admin), if `actor` may
    fix it."""
    signing = (
        SigningRequest.objects.select_for_update(of=("self",))
        .select_related("collaboration__partner", "created_by")
        .get(pk=signing_id)
    )
    if may_work_with(actor, signing.collaboration) is None:
        raise ServiceError(_("Only the firm's users who work with this customer can change this signing."))
    if signing.status != Status.PENDING:
        raise ServiceError(_("Only a signing that is waiting for signatures can be changed."))
    return signing


def _party_for_fixing(signing: SigningRequest, party: Party) -> Party:
    """`party` as it is now, under the request's lock, if it has not acted; its request is `signing`."""
    current = Party.objects.filter(pk=party.pk, request=signing).first()
    if current is None:
        raise ServiceError(_("%(name)s is no longer a party to this signing.") % {"name": party.name})
    if current.acted_at is not None:
        raise ServiceError(
            _("%(name)s has already answered: they can no longer be changed.") % {"name": current.name}
        )
    current.request = signing
    return current


def _nobody_signed_yet(signing: SigningRequest) -> None:
    if signing.parties.filter(action__in=["signed", "approved"]).exists():
        raise ServiceError(
            _(
                "Someone has already signed or approved, so parties can no longer be added or removed. "
                "Cancel the signing and send it again instead."
            )
        )


def _new_link() -> tuple[str, str]:
    """A new link's salt and the sha256 of its token."""
    salt = secrets.token_hex(16)
    return salt, signing_selectors.token_hash(signing_selectors.link_token(salt))


def _create_party(signing: SigningRequest, p: PartyInput, *, user: User | None) -> Party:
    """A party row with a new link (a draft's parties have no user: nobody is told of a draft)."""
    salt, hashed = _new_link()
    return Party.objects.create(
        request=signing,
        name=p.name,
        email=p.email,
        mobile=p.mobile,
        personnummer=p.personnummer,
        role=p.role,
        method=p.method,
        order=p.order,
        user=user,
        token_salt=salt,
        token_hash=hashed,
    )


def _replace_link(signing: SigningRequest, party: Party, **changes: object) -> bool:
    """Give `party` (with `changes` to its row) a new personal link, reset its code, the code's
    limits and a lock, and keep the old link's hash so that its pages answer 410. Only a party
    that has not acted; returns whether it was changed. Precondition: the request's row lock is
    held, as by every change of a link, so the hash read here is the one being replaced."""
    old = (
        Party.objects.filter(pk=party.pk, request=signing, acted_at__isnull=True)
        .values_list("token_hash", flat=True)
        .first()
    )
    if old is None:
        return False
    salt, hashed = _new_link()
    Party.objects.filter(pk=party.pk, token_hash=old).update(
        token_salt=salt,
        token_hash=hashed,
        code_hash="",
        code_sent_at=None,
        code_attempts=0,
        code_verified_at=None,
        code_failures=0,
        code_window_start=None,
        code_window_sends=0,
        locked_at=None,
        **changes,
    )
    RetiredLink.objects.create(
        request=signing, party_id=party.pk, token_hash=old, reason=RetiredLink.Reason.REPLACED
    )
    return True


def _tell_sender(signing: SigningRequest, actor: User) -> None:
    """The sender hears when someone else changed their signing (in the portal and by email, as
    the other things that need their attention)."""
    if actor.pk == signing.created_by_id:
        return
    sender_alert(signing, actor=actor, changed_by=actor.get_full_name())


@transaction.atomic
def party_remind(*, party: Party, actor: User) -> Party:
    """Email a party whose turn it is its link again now (and tell it in the portal if it is a
    user), at most once per REMIND_EVERY: the slot is claimed by a conditional UPDATE of
    `reminded_at`, so two clicks at once send one reminder."""
    signing = _signing_for_fixing(party.request_id, actor)
    party = _party_for_fixing(signing, party)
    now = timezone.now()
    if signing.deadline <= now:
        raise ServiceError(_("The deadline has passed: extend it before reminding anyone."))
    if not party.must_act:
        raise ServiceError(
            _("%(name)s only gets a copy when everyone has signed: there is nothing to remind them of.")
            % {"name": party.name}
        )
    if party.locked_at is not None:
        raise ServiceError(
            _("%(name)s's link is locked after too many wrong codes: send a new link instead.")
            % {"name": party.name}
        )
    if signing_selectors.current_order(signing) != party.order:
        raise ServiceError(
            _("It is not %(name)s's turn yet: they get their link when it is.") % {"name": party.name}
        )
    if not Party.objects.filter(
        Q(reminded_at__isnull=True) | Q(reminded_at__lte=now - signing_selectors.REMIND_EVERY), pk=party.pk
    ).update(reminded_at=now):
        when = party.reminded_at or now  # read under the lock, as every reminder writes it
        raise ServiceError(
            _("%(name)s was reminded less than an hour ago. You can remind them again at %(time)s.")
            % {
                "name": party.name,
                "time": date_format(timezone.localtime(when + signing_selectors.REMIND_EVERY), "TIME_FORMAT"),
            }
        )
    party.reminded_at = now
    outbox_add("signing.tasks.email_party", party.pk, "reminder")
    _tell_party(party, NotificationEvent.SIGNING_REMINDER)
    _event(signing, "party_reminded", party=party, actor=actor, by=actor.get_full_name())
    return party


def _clean_contact(name: str, email: str) -> tuple[str, str]:
    """A party's name and email as _clean_parties keeps them, or ServiceError."""
    cleaned = _clean_parties([PartyInput(name, email)])[0]
    return cleaned.name, cleaned.email


def _email_taken(signing: SigningRequest, email: str, *, other_than: int | None = None) -> None:
    taken = Party.objects.filter(request=signing, email=email)
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    if taken.exists():
        raise ServiceError(
            _("%(email)s is already a party to this signing.") % {"email": email}, field="email"
        )


@transaction.atomic
def party_change(*, party: Party, actor: User, name: str, email: str) -> Party:
    """Correct the name or email of a party who has not acted. Its old link stops working (its
    pages answer 410), a new one is emailed when it is (or was) the party's turn, the portal user
    with the new address (if any) becomes the party's user, and the change is on the timeline
    (so on the sealed PDF's audit page). `party` is the row as the caller read it: when someone
    else changed it meanwhile (its link is another), this change is refused, not made on top."""
    signing = _signing_for_fixing(party.request_id, actor)
    current = _party_for_fixing(signing, party)
    if current.token_hash != party.token_hash:
        raise ServiceError(
            _("%(name)s was changed by someone else meanwhile: look at the signing again.")
            % {"name": current.name}
        )
    name, email = _clean_contact(name, email)
    if (name, email) == (current.name, current.email):
        raise ServiceError(_("Nothing was changed: give another name or email address."))
    _email_taken(signing, email, other_than=current.pk)
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    _replace_link(signing, current, name=name, email=email, user=user)
    changed = Party.objects.select_related("user").get(pk=current.pk)
    changed.request = signing
    _event(
        signing,
        "party_changed",
        party=changed,
        actor=actor,
        by=actor.get_full_name(),
        old_name=current.name,
        old_email=current.email,
        new_name=name,
        new_email=email,
    )
    if changed.notified_at is not None:
        outbox_add("signing.tasks.email_party", changed.pk, "request")
        _tell_party(changed, NotificationEvent.SIGNING_REQUESTED)
    _tell_sender(signing, actor)
    return changed


@transaction.atomic
def party_add(*, signing: SigningRequest, actor: User, party: PartyInput) -> Party:
    """Add a party before anyone has signed or approved. A signer or approver may not come before
    the parties who already have their links (they would have to wait again); one whose order is
    the current turn is sent its link at once."""
    signing = _signing_for_fixing(signing.pk, actor)
    _nobody_signed_yet(signing)
    parties = list(signing.parties.all())
    _email_taken(signing, party.email.strip().lower())
    existing = [
        PartyInput(p.name, p.email, p.role, p.method, p.order, p.mobile, p.personnummer) for p in parties
    ]
    new = _clean_parties([*existing, party])[-1]
    turn = signing_selectors.current_order(signing)
    if new.role != Role.VIEWER and turn is not None and new.order < turn:
        raise ServiceError(
            _(
                "The order must be %(turn)d or later: the parties of order %(turn)d have already been "
                "sent their links."
            )
            % {"turn": turn},
            field="order",
        )
    added = _create_party(
        signing, new, user=User.objects.filter(email__iexact=new.email, is_active=True).first()
    )
    _event(
        signing,
        "party_added",
        party=added,
        actor=actor,
        by=actor.get_full_name(),
        name=added.name,
        email=added.email,
        role=added.role,
    )
    _start_turn(signing)
    _tell_sender(signing, actor)
    added.refresh_from_db()
    return added


@transaction.atomic
def party_remove(*, party: Party, actor: User) -> None:
    """Remove a party before anyone has signed or approved, never the last signer. Its link stops
    working (its pages answer 410 and say it was removed); when it was the last of the current
    turn, the next order's parties are sent their links. The timeline keeps its name."""
    signing = _signing_for_fixing(party.request_id, actor)
    _nobody_signed_yet(signing)
    current = _party_for_fixing(signing, party)
    signers = signing.parties.filter(role=Role.SIGNER).exclude(pk=current.pk)
    if current.role == Role.SIGNER and not signers.exists():
        raise ServiceError(
            _(
                "%(name)s is the only signer, and a signing needs one. Add another signer first, "
                "or cancel the signing."
            )
            % {"name": current.name}
        )
    RetiredLink.objects.create(
        request=signing, party=None, token_hash=current.token_hash, reason=RetiredLink.Reason.REMOVED
    )
    # The lines about the party keep its name once its row is gone (Event.party becomes NULL).
    for line in Event.objects.filter(party=current):
        line.detail = {**line.detail, "party_name": current.name}
        line.save(update_fields=["detail"])
    _event(
        signing,
        "party_removed",
        actor=actor,
        by=actor.get_full_name(),
        name=current.name,
        email=current.email,
        role=current.role,
    )
    current.delete()
    _start_turn(signing)
    _tell_sender(signing, actor)


@transaction.atomic
def signing_extend_deadline(*, signing: SigningRequest, actor: User, deadline: datetime) -> SigningRequest:
    """Move the deadline later: after now and the current one, at most a year (366 days, as when
    sending) after the request was sent. A request whose deadline passed but that has not yet
    been expired (signings_expire_due runs every few minutes) may be given more time too."""
    signing = _signing_for_fixing(signing.pk, actor)
    old = signing.deadline
    if deadline <= timezone.now():
        raise ServiceError(_("The new deadline must be in the future."), field="deadline")
    if deadline <= old:
        raise ServiceError(
            _("The new deadline must be later than the current one (%(date)s).")
            % {"date": date_format(timezone.localtime(old), "DATE_FORMAT")},
            field="deadline",
        )
    latest = (signing.sent_at or signing.created_at) + dt.timedelta(days=366)
    if deadline > latest:
        raise ServiceError(
            _("The deadline can be at most a year after the signing was sent (%(date)s).")
            % {"date": date_format(timezone.localtime(latest), "DATE_FORMAT")},
            field="deadline",
        )
    SigningRequest.objects.filter(pk=signing.pk).update(deadline=deadline)
    signing.deadline = deadline
    _event(
        signing,
        "deadline_extended",
        actor=actor,
        by=actor.get_full_name(),
        old=old.isoformat(),
        new=deadline.isoformat(),
    )
    _tell_sender(signing, actor)
    return signing


def signings_expire_due(*, now: datetime | None = None) -> int:
    """Pending requests past their deadline become expired (each once)."""
    now = now or timezone.now()
    count = 0
    for signing in SigningRequest.objects.filter(status=Status.PENDING, deadline__lte=now):
        with transaction.atomic():
            # Under the row lock, as signing_extend_deadline: a deadline moved meanwhile wins.
            locked = SigningRequest.objects.select_for_update(of=("self",)).filter(pk=signing.pk)
            if not locked.filter(deadline__lte=now).values_list("pk", flat=True).first():
                continue
            if _finish(signing, Status.EXPIRED):
                _tell_firm(signing, Status.EXPIRED)
                count += 1
    return count


def signings_remind_due(*, now: datetime | None = None) -> int:
    """Email a reminder to the parties whose turn it is, every `reminder_days`, until the deadline.
    A request is claimed for its reminder with a conditional UPDATE of last_reminder_at."""
    now = now or timezone.now()
    sent = 0
    for signing in SigningRequest.objects.filter(
        status=Status.PENDING, reminder_days__isnull=False, deadline__gt=now
    ):
        assert signing.reminder_days is not None and signing.sent_at is not None
        interval = dt.timedelta(days=signing.reminder_days)
        last = signing.last_reminder_at or signing.sent_at
        if now - last < interval:
            continue
        with transaction.atomic():
            claimed = SigningRequest.objects.filter(
                pk=signing.pk, status=Status.PENDING, last_reminder_at=signing.last_reminder_at
            ).update(last_reminder_at=now)
            if not claimed:
                continue
            order = signing_selectors.current_order(signing)
            if order is None:
                continue
            for party in signing.parties.filter(
                order=order, acted_at__isnull=True, role__in=[Role.SIGNER, Role.APPROVER]
            ):
                outbox_add("signing.tasks.email_party", party.pk, "reminder")
                _tell_party(party, NotificationEvent.SIGNING_REMINDER)
                sent += 1
            _event(signing, "reminded")
    return sent


def signing_record_sealed(*, signing: SigningRequest, version: DocumentVersion) -> None:
    """The sealed PDF is stored: keep it on the request, note it on the timeline and tell the sender
    (and the parties in the portal) that it is done. Called once, by the sealing task, in the
    transaction that stores the file's row."""
    SigningRequest.objects.filter(pk=signing.pk).update(
        sealed_version=version, sealed_at=timezone.now(), seal_failed_at=None, seal_error=""
    )
    _event(signing, "sealed", version=version.pk, sha256=version.sha256)
    _tell_firm(signing, Status.COMPLETED)


def signing_record_seal_failure(*, request_id: int, error: str) -> None:
    """The sealing task failed: the sender sees "sealing failed" until a retry succeeds."""
    SigningRequest.objects.filter(pk=request_id, sealed_at__isnull=True).update(
        seal_failed_at=timezone.now(), seal_error=error[:300]
    )


@transaction.atomic
def party_link_revoke(*, party: Party, actor: User) -> Party:
    """The sender (or an account administrator) gives a party a new personal link: the old one
    stops working, the code, its limits and a lock are reset, and the new link is emailed when
    it is (or was) the party's turn. Only while the request is pending and the party has not acted."""
    signing = _signing_for_sender_or_admin(
        party.request_id, actor, refusal=_("Only the sender or an account administrator can send a new link.")
    )
    if signing.status != Status.PENDING:
        raise ServiceError(_("Only a signing that is waiting for signatures can get new links."))
    if not _replace_link(signing, party):
        raise ServiceError(
            _("%(name)s has already answered: the link cannot be changed.") % {"name": party.name}
        )
    party.refresh_from_db()
    _event(signing, "link_revoked", party=party, actor=actor)
    if party.notified_at is not None:
        outbox_add("signing.tasks.email_party", party.pk, "request")
    return party


@transaction.atomic
def attention_dismiss(
    *,
    user: User,
    collaboration: Collaboration,
    kind: str,
    until: datetime | None = None,
    now: datetime | None = None,
) -> AttentionSeen:
    """`user` has seen the customer's declined (or expired) signings that finished by `until` (the
    newest one the badge counted; now when not given, never later than now): for them the badge on
    Mina samarbeten leaves those out until another one finishes. It only moves forward, so a stale
    form or a second click changes nothing. The caller decided that the user may see the customer
    (signing.access.collaboration_for_signing)."""
    kind = AttentionKind(kind)
    now = now or timezone.now()
    seen_at = min(until, now) if until is not None else now
    seen, created = AttentionSeen.objects.get_or_create(
        user=user, collaboration=collaboration, kind=kind, defaults={"seen_at": seen_at}
    )
    if not created and seen.seen_at < seen_at:
        AttentionSeen.objects.filter(pk=seen.pk, seen_at__lt=seen_at).update(seen_at=seen_at)
        seen.seen_at = seen_at
    return seen
