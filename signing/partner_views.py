"""Partner side of e-signing: Mina samarbeten / customer / Signeringar, and the send wizard.

Who may see the customer on the partner side may use all of it (signing.access decides; 404 for
anyone else). The wizard keeps no server state: one page with every section, then a review page
that carries the answers in hidden fields, then Send. Adding a row or a known person is a submit
button, so it all works without JavaScript.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.services import BalanceEmpty
from customers.models import Collaboration
from documents import access as documents_access
from documents import services as documents_services
from documents.models import Document
from partners.models import Partner
from portal.context import AuthedRequest
from portal.errors import ServiceError
from signing import access, pdfcheck, selectors, services
from signing.forms import PARTY_FIELDS, PARTY_PREFIX, BasePartyFormSet, SigningForm, party_formset
from signing.methods import bankid_configured, default_method
from signing.models import Event, Language, Method, Party, Role, SigningRequest, Status


def _folder_url(document: Document) -> str:
    return reverse("documents:partner_folder", args=[document.folder.collaboration_id, document.folder_id])


# --- Start: the bulk bar's "Send for e-signing" ------------------------------------------------


@login_required
@require_POST
def signing_start(request: AuthedRequest, collaboration_id: int, folder_id: int) -> HttpResponse:
    """The folder's file list posts its ticked documents here (the button's formaction): exactly one
    goes on to the wizard, which says why a file cannot be signed; anything else goes back."""
    folder = documents_access.folder_for_partner(
        request.user, folder_id, collaboration_id=collaboration_id, orgs=request.org
    )
    ticked = {v for v in request.POST.getlist("documents") if v.isdigit() and len(v) < 19}
    if len(ticked) == 1:
        document = Document.objects.filter(
            pk=int(ticked.pop()), folder=folder, deleted_at__isnull=True
        ).first()
        if document is not None:
            return redirect("signing:partner_new", folder.collaboration_id, document.pk)
    messages.error(request, _("Tick exactly one document to send for e-signing."))
    url = reverse("documents:partner_folder", args=[folder.collaboration_id, folder.pk])
    return redirect(f"{url}#files")


# --- The wizard ---------------------------------------------------------------------------------


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
        "send_key": data.get("send_key", ""),
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


class _Wizard:
    """What the wizard's pages need, read once per request."""

    def __init__(self, request: AuthedRequest, collaboration: Collaboration, document: Document) -> None:
        self.request = request
        self.collaboration = collaboration
        self.document = document
        self.candidates = selectors.attachment_candidates(
            user=request.user, collaboration=collaboration, document=document
        )
        self.customer_people, self.staff_people = selectors.people_for_parties(
            user=request.user, collaboration=collaboration
        )

    def person(self, raw: str) -> selectors.Person | None:
        if not raw.isdigit():
            return None
        return next((p for p in [*self.customer_people, *self.staff_people] if p.user_id == int(raw)), None)

    def render(
        self,
        template: str,
        form: SigningForm,
        formset: BasePartyFormSet,
        *,
        status: int = 200,
        **extra: Any,
    ) -> HttpResponse:
        rows: list[Mapping[str, Any]] = [
            *(_raw_rows(formset.data) if formset.is_bound else formset.initial or [])
        ]
        listed = {str(row.get("email", "")).strip().lower() for row in rows}
        context = {
            "collaboration": self.collaboration,
            "document": self.document,
            "folder_url": _folder_url(self.document),
            "form": form,
            "formset": formset,
            "customer_people": self.customer_people,
            "staff_people": self.staff_people,
            "listed_emails": listed,
            "bankid": bankid_configured(),
            "tab": "signings",
            "nav": "customers",
            **extra,
        }
        return render(self.request, template, context, status=status)

    def edit_page(self, form: SigningForm, formset: BasePartyFormSet, status: int = 200) -> HttpResponse:
        return self.render("signing/partner_new.html", form, formset, status=status)

    def review_page(
        self, form: SigningForm, formset: BasePartyFormSet, *, error: str = "", balance_empty: bool = False
    ) -> HttpResponse:
        partner = Partner.objects.only("signature_balance").get(pk=self.collaboration.partner_id)
        return self.render(
            "signing/partner_review.html",
            form,
            formset,
            status=422 if error else 200,
            parties=[(p, Role(p.role).label, Method(p.method).label) for p in formset.parties()],
            language=Language(form.cleaned_data["language"]).label,
            attachments=form.chosen_attachments(),
            balance=partner.signature_balance,
            error=error,
            balance_empty=balance_empty,
        )


