"""Partner side of e-signing: Mina samarbeten / customer / Signeringar, and the send wizard.

Who may see the customer on the partner side may use all of it (signing.access decides; 404 for
anyone else). The wizard's state is the draft (a SigningRequest with status draft): starting makes
one, and each step (parties, settings, review) has its own page that saves to it; Send turns it
pending. Adding a row or a known person is a submit button, so it all works without JavaScript.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.services import BalanceEmpty
from customers.models import Collaboration
from documents import access as documents_access
from documents import services as documents_services
from documents.links import folder_url
from documents.models import Document
from partners.models import Partner
from portal.context import AuthedRequest
from portal.errors import ServiceError
from signing import access, pdfcheck, prepare, selectors, services
from signing.fixing_forms import DeadlineForm, PartyAddForm, PartyChangeForm
from signing.forms import (
    PARTY_FIELDS,
    PARTY_PREFIX,
    AttentionDismissForm,
    BasePartyFormSet,
    SigningForm,
    details_initial,
    party_formset,
    party_rows,
    status_filters,
)
from signing.methods import bankid_configured, default_method
from signing.models import AttentionKind, Event, Party, Role, SigningRequest, Status

# --- Start: the bulk bar's "Send for e-signing", or a document -----------------------------------


def _start(request: AuthedRequest, collaboration: Collaboration, document: Document) -> HttpResponse:
    """A draft for a file that can be signed, opened at its first step; a file that cannot be
    signed is refused with the reason, and no draft is made."""
    refusal = selectors.signable_refusal(document)
    if refusal:
        return render(
            request,
            "signing/partner_refused.html",
            {
                "collaboration": collaboration,
                "document": document,
                "reason": refusal,
                "folder_url": folder_url(document.folder, "partner"),
                "tab": "signings",
            },
            status=422,
        )
    try:
        draft = services.draft_create(collaboration=collaboration, actor=request.user, document=document)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(folder_url(document.folder, "partner"))
    return redirect("signing:partner_draft_parties", collaboration.pk, draft.pk)


@login_required
@require_POST
def signing_start(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """The folder's file list posts its ticked documents here (the button's formaction): exactly one
    becomes a draft, or is refused with the reason it cannot be signed; anything else goes back."""
    folder = documents_access.folder_for_partner(request, folder_id, collaboration_id=collaboration_id)
    ticked = {v for v in request.POST.getlist("documents") if v.isdigit() and len(v) < 19}
    if len(ticked) == 1:
        document = (
            Document.objects.select_related("folder", "current_version")
            .filter(pk=int(ticked.pop()), folder=folder, deleted_at__isnull=True)
            .first()
        )
        if document is not None:
            return _start(request, folder.collaboration, document)
    messages.error(request, _("Tick exactly one document to send for e-signing."))
    return redirect(f"{folder_url(folder, 'partner')}#files")


@login_required
@require_POST
def signing_new(request: AuthedRequest, collaboration_id: int, document_id: int) -> HttpResponse:
    """A new draft for one document."""
    collaboration = access.collaboration_for_signing(request, collaboration_id)
    return _start(request, collaboration, access.document_for_signing(collaboration, document_id))


# --- The wizard: a draft's steps (parties, settings, review), Send and Delete ------------------------


def _raw_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The party rows as typed, without validating them: kept when a row or a person is added.
    Rows ticked for removal and empty rows are left out."""
    try:
        total = min(int(data.get(f"{PARTY_PREFIX}-TOTAL_FORMS", "0")), services.MAX_PARTIES + 10)
    except ValueError:
        total = 0
    rows = []
    for i in range(total):
        row = {field: str(data.get(f"{PARTY_PREFIX}-{i}-{field}", "")) for field in PARTY_FIELDS}
        if data.get(f"{PARTY_PREFIX}-{i}-DELETE") or not (row["name"].strip() or row["email"].strip()):
            continue
        rows.append(row)
    return rows


def _raw_form_initial(data: QueryDict) -> dict[str, Any]:
    return {
        "language": data.get("language", ""),
        "attachments": data.getlist("attachments"),
        "message": data.get("message", ""),
        "deadline": data.get("deadline", ""),
        "reminder_days": data.get("reminder_days", ""),
    }


