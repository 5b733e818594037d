"""The forms on a sent signing's page that fix it: a party's name and email, a party to add, a
later deadline. They check what a person can fix in the form; signing.services (party_change,
party_add, signing_extend_deadline) check everything again and are the authority.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from signing.forms import DeadlineMixin, PartyForm


class PartyChangeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"))

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class PartyAddForm(PartyForm):
    """A party to add: a row of the wizard's parties table, whose name and email are required."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True
        self.fields["email"].required = True


class DeadlineForm(DeadlineMixin, forms.Form):
    deadline = forms.DateField(
        label=_("New last day to sign"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
