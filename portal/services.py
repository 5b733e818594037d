from __future__ import annotations

from django.utils.translation import gettext as _

from portal.errors import ServiceError
from portal.models import Language, User


def user_get_or_create(*, email: str, name: str, language: str = Language.SWEDISH) -> tuple[User, bool]:
    """The user with this email (any case), or a new one without a password.

    A new user chooses a password through the set-password link of a welcome email.
    An existing user keeps their name and language: those are theirs to change.
    """
    email = email.strip().lower()
    if not email:
        raise ServiceError(_("An email address is required."), field="email")
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        return user, False
    return User.objects.create_user(email=email, name=name.strip(), language=language), True
