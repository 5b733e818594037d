"""Billing's forms: a signature package order, a quote request, the storage cap, the low-balance alert."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from billing import plans

MAX_QUOTE_MESSAGE = 2000


class PackageForm(forms.Form):
    """Which signature package to buy: the submit button of the package carries its size."""

    package = forms.TypedChoiceField(
        label=_("Package"),
        coerce=int,
        error_messages={
            "required": _("Choose one of the packages on offer."),
            "invalid_choice": _("Choose one of the packages on offer."),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import: the packages come from the settings.
        field = self.fields["package"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(str(n), str(n)) for n in plans.packages()]


class QuoteRequestForm(forms.Form):
    signatures_per_year = forms.IntegerField(
        label=_("Signatures per year"),
        min_value=1,
        max_value=10_000_000,
        error_messages={"required": _("Give the number of signatures per year.")},
    )
    message = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=MAX_QUOTE_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional: anything support should know, such as when you need the signatures."),
    )


class StorageCapForm(forms.Form):
    cap_blocks = forms.IntegerField(
        label=_("Most paid storage blocks"),
        required=False,
        min_value=0,
        max_value=100_000,
    )

    def __init__(self, *args: Any, help_text: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cap_blocks"].help_text = help_text


class BalanceThresholdForm(forms.Form):
    threshold = forms.IntegerField(
        label=_("Warn when this many signatures are left"),
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text=_(
            "The account administrators are told in the portal and by email, as each has chosen in "
            "their notification settings. Leave empty to never be warned."
        ),
        error_messages={"min_value": _("The threshold cannot be negative.")},
    )