def _new_row(person: selectors.Person | None) -> dict[str, Any]:
    """A row to add: blank, or filled in with a person; a signer acting first, by BankID when the
    portal has it, else by email code."""
    row: dict[str, Any] = {"role": Role.SIGNER, "method": default_method(), "order": 1}
    if person is not None:
        row |= {
            "name": person.name,
            "email": person.email,
            "mobile": person.mobile,
            "personnummer": person.personnummer,
        }
    return row


def _step_of(field: str | None) -> str:
    """The step whose page fixes a problem the service named by its field."""
    if field == "parties":
        return "signing:partner_draft_parties"
    if field in ("deadline", "reminder_days", "language", "attachments"):
        return "signing:partner_draft_settings"
    return ""


def _draft_page(
    request: AuthedRequest, signing: SigningRequest, template: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """A step's page: the draft, its document (or that it was deleted) and the steps."""
    document = signing.document
    live = document is not None and document.deleted_at is None
    context = {
        "collaboration": signing.collaboration,
        "signing": signing,
        "document": document,
        "document_gone": not live,
        "folder_url": folder_url(document.folder, "partner")
        if live and document is not None
        else reverse("signing:partner_list", args=[signing.collaboration_id]),
        "bankid": bankid_configured(),
        "tab": "signings",
        **extra,
    }
    return render(request, template, context, status=status)


def _not_a_draft(request: AuthedRequest, signing: SigningRequest) -> HttpResponse:
    """The wizard's pages of a request that was sent meanwhile (a second click, a colleague, the
    back button) lead to its page."""
    messages.info(request, _("%(title)s has been sent: this is its page.") % {"title": signing.title})
    return redirect("signing:partner_detail", signing.collaboration_id, signing.pk)


def _parties_page(
    request: AuthedRequest,
    signing: SigningRequest,
    formset: BasePartyFormSet,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    customer_people, staff_people = selectors.people_for_parties(collaboration=signing.collaboration)
    rows: list[Mapping[str, Any]] = [
        *(_raw_rows(formset.data) if formset.is_bound else formset.initial or [])
    ]
    return _draft_page(
        request,
        signing,
        "signing/partner_draft_parties.html",
        status=status,
        step="parties",
        formset=formset,
        customer_people=customer_people,
        staff_people=staff_people,
        listed_emails={str(row.get("email", "")).strip().lower() for row in rows},
        error=error,
    )


@login_required
@require_http_methods(["GET", "POST"])
def draft_parties(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    """Step 1. POST with `add_row` or `add_person`: the rows as typed and one more (not saved yet);
    any other POST saves the rows and goes on to the settings."""
    signing = access.draft_for_partner(request, collaboration_id, request_id)
    if signing.status != Status.DRAFT:
        return _not_a_draft(request, signing)
    if request.method == "GET":
        rows = party_rows(selectors.parties_of(signing=signing))
        return _parties_page(request, signing, party_formset(initial=rows))
    data = request.POST
    if "add_row" in data or "add_person" in data:
        rows = _raw_rows(data)
        person = None
        if data.get("add_person", "").isdigit():
            customers, staff = selectors.people_for_parties(collaboration=signing.collaboration)
            person = next((p for p in [*customers, *staff] if p.user_id == int(data["add_person"])), None)
        known = {r["email"].strip().lower() for r in rows}
        if "add_row" in data or (person is not None and person.email.lower() not in known):
            rows.append(_new_row(person))
        return _parties_page(request, signing, party_formset(initial=rows))
    formset = party_formset(data)
    if not formset.is_valid():
        return _parties_page(request, signing, formset, status=422)
    try:
        services.draft_update(draft=signing, actor=request.user, parties=formset.parties())
    except ServiceError as error:
        return _parties_page(request, signing, formset, status=422, error=error.message)
    return redirect("signing:partner_draft_settings", signing.collaboration_id, signing.pk)


def _settings_page(
    request: AuthedRequest, signing: SigningRequest, form: SigningForm, *, status: int = 200
) -> HttpResponse:
    return _draft_page(
        request, signing, "signing/partner_draft_settings.html", status=status, step="settings", form=form
    )


def _candidates(request: AuthedRequest, signing: SigningRequest) -> list[Document]:
    if signing.document is None:
        return []
    return selectors.attachment_candidates(collaboration=signing.collaboration, document=signing.document)


@login_required
@require_http_methods(["GET", "POST"])
def draft_settings(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    """Step 2: message, language, deadline, reminders and attachments. POST with
    `upload_attachment`: store the PDF in the document's folder and tick it (not saved yet); any
    other POST saves and goes on to the review."""
    signing = access.draft_for_partner(request, collaboration_id, request_id)
    if signing.status != Status.DRAFT:
        return _not_a_draft(request, signing)
    candidates = _candidates(request, signing)
    if request.method == "GET":
        attached = [
            a.version.document_id for a in selectors.attachments_of(signing=signing) if a.version is not None
        ]
        form = SigningForm(initial=details_initial(signing, attached), attachment_choices=candidates)
        return _settings_page(request, signing, form)
    if "upload_attachment" in request.POST:
        return _upload_attachment(request, signing)
    form = SigningForm(request.POST, attachment_choices=candidates)
    if not form.is_valid():
        return _settings_page(request, signing, form, status=422)
    try:
        services.draft_update(draft=signing, actor=request.user, details=form.to_details())
    except ServiceError as error:
        error.add_to(form)
        return _settings_page(request, signing, form, status=422)
    return redirect("signing:partner_draft_review", signing.collaboration_id, signing.pk)


def _upload_attachment(request: AuthedRequest, signing: SigningRequest) -> HttpResponse:
    """Store an uploaded PDF in the document's folder (a document like any other, counted in
    storage) and show the form again with it ticked. A file that cannot be signed is refused
    with the reason, and nothing is stored."""
    initial = _raw_form_initial(request.POST)
    upload = request.FILES.get("new_attachment")
    document = signing.document
    status = 200
    if document is None or document.deleted_at is not None:
        messages.error(request, _("The document of this draft was deleted, so it cannot be sent."))
        status = 422
    elif upload is None:
        messages.error(request, _("Choose a PDF to upload first."))
        status = 422
    else:
        try:
            pdfcheck.check_pdf(upload, name=upload.name or "")  # type: ignore[arg-type]  # reads like a file
            upload.seek(0)
            version = documents_services.document_upload(
                folder=document.folder,
                actor=request.user,
                name=upload.name or "attachment.pdf",
                chunks=upload.chunks(),
                by_customer=False,
            )
        except ServiceError as refusal:
            messages.error(request, refusal.message)
            status = 422
        else:
            initial["attachments"] = [*initial["attachments"], str(version.document_id)]
            messages.success(
                request, _("%(name)s was uploaded and attached.") % {"name": version.document.name}
            )
    form = SigningForm(initial=initial, attachment_choices=_candidates(request, signing))
    return _settings_page(request, signing, form, status=status)


def _review_page(
    request: AuthedRequest, signing: SigningRequest, *, error: str = "", balance_empty: bool = False
) -> HttpResponse:
    problem = None if error else services.draft_problem(draft=signing)
    partner = Partner.objects.only("signature_balance").get(pk=signing.collaboration.partner_id)
    document = signing.document
    return _draft_page(
        request,
        signing,
        "signing/partner_review.html",
        status=422 if error else 200,
        step="review",
        parties=selectors.parties_of(signing=signing),
        attachments=selectors.attachments_of(signing=signing),
        balance=partner.signature_balance,
        error=error,
        balance_empty=balance_empty,
        problem=problem.message if problem is not None else "",
        problem_url=reverse(_step_of(problem.field), args=[signing.collaboration_id, signing.pk])
        if problem is not None and _step_of(problem.field)
        else "",
        # What the sender looked at: a newer version arriving before Send refuses it.
        version_id=document.current_version_id if document is not None else None,
        planned=prepare.planned(signing=signing),  # what Send will change in the files
    )


@login_required
@require_GET
def draft_review(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    """Step 3: everything as it will be sent, what still stops it, the balance, and Send."""
    signing = access.draft_for_partner(request, collaboration_id, request_id)
    if signing.status != Status.DRAFT:
        return _not_a_draft(request, signing)
    return _review_page(request, signing)


@login_required
@require_POST
def draft_send(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    signing = access.draft_for_partner(request, collaboration_id, request_id)
    if signing.status != Status.DRAFT:
        return _not_a_draft(request, signing)
    raw = request.POST.get("version", "")
    version_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
    try:
        sent = services.draft_send(draft=signing, actor=request.user, version_id=version_id)
    except BalanceEmpty as empty:
        return _review_page(request, signing, error=empty.message, balance_empty=True)
    except ServiceError as error:
        return _review_page(request, signing, error=error.message)
    messages.success(request, _("%(title)s was sent for signing.") % {"title": sent.title})
    return redirect("signing:partner_detail", collaboration_id, sent.pk)


@login_required
@require_http_methods(["GET", "POST"])
def draft_delete(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    """GET: are you sure? POST: the draft is deleted."""
    signing = access.draft_for_partner(request, collaboration_id, request_id)
    if signing.status != Status.DRAFT:
        return _not_a_draft(request, signing)
    if request.method == "GET":
        return _draft_page(request, signing, "signing/partner_draft_delete.html", step="delete")
    try:
        services.draft_delete(draft=signing, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("signing:partner_detail", collaboration_id, signing.pk)
    messages.success(request, _("The draft of %(title)s was deleted.") % {"title": signing.title})
    return redirect("signing:partner_list", collaboration_id)


@login_required
@require_POST
def signing_send_again(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    """A finished request's "Send again": a new draft like it, opened at its first step."""
    collaboration = access.collaboration_for_signing(request, collaboration_id)
    signing = access.signing_for_partner(collaboration, request_id)
    signing.collaboration = collaboration
    try:
        draft = services.draft_send_again(signing=signing, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("signing:partner_detail", collaboration_id, signing.pk)
    messages.success(
        request, _("A new draft was made from %(title)s: check it and send.") % {"title": signing.title}
    )
    return redirect("signing:partner_draft_parties", collaboration_id, draft.pk)


# --- Signeringar: the customer's requests and one request ---------------------------------------


# The filter above Signeringar: (value of ?status=, label); "" is all of them.


@login_required
@require_GET
def signing_list(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_signing(request, collaboration_id)
    status = request.GET.get("status", "")
    status = status if status in selectors.PARTNER_STATUSES else ""  # an unknown filter shows them all
    signings = selectors.signings_for_collaboration(collaboration=collaboration, status=status)
    page = Paginator(signings, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "signing/partner_list.html",
        {
            "collaboration": collaboration,
            "page": page,
            "tab": "signings",
            "status": status,
            "filters": status_filters(drafts=True),
        },
    )


@login_required
@require_POST
def attention_dismiss(request: AuthedRequest, collaboration_id: int, kind: str) -> HttpResponse:
    """A declined or expired badge's dismiss button on Mina samarbeten; back to the list's page."""
    collaboration = access.collaboration_for_signing(request, collaboration_id)
    if kind not in AttentionKind.values:
        raise Http404
    form = AttentionDismissForm(request.POST)
    form.is_valid()  # either field may be missing or bad: now, and the list's first page
    services.attention_dismiss(
        user=request.user, collaboration=collaboration, kind=kind, until=form.cleaned_data.get("until")
    )
    if kind == AttentionKind.DECLINED:
        text = _("The declined signings of %(name)s are dismissed for you; a new decline shows again.")
    else:
        text = _("The expired signings of %(name)s are dismissed for you; a new expiry shows again.")
    messages.success(request, text % {"name": collaboration.customer.name})
    return redirect(form.cleaned_data.get("next") or "customers:customer_list")


def _party_state(party: Party, signing: SigningRequest, turn: int | None) -> tuple[str, str]:
    """(text, badge class) for a party's line on the request page."""
    if party.action:
        label = {
            "signed": _("Signed"),
            "approved": _("Approved"),
            "declined": _("Declined"),
        }.get(party.action, party.action)
        return label, "warn" if party.action == "declined" else "ok"
    if not party.must_act:
        if party.sealed_sent_at is not None:
            return _("Copy sent"), "ok"
        return _("Gets a copy when everyone has signed"), "muted"
    if signing.status != Status.PENDING:
        return _("Did not answer"), "muted"
    if party.locked_at is not None:
        return _("Link locked after too many wrong codes"), "alert"
    if party.order == turn:
        return _("Their turn"), "warn"
    return _("Waiting for earlier parties"), "muted"


@login_required
@require_GET
def signing_detail(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_signing(request, collaboration_id)
    signing = access.signing_for_partner(collaboration, request_id)
    signing.collaboration = collaboration
    if signing.status == Status.DRAFT:
        return redirect("signing:partner_draft_review", collaboration.pk, signing.pk)
    return _detail_page(request, signing)


def _detail_page(
    request: AuthedRequest, signing: SigningRequest, fixes: _Fixes | None = None
) -> HttpResponse:
    """The request's page; with `fixes`, a fixing form posted with errors, shown again (422)."""
    collaboration = signing.collaboration
    parties = selectors.parties_of(signing=signing)
    turn = selectors.current_order_of(parties)
    events: list[Event] = selectors.timeline_of(signing=signing)
    party_fixes, fixing = _fixing_context(signing, parties, turn, fixes or _Fixes())
    sealed_url = ""
    if signing.sealed_version is not None:
        sealed_url = reverse("documents:document_detail", args=[signing.sealed_version.document_id])
    return render(
        request,
        "signing/partner_detail.html",
        {
            "collaboration": collaboration,
            "signing": signing,
            "parties": [(p, *_party_state(p, signing, turn), party_fixes[p.pk]) for p in parties],
            **fixing,
            "timeline": [(e, selectors.describe_event(e)) for e in events],
            "sealed_url": sealed_url,
            "document_url": ""
            if signing.document is None or signing.document.deleted_at
            else reverse("documents:document_detail", args=[signing.document_id]),
            "can_cancel": access.may_cancel(request, signing),
            "can_send_again": signing.status in services.FINISHED,
            # The sender (or an account administrator) may give a party who has not answered a new
            # link: the same right as cancelling.
            "tab": "signings",
        },
        status=422 if fixes else 200,
    )


@login_required
@require_POST
def signing_cancel(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    signing = access.signing_for_cancel(request, collaboration_id, request_id)
    try:
        services.signing_cancel(signing=signing, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        if Event.objects.filter(request=signing, kind="refunded").exists():
            messages.success(request, _("The signing was cancelled and the signature refunded."))
        else:
            messages.success(request, _("The signing was cancelled."))
    return redirect("signing:partner_detail", collaboration_id, signing.pk)


@login_required
@require_POST
def party_revoke(
    request: AuthedRequest, collaboration_id: int, request_id: int, party_id: int
) -> HttpResponse:
    """The old personal link stops working and the party gets a new one (same right as cancelling:
    404 for who may not see the request, 403 for who may see it but not change it)."""
    signing = access.signing_for_cancel(request, collaboration_id, request_id)
    party = get_object_or_404(Party, pk=party_id, request=signing)
    try:
        services.party_link_revoke(party=party, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        if party.notified_at is not None:
            messages.success(request, _("%(name)s was sent a new link.") % {"name": party.name})
        else:
            messages.success(
                request,
                _("%(name)s's old link no longer works; the new one is sent when it is their turn.")
                % {"name": party.name},
            )
    return redirect("signing:partner_detail", collaboration_id, signing.pk)


# --- Fixing a sent signing: on its page, for anyone who may start one ------------------------------
# Remind a party now, change a party's name or email, add or remove a party, extend the deadline.
# access.signing_for_fixing answers 404 to anyone who may not see the request; the services say
# why a fix cannot be made (no longer pending, someone signed, the party answered, ...).


@dataclass
class _PartyFix:
    """What a party's line on the page offers (the services decide again)."""

    remind: bool
    reminded_at: datetime | None  # reminded within the hour: when (the button waits)
    change: PartyChangeForm | None
    change_open: bool
    remove: bool


@dataclass
class _Fixes:
    """One fixing form posted with errors, shown again open on the page (422)."""

    change: tuple[int, PartyChangeForm] | None = None
    add: PartyAddForm | None = None
    deadline: DeadlineForm | None = None


def _change_prefix(party: Party) -> str:
    return f"party-{party.pk}"


def _fixing_context(
    signing: SigningRequest, parties: list[Party], turn: int | None, fixes: _Fixes
) -> tuple[dict[int, _PartyFix], dict[str, Any]]:
    """Each party's fixes, and the page's own (add a party, extend the deadline)."""
    fixing = signing.status == Status.PENDING
    may_add_remove = fixing and not any(p.action in ("signed", "approved") for p in parties)
    signers = sum(1 for p in parties if p.role == Role.SIGNER)
    now = timezone.now()
    rows = {}
    for p in parties:
        recent = selectors.reminded_recently(p, now=now)
        is_open = fixes.change is not None and fixes.change[0] == p.pk
        change = None
        if fixing and p.acted_at is None:
            change = (
                fixes.change[1]
                if fixes.change is not None and is_open
                else PartyChangeForm(initial={"name": p.name, "email": p.email}, prefix=_change_prefix(p))
            )
        rows[p.pk] = _PartyFix(
            remind=fixing
            and p.must_act
            and p.acted_at is None
            and p.order == turn
            and p.locked_at is None
            and signing.deadline > now
            and not recent,
            reminded_at=p.reminded_at if recent else None,
            change=change,
            change_open=is_open,
            remove=may_add_remove and not (p.role == Role.SIGNER and signers == 1),
        )
    later = timezone.localdate(max(signing.deadline, now)) + dt.timedelta(days=7)
    page = {
        "fixing": fixing,
        "bankid": bankid_configured(),
        "add_form": (fixes.add or PartyAddForm(prefix="add", initial={"order": turn or 1}))
        if may_add_remove
        else None,
        "deadline_form": (fixes.deadline or DeadlineForm(prefix="deadline", initial={"deadline": later}))
        if fixing
        else None,
    }
    return rows, page


def _back(signing: SigningRequest) -> HttpResponse:
    return redirect("signing:partner_detail", signing.collaboration_id, signing.pk)


def _on_form(request: AuthedRequest, form: forms.Form, error: ServiceError) -> bool:
    """A refusal about what was typed goes on the form, shown again (returns True); any other is
    about the request as it is now (someone signed, the party answered): the page, fresh, says it."""
    if error.field is None:
        messages.error(request, error.message)
        return False
    error.add_to(form)
    return True


@login_required
@require_POST
def party_remind(
    request: AuthedRequest, collaboration_id: int, request_id: int, party_id: int
) -> HttpResponse:
    party = access.party_for_fixing(request, collaboration_id, request_id, party_id)
    try:
        services.party_remind(party=party, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s was sent a reminder.") % {"name": party.name})
    return _back(party.request)


@login_required
@require_POST
def party_change(
    request: AuthedRequest, collaboration_id: int, request_id: int, party_id: int
) -> HttpResponse:
    party = access.party_for_fixing(request, collaboration_id, request_id, party_id)
    form = PartyChangeForm(request.POST, prefix=_change_prefix(party))
    if form.is_valid():
        try:
            changed = services.party_change(party=party, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            if not _on_form(request, form, error):
                return _back(party.request)
        else:
            if changed.notified_at is not None:
                text = _("%(name)s was changed and sent a new link at %(email)s.")
            else:
                text = _("%(name)s was changed; they get their link at %(email)s when it is their turn.")
            messages.success(request, text % {"name": changed.name, "email": changed.email})
            return _back(party.request)
    return _detail_page(request, party.request, _Fixes(change=(party.pk, form)))


@login_required
@require_POST
def party_add(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    signing = access.signing_for_fixing(request, collaboration_id, request_id)
    form = PartyAddForm(request.POST, prefix="add")
    if form.is_valid():
        try:
            added = services.party_add(signing=signing, actor=request.user, party=form.to_input())
        except ServiceError as error:
            if not _on_form(request, form, error):
                return _back(signing)
        else:
            if added.notified_at is not None:
                text = _("%(name)s was added and sent the link.")
            else:
                text = _("%(name)s was added.")
            messages.success(request, text % {"name": added.name})
            return _back(signing)
    return _detail_page(request, signing, _Fixes(add=form))


@login_required
@require_POST
def party_remove(
    request: AuthedRequest, collaboration_id: int, request_id: int, party_id: int
) -> HttpResponse:
    party = access.party_for_fixing(request, collaboration_id, request_id, party_id)
    try:
        services.party_remove(party=party, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s was removed from the signing.") % {"name": party.name})
    return _back(party.request)


@login_required
@require_POST
def deadline_extend(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    signing = access.signing_for_fixing(request, collaboration_id, request_id)
    form = DeadlineForm(request.POST, prefix="deadline")
    if form.is_valid():
        try:
            services.signing_extend_deadline(signing=signing, actor=request.user, deadline=form.deadline_at())
        except ServiceError as error:
            if not _on_form(request, form, error):
                return _back(signing)
        else:
            messages.success(request, _("The deadline was extended."))
            return _back(signing)
    return _detail_page(request, signing, _Fixes(deadline=form))
