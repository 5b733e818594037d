"""The send-for-signing wizard: its parties (a formset) and the rest of the request.

The forms check what a person can fix in the form (a party without an email, the same email
twice, a deadline in the past) so each step shows it at once; signing.services.draft_update and
draft_send check everything again and are the authority.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from documents.models import Document
from portal.validators import normalize_personnummer
from signing.deadlines import DEFAULT_DEADLINE_DAYS, deadline_end_of
from signing.methods import default_method, method_choices
from signing.models import Language, Method, Party, Role, SigningRequest, Status
from signing.services import MAX_PARTIES, DraftDetails, PartyInput

PARTY_PREFIX = "parties"
PARTY_FIELDS = ("name", "email", "mobile", "personnummer", "role", "method", "order")


def default_deadline() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=DEFAULT_DEADLINE_DAYS)


class PartyForm(forms.Form):
    """One row of the parties table. A row with neither name nor email is left out."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    mobile = forms.CharField(label=_("Mobile"), max_length=30, required=False)
    personnummer = forms.CharField(label=_("Personal identity number"), max_length=13, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.SIGNER)
    method = forms.ChoiceField(label=_("Signing method"), choices=Method.choices, initial=Method.EMAIL_CODE)
    order = forms.IntegerField(
        label=_("Order"),
        min_value=1,
        max_value=99,
        initial=1,
        help_text=_("Equal numbers act at the same time."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # BankID is offered, and chosen for a new row, only when the portal is configured for it.
        method = self.fields["method"]
        assert isinstance(method, forms.ChoiceField)
        method.choices = method_choices()
        method.initial = default_method()

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_personnummer(self) -> str:
        value = self.cleaned_data["personnummer"].strip()
        return normalize_personnummer(value) if value else ""

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name, email = data.get("name"), data.get("email")
        if name and not email and "email" not in self.errors:
            self.add_error("email", _("%(name)s has no email address.") % {"name": name})
        if email and not name and "name" not in self.errors:
            self.add_error(
                "name", _("Enter the name of the party with the address %(email)s.") % {"email": email}
            )
        return data

    @property
    def is_filled(self) -> bool:
        """Whether the row is a party (its fields valid and named); call after the formset is valid."""
        return bool(self.cleaned_data.get("email")) and not self.cleaned_data.get("DELETE")

    def to_input(self) -> PartyInput:
        data = self.cleaned_data
        return PartyInput(
            name=data["name"],
            email=data["email"],
            role=data["role"],
            method=data["method"],
            order=data["order"],
            mobile=data["mobile"].strip(),
            personnummer=data["personnummer"].strip(),
        )


class BasePartyFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        filled = self.filled_forms()
        if not filled:
            raise ValidationError(_("Add at least one party."), code="empty")
        if len(filled) > MAX_PARTIES:
            raise ValidationError(_("At most %(n)d parties.") % {"n": MAX_PARTIES}, code="too_many")
        seen: set[str] = set()
        for form in filled:
            email = form.cleaned_data["email"]
            if email in seen:
                form.add_error("email", _("%(email)s is given for two parties.") % {"email": email})
            seen.add(email)
        if any(form.errors for form in filled):
            raise ValidationError(_("Each party needs its own email address."), code="duplicate")
        if not any(form.cleaned_data["role"] == Role.SIGNER for form in filled):
            raise ValidationError(_("At least one party must sign."), code="no_signer")

    def filled_forms(self) -> list[PartyForm]:
        return [form for form in self.forms if isinstance(form, PartyForm) and form.is_filled]

    def parties(self) -> list[PartyInput]:
        return [form.to_input() for form in self.filled_forms()]


PartyFormSet = formset_factory(
    PartyForm,
    formset=BasePartyFormSet,
    extra=1,
    can_delete=True,
    max_num=MAX_PARTIES,
    absolute_max=MAX_PARTIES + 10,
)


def party_formset(
    data: Mapping[str, Any] | None = None, *, initial: list[dict[str, Any]] | None = None
) -> BasePartyFormSet:
    return cast(BasePartyFormSet, PartyFormSet(data, initial=initial, prefix=PARTY_PREFIX))


class DeadlineMixin:
    """A form's `deadline` day: not in the past, and meant to its end (the party may sign all that
    day, in the portal's time zone). The wizard's settings step and the extend form share it."""

    cleaned_data: dict[str, Any]

    def clean_deadline(self) -> dt.date:
        deadline: dt.date = self.cleaned_data["deadline"]
        if deadline < timezone.localdate():
            raise ValidationError(_("The deadline must be in the future."), code="past")
        return deadline

    def deadline_at(self) -> dt.datetime:
        return deadline_end_of(self.cleaned_data["deadline"])


class SigningForm(DeadlineMixin, forms.Form):
    """Everything of the request but its parties."""

    language = forms.ChoiceField(
        label=_("Language of the emails and the signing pages"),
        choices=Language.choices,
        initial=Language.SWEDISH,
    )
    attachments = forms.TypedMultipleChoiceField(
        label=_("Attachments"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Other PDFs of the customer that go with the document."),
    )
    message = forms.CharField(
        label=_("Message to the parties"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    deadline = forms.DateField(
        label=_("Last day to sign"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        initial=default_deadline,
    )
    reminder_days = forms.IntegerField(
        label=_("Send a reminder every (days)"),
        required=False,
        min_value=1,
        max_value=30,
        help_text=_("Leave empty for no reminders."),
    )

    def __init__(self, *args: Any, attachment_choices: list[Document], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attachment_documents = {d.pk: d for d in attachment_choices}
        field = self.fields["attachments"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(d.pk, f"{d.name} ({d.folder.name})") for d in attachment_choices]

    def chosen_attachments(self) -> list[Document]:
        return [self.attachment_documents[pk] for pk in self.cleaned_data["attachments"]]

    def to_details(self) -> DraftDetails:
        data = self.cleaned_data
        return DraftDetails(
            deadline=self.deadline_at(),
            language=data["language"],
            message=data["message"],
            reminder_days=data["reminder_days"],
            attachments=self.chosen_attachments(),
        )


def details_initial(draft: SigningRequest, attachment_ids: list[int]) -> dict[str, Any]:
    """The settings step's fields as the draft has them."""
    return {
        "language": draft.language,
        "message": draft.message,
        "deadline": timezone.localdate(draft.deadline),
        "reminder_days": draft.reminder_days,
        "attachments": attachment_ids,
    }


def party_rows(parties: list[Party]) -> list[dict[str, Any]]:
    """The parties step's rows as the draft has them."""
    return [{field: getattr(p, field) for field in PARTY_FIELDS} for p in parties]


class AttentionDismissForm(forms.Form):
    """A badge's dismiss button on Mina samarbeten: when the newest signing it counted finished,
    and the page of the list to go back to. Both optional: a bad value falls back to now and to
    the list's first page."""

    until = forms.DateTimeField(required=False)
    next = forms.CharField(max_length=2000, required=False)

    def clean_next(self) -> str:
        """A path on this site, or "" (never another host)."""
        url = str(self.cleaned_data["next"])
        if not url.startswith("/") or url.startswith("//") or "\\" in url:
            return ""
        return url if url_has_allowed_host_and_scheme(url, allowed_hosts=None) else ""


def status_filters(*, drafts: bool) -> list[tuple[str, str]]:
    """The Signeringar lists' status filter: (value, label), "" for all; drafts only for the firm."""
    shown = [Status.PENDING, Status.COMPLETED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED]
    labels = {
        Status.DRAFT: gettext("Drafts"),
        Status.PENDING: gettext("Waiting"),
        Status.COMPLETED: gettext("Signed"),
        Status.DECLINED: gettext("Declined"),
        Status.CANCELLED: gettext("Cancelled"),
        Status.EXPIRED: gettext("Expired"),
    }
    return [("", gettext("All")), *((str(s), labels[s]) for s in ([Status.DRAFT] if drafts else []) + shown)]
