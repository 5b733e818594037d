"""The notification preferences form: which events by email and in the portal, and muted collaborations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Collaboration
from notifications.models import EmailMode, Event

EMAIL_PREFIX = "email_"
IN_APP_PREFIX = "in_app_"


class MuteChoiceField(forms.MultipleChoiceField):
    """Collaboration ids to mute. An id not on offer (a collaboration ended or unassigned since the
    page was shown, or one the person never could see) is dropped, not an error: the form then
    saves what the person could see when they chose."""

    def __init__(self, *, collaborations: Sequence[Collaboration], **kwargs: Any) -> None:
        super().__init__(choices=[(c.pk, str(c)) for c in collaborations], **kwargs)
        self.offered = {str(c.pk) for c in collaborations}

    def clean(self, value: Any) -> list[int]:
        return [int(v) for v in (value or []) if str(v) in self.offered]


class PreferencesForm(forms.Form):
    """One select (email) and one checkbox (in the portal) per event offered to this person, and
    the collaborations they may mute. Fields are named email_<event> and in_app_<event>."""

    def __init__(
        self,
        *args: Any,
        events: Sequence[str],
        collaborations: Sequence[Collaboration],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.events = list(events)
        for event in self.events:
            label = Event(event).label
            self.fields[EMAIL_PREFIX + event] = forms.ChoiceField(
                label=label,
                choices=EmailMode.choices,
                error_messages={
                    "required": _("Choose immediately, daily digest or off for each kind of notification."),
                    "invalid_choice": _(
                        "Choose immediately, daily digest or off for each kind of notification."
                    ),
                },
            )
            self.fields[IN_APP_PREFIX + event] = forms.BooleanField(label=label, required=False)
        self.fields["muted"] = MuteChoiceField(
            label=_("Mute a collaboration"),
            collaborations=collaborations,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A setting for an event this page does not offer (the account group for someone who is
        # no account administrator) is refused rather than quietly dropped.
        offered = set(self.events)
        for key in self.data:
            for prefix in (EMAIL_PREFIX, IN_APP_PREFIX):
                if key.startswith(prefix) and key[len(prefix) :] not in offered:
                    raise forms.ValidationError(
                        _("These notification settings are not available to you."), code="not_offered"
                    )
        return cleaned

    def choices(self) -> dict[str, tuple[str, bool]]:
        """event -> (email mode, in the portal), for services.preferences_set."""
        return {
            e: (self.cleaned_data[EMAIL_PREFIX + e], bool(self.cleaned_data[IN_APP_PREFIX + e]))
            for e in self.events
        }

    def muted_ids(self) -> list[int]:
        return list(self.cleaned_data["muted"])