@login_required
@require_http_methods(["GET", "POST"])
def signing_new(request: AuthedRequest, collaboration_id: int, document_id: int) -> HttpResponse:
    """GET: check the file, then the form. POST with `add_row` or `add_person`: the form again with
    one more row. POST step=review: the review page; step=edit: back to the form; step=send: send."""
    collaboration = access.collaboration_for_signing(request, collaboration_id)
    document = access.document_for_signing(collaboration, document_id)
    wizard = _Wizard(request, collaboration, document)
    if request.method == "GET":
        refusal = selectors.signable_refusal(document)
        if refusal:
            return render(
                request,
                "signing/partner_refused.html",
                {
                    "collaboration": collaboration,
                    "document": document,
                    "reason": refusal,
                    "folder_url": _folder_url(document),
                    "tab": "signings",
                    "nav": "customers",
                },
                status=422,
            )
        form = SigningForm(initial={"send_key": uuid.uuid4().hex}, attachment_choices=wizard.candidates)
        return wizard.edit_page(form, party_formset())

    data = request.POST
    if "upload_attachment" in data:
        return _upload_attachment(request, wizard)
    if "add_row" in data or "add_person" in data:
        rows = _raw_rows(data)
        person = wizard.person(data.get("add_person", ""))
        known = {r["email"].strip().lower() for r in rows}
        if "add_row" in data or (person is not None and person.email.lower() not in known):
            rows.append(_new_row(person))
        form = SigningForm(initial=_raw_form_initial(data), attachment_choices=wizard.candidates)
        formset = party_formset(initial=rows)
        return wizard.edit_page(form, formset)

    form = SigningForm(data, attachment_choices=wizard.candidates)
    formset = party_formset(data)
    valid = [form.is_valid(), formset.is_valid()]  # both, so that every error shows at once
    if not all(valid):
        return wizard.edit_page(form, formset, status=422)
    step = data.get("step")
    if step == "review":
        return wizard.review_page(form, formset)
    if step != "send":
        return wizard.edit_page(form, formset)
    try:
        signing = services.signing_send(
            collaboration=collaboration,
            actor=request.user,
            document=document,
            parties=formset.parties(),
            deadline=form.deadline_at(),
            language=form.cleaned_data["language"],
            message=form.cleaned_data["message"],
            reminder_days=form.cleaned_data["reminder_days"],
            attachments=form.chosen_attachments(),
            send_key=form.cleaned_data["send_key"],
        )
    except BalanceEmpty as empty:
        return wizard.review_page(form, formset, error=empty.message, balance_empty=True)
    except ServiceError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return wizard.edit_page(form, formset, status=422)
    messages.success(request, _("%(title)s was sent for signing.") % {"title": signing.title})
    return redirect("signing:partner_detail", collaboration.pk, signing.pk)


def _upload_attachment(request: AuthedRequest, wizard: _Wizard) -> HttpResponse:
    """Store an uploaded PDF in the document's folder (a document like any other, counted in
    storage) and show the form again with it ticked. A file that cannot be signed is refused
    with the reason, and nothing is stored."""
    data = request.POST
    initial = _raw_form_initial(data)
    rows = _raw_rows(data)
    upload = request.FILES.get("new_attachment")
    status = 200
    if upload is None:
        messages.error(request, _("Choose a PDF to upload first."))
        status = 422
    else:
        try:
            pdfcheck.check_pdf(upload, name=upload.name or "")  # type: ignore[arg-type]  # reads like a file
            upload.seek(0)
            version = documents_services.document_upload(
                folder=wizard.document.folder,
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
            wizard = _Wizard(request, wizard.collaboration, wizard.document)
    form = SigningForm(initial=initial, attachment_choices=wizard.candidates)
    return wizard.edit_page(form, party_formset(initial=rows), status=status)


# --- Signeringar: the customer's requests and one request ---------------------------------------


@login_required
@require_GET
def signing_list(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.collaboration_for_signing(request, collaboration_id)
    signings = selectors.signings_for_collaboration(user=request.user, collaboration=collaboration)
    page = Paginator(signings, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "signing/partner_list.html",
        {"collaboration": collaboration, "page": page, "tab": "signings", "nav": "customers"},
    )


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
    parties = selectors.parties_of(user=request.user, signing=signing)
    turn = selectors.current_order_of(parties)
    events: list[Event] = selectors.timeline_of(user=request.user, signing=signing)
    sealed_url = ""
    if signing.sealed_version is not None:
        sealed_url = reverse("documents:document_detail", args=[signing.sealed_version.document_id])
    return render(
        request,
        "signing/partner_detail.html",
        {
            "collaboration": collaboration,
            "signing": signing,
            "parties": [(p, *_party_state(p, signing, turn)) for p in parties],
            "timeline": [(e, services.describe_event(e)) for e in events],
            "sealed_url": sealed_url,
            "document_url": ""
            if signing.document is None or signing.document.deleted_at
            else reverse("documents:document_detail", args=[signing.document_id]),
            "can_cancel": access.may_cancel(request, signing),
            # The sender (or an account administrator) may give a party who has not answered a new
            # link: the same right as cancelling.
            "tab": "signings",
            "nav": "customers",
        },
    )


@login_required
@require_POST
def signing_cancel(request: AuthedRequest, collaboration_id: int, request_id: int) -> HttpResponse:
    signing = access.signing_for_cancel(request, collaboration_id, request_id)
    try:
        services.signing_cancel(request=signing, actor=request.user)
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
