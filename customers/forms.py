"""Customers' forms: creating and inviting a customer, its users, staff assignment, answering an
invitation and ending a collaboration."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from customers.services import NewCustomerUser
from portal.models import Language
from portal.validators import normalize_orgnr, normalize_personnummer


class OrgNumberField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Organisation number"))
        kwargs.setdefault("max_length", 13)
        kwargs.setdefault("help_text", _("Ten digits, e.g. 556036-0793."))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        return normalize_orgnr(super().clean(value))


class PersonnummerField(forms.CharField):
    """Optional; normalised to the 12 digits BankID uses (portal.validators, as in My account)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Personal identity number"))
        kwargs.setdefault("max_length", 13)
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Optional. YYYYMMDD-NNNN, lets the person log in with BankID."))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = (super().clean(value) or "").strip()
        return normalize_personnummer(value) if value else ""


class CustomerUserForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"))
    personnummer = PersonnummerField()
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, initial=Language.SWEDISH)
    send_welcome = forms.BooleanField(label=_("Send welcome email"), required=False, initial=True)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def to_spec(self) -> NewCustomerUser:
        data = self.cleaned_data
        return NewCustomerUser(
            name=data["name"],
            email=data["email"],
            language=data["language"],
            send_welcome=data["send_welcome"],
            personnummer=data["personnummer"],
        )


class ExtraUserForm(CustomerUserForm):
    """A row of the "more users" table: may be left empty."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["email"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("email") and not data.get("name"):
            self.add_error("name", _("Enter the person's name."))
        if data.get("name") and not data.get("email") and "email" not in self.errors:
            self.add_error("email", _("Enter the person's email address."))
        return data

    @property
    def is_filled(self) -> bool:
        return bool(self.is_valid() and self.cleaned_data.get("email"))


class BaseExtraUserFormSet(forms.BaseFormSet):
    def specs(self) -> list[NewCustomerUser]:
        return [form.to_spec() for form in self.forms if form.is_filled]


ExtraUserFormSet = formset_factory(ExtraUserForm, formset=BaseExtraUserFormSet, extra=2, max_num=50)


class DocumentsCustomerForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)
    org_number = OrgNumberField()
    contact_name = forms.CharField(label=_("Name"), max_length=200)
    contact_email = forms.EmailField(label=_("Email"))
    contact_personnummer = PersonnummerField()
    contact_language = forms.ChoiceField(
        label=_("Language"), choices=Language.choices, initial=Language.SWEDISH
    )
    contact_send_welcome = forms.BooleanField(label=_("Send welcome email"), required=False, initial=True)

    def primary_contact(self) -> NewCustomerUser:
        data = self.cleaned_data
        return NewCustomerUser(
            name=data["contact_name"],
            email=data["contact_email"].strip().lower(),
            language=data["contact_language"],
            send_welcome=data["contact_send_welcome"],
            personnummer=data["contact_personnummer"],
        )


def check_unique_emails(form: DocumentsCustomerForm, formset: BaseExtraUserFormSet) -> bool:
    """Mark every repeated email in the create form; True when all are distinct."""
    seen = {form.cleaned_data["contact_email"].strip().lower()}
    ok = True
    for row in formset.forms:
        email = row.cleaned_data.get("email") if row.is_valid() else None
        if not email:
            continue
        if email in seen:
            row.add_error(
                "email", ValidationError(_("This email address is already in the form."), code="duplicate")
            )
            ok = False
        seen.add(email)
    return ok


class CustomerInviteForm(forms.Form):
    org_number = OrgNumberField()
    email = forms.EmailField(label=_("Email of the customer's administrator"))


class StaffAssignmentForm(forms.Form):
    staff = forms.TypedMultipleChoiceField(
        label=_("Assigned staff"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["staff"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = choices


class CustomerUserAddForm(CustomerUserForm):
    is_admin = forms.BooleanField(label=_("Administrator (manages users)"), required=False)


class InvitationResponseForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])


class CollaborationEndForm(forms.Form):
    """What happens to the files when a collaboration ends; the typed name is checked by
    customers.services.collaboration_end (only when deleting at once)."""

    KEEP, DELETE = "keep", "delete"
    outcome = forms.ChoiceField(label=_("What happens to the files"), widget=forms.RadioSelect)
    confirm = forms.CharField(
        label=_("Type the customer's name to confirm"), required=False, max_length=300, strip=True
    )

    def __init__(self, *args: Any, days: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["outcome"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (
                self.KEEP,
                _("Keep them: the customer can read and download them for %(days)d days") % {"days": days},
            ),
            (self.DELETE, _("Delete everything now")),
        ]
