"""The one-time tokens of password links, each kind with a lifetime of its own.

Django's token generator checks every token against the one PASSWORD_RESET_TIMEOUT. Here a reset
link (asked for by anyone who knows the address) lives PASSWORD_RESET_TIMEOUT, a day, and the
set-password link of a welcome or invitation email SET_PASSWORD_TIMEOUT, a week. The two are
salted apart, so a week-old welcome token does not open the reset page, nor the reverse. Like
Django's, a token stops working once the password (or the last login) changes.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int

from portal.models import User


class ExpiringTokenGenerator(PasswordResetTokenGenerator):
    """Django's token, checked against the setting named by `timeout_setting` (seconds)."""

    timeout_setting = "PASSWORD_RESET_TIMEOUT"

    def check_token(self, user: User | None, token: str | None) -> bool:
        # Django's check_token with the timeout swapped: same parsing, same secrets and fallbacks.
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        if not any(
            constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
            for secret in [self.secret, *self.secret_fallbacks]
        ):
            return False
        return self._num_seconds(self._now()) - ts <= int(getattr(settings, self.timeout_setting))


class PasswordResetTokens(ExpiringTokenGenerator):
    key_salt = "portal.tokens.PasswordResetTokens"
    timeout_setting = "PASSWORD_RESET_TIMEOUT"


class SetPasswordTokens(ExpiringTokenGenerator):
    # Django's own salt: set-password links sent before these generators existed keep working.
    key_salt = "django.contrib.auth.tokens.PasswordResetTokenGenerator"
    timeout_setting = "SET_PASSWORD_TIMEOUT"


password_reset_tokens = PasswordResetTokens()
set_password_tokens = SetPasswordTokens()
