"""The portal's own forms: login, profile, switching organisation and password reset."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from portal.links import absolute_url
from portal.models import User
from portal.validators import normalize_mobile, normalize_personnummer

# A failed login's one message, whichever way it failed (password, BankID, unknown, inactive).
LOGIN_FAILED = _("The email address or password is wrong.")


class EmailLoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Email")
        self.fields["username"].widget = forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
        self.error_messages["invalid_login"] = LOGIN_FAILED


class UserFieldsCleaningMixin:
    """The rules for a user's own fields, shared by the profile page and the Django admin.
    Only the fields present on the form are cleaned."""

    cleaned_data: dict[str, Any]
    instance: User

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data.get("email") or "").strip().lower()
        # Logins look the address up case-insensitively, so two users must not differ only in case.
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("A user with this email address already exists."), code="unique")
        return email

    def clean_name(self) -> str:
        return (self.cleaned_data.get("name") or "").strip()

    def clean_personnummer(self) -> str:
        value = self.cleaned_data.get("personnummer") or ""
        if not value.strip():
            return ""
        normalized = normalize_personnummer(value)
        if User.objects.filter(personnummer=normalized).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("This personal identity number belongs to another user."), code="unique")
        return normalized

    def clean_mobile(self) -> str:
        value = self.cleaned_data.get("mobile") or ""
        return normalize_mobile(value) if value.strip() else ""


class ProfileForm(UserFieldsCleaningMixin, forms.ModelForm):
    # The database keeps 12 digits; people type YYYYMMDD-NNNN (13 characters), normalised in clean.
    personnummer = forms.CharField(
        label=_("Personal identity number"),
        max_length=13,
        required=False,
        help_text=_("Optional. YYYYMMDD-NNNN, lets you log in and sign with BankID."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    class Meta:
        model = User
        fields = ["name", "language", "mobile", "personnummer"]
        help_texts = {
            "mobile": _("Optional. Used for signing reminders."),
            "personnummer": _("Optional. YYYYMMDD-NNNN, lets you log in and sign with BankID."),
        }
        widgets = {
            "mobile": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
            "personnummer": forms.TextInput(attrs={"inputmode": "numeric"}),
        }


class SwitchOrganisationForm(forms.Form):
    org = forms.CharField(max_length=40)


class LocalisedPasswordResetForm(PasswordResetForm):
    """Sends the reset email in the account holder's language, not the visitor's page language."""

    def get_users(self, email: str) -> Iterator[User]:
        # Django skips users without a usable password. Here those are invited people who never chose
        # one, and the expired set-password page sends exactly them to this form for a new link.
        # Django's own guard against look-alike Unicode emails is kept.
        wanted = unicodedata.normalize("NFKC", email).casefold()
        users = User.objects.filter(email__iexact=email, is_active=True)
        return (u for u in users if unicodedata.normalize("NFKC", u.email).casefold() == wanted)

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context.get("user")
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            # From PORTAL_BASE_URL, never the request's Host header, which a visitor chooses.
            reset_path = reverse("password_reset_confirm", args=[context["uid"], context["token"]])
            base = urlsplit(settings.PORTAL_BASE_URL)
            context = {
                **context,
                "reset_url": absolute_url(reset_path),
                "portal_url": absolute_url(reverse("home")),
                "domain": base.netloc,
                "site_name": base.netloc,
                "protocol": base.scheme,
            }
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )
