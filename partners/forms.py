from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import PartnerRole
from portal.models import Language


class StaffInviteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=PartnerRole.choices, initial=PartnerRole.STAFF)
    language = forms.ChoiceField(label=_("Language of the invitation"), choices=Language.choices)

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=PartnerRole.choices)


class TwoFactorRequirementForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication for all staff"),
        required=False,
        help_text=_(
            "Everyone at the firm who has not turned it on is asked to set it up at their next page, "
            "and can do nothing else until they have."
        ),
    )
