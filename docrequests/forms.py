"""The form a partner fills in to ask a customer for documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DocumentRequestForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, help_text=_("E.g. Kontoutdrag december."))
    items = forms.CharField(
        label=_("Items"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One document per line."),
    )
    due_date = forms.DateField(
        label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    folder = forms.TypedChoiceField(label=_("Upload into folder"), coerce=int)
    asked = forms.TypedMultipleChoiceField(
        label=_("Who at the customer is asked"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    save_as_template = forms.BooleanField(label=_("Also save as a template for the firm"), required=False)

    def __init__(
        self, *args: Any, folders: list[tuple[int, str]], users: list[tuple[int, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        folder = self.fields["folder"]
        asked = self.fields["asked"]
        assert isinstance(folder, forms.TypedChoiceField)
        assert isinstance(asked, forms.TypedMultipleChoiceField)
        folder.choices = folders
        asked.choices = users
        self.fields["due_date"].initial = timezone.localdate() + dt.timedelta(days=14)

    def clean_due_date(self) -> dt.date:
        due: dt.date = self.cleaned_data["due_date"]
        if due < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due

    def item_lines(self) -> list[str]:
        return str(self.cleaned_data["items"]).splitlines()
