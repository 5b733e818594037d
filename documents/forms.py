"""Documents' forms: folders (name, access, audience, move), the bulk bar, the log filter and
retention rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from documents.models import Audience, CustomerAccess


class FolderNameForm(forms.Form):
    name = forms.CharField(label=_("Folder name"), max_length=200)


class AudienceForm(forms.Form):
    """The primary contact's dialog: who at the customer, not what they may do."""

    audience = forms.ChoiceField(
        label=_("Who at the customer"), choices=Audience.choices, widget=forms.RadioSelect
    )
    users = forms.TypedMultipleChoiceField(
        label=_("Selected users"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, user_choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["users"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = user_choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self._needs_users(data) and not data.get("users"):
            self.add_error("users", _("Select at least one user, or give access to all users."))
        return data

    def _needs_users(self, data: dict[str, Any]) -> bool:
        return data.get("audience") == Audience.SELECTED


class AccessForm(AudienceForm):
    """The partner's access dialog for a top-level folder: what the customer may do, and who."""

    customer_access = forms.ChoiceField(
        label=_("The customer's access"), choices=CustomerAccess.choices, widget=forms.RadioSelect
    )
    primary_contact_manages = forms.BooleanField(
        label=_("The primary contact manages who at the customer has access"), required=False
    )
    field_order = ["customer_access", "audience", "users", "primary_contact_manages"]

    def _needs_users(self, data: dict[str, Any]) -> bool:
        # Internal to the firm: nobody at the customer, so no one to select.
        return data.get("customer_access") not in (None, CustomerAccess.NONE) and super()._needs_users(data)


class NewFolderForm(AccessForm):
    """A new folder: its name, and (top level only) the customer's access."""

    name = forms.CharField(label=_("Folder name"), max_length=200)
    field_order = ["name", "customer_access", "audience", "users", "primary_contact_manages"]


class MoveFolderForm(forms.Form):
    target = forms.TypedChoiceField(label=_("Move to"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, target_choices: list[tuple[int | str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["target"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = target_choices


BULK_ACTIONS = [("download", _("Download as zip")), ("delete", _("Delete")), ("move", _("Move"))]


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    documents = forms.TypedMultipleChoiceField(coerce=int, required=True)
    target = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)

    def __init__(
        self, *args: Any, document_ids: list[int], target_choices: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        docs = self.fields["documents"]
        assert isinstance(docs, forms.TypedMultipleChoiceField)
        docs.choices = [(pk, str(pk)) for pk in document_ids]
        docs.error_messages["required"] = _("Tick at least one document.")
        target = self.fields["target"]
        assert isinstance(target, forms.TypedChoiceField)
        target.choices = [("", "---"), *target_choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "move" and not data.get("target"):
            self.add_error("target", _("Choose the folder to move to."))
        return data


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    actor = forms.TypedChoiceField(label=_("Person"), coerce=int, empty_value=None, required=False)
    date_from = forms.DateField(
        label=_("First day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("Last day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(
        self,
        *args: Any,
        people: list[tuple[str, list[tuple[int, str]]]],
        action_labels: dict[str, Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        action = self.fields["action"]
        assert isinstance(action, forms.ChoiceField)
        action.choices = [("", _("All actions")), *action_labels.items()]
        actor = self.fields["actor"]
        assert isinstance(actor, forms.TypedChoiceField)
        actor.choices = [("", _("Everyone")), *((group, items) for group, items in people if items)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The last day is before the first."))
        return data

    def is_filtered(self) -> bool:
        """Whether the valid form narrows the log (so an empty page says "no events match")."""
        return any(self.cleaned_data.get(name) for name in self.fields)


class RetentionForm(forms.Form):
    """The partner administrator's retention rule for a top-level folder."""

    kind = forms.ChoiceField(
        label=_("Keep documents"),
        choices=[
            ("", _("No retention rule: documents can be deleted at any time")),
            ("fiscal", _("A number of years after the end of the fiscal year of the upload")),
            ("upload", _("A number of years after the upload")),
        ],
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "The Swedish Bookkeeping Act (bokföringslagen) requires accounting records to be kept for "
            "seven years after the end of the fiscal year they belong to: choose the fiscal year and "
            "7 years for bookkeeping."
        ),
    )
    years = forms.IntegerField(label=_("Years"), min_value=1, max_value=30, initial=7)
    fiscal_end_month = forms.TypedChoiceField(
        label=_("The fiscal year ends in"),
        coerce=int,
        choices=[(number, name) for number, name in MONTHS.items()],
        initial=12,
        help_text=_("December for a calendar year. Used by the fiscal year rule only."),
    )
