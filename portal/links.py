"""Links: absolute ones for emails (they leave the request, so they need PORTAL_BASE_URL), and
url_maker for pages that link every row of a list."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.models import User
from portal.tokens import set_password_tokens


def absolute_url(path: str) -> str:
    return f"{settings.PORTAL_BASE_URL}{path}"


def set_password_url(user: User) -> str:
    """A one-time link that lets an invited user choose a password. It stops working once
    the password changes or after SET_PASSWORD_TIMEOUT (a week)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = set_password_tokens.make_token(user)
    return absolute_url(reverse("set_password", args=[uid, token]))


def url_maker(name: str, args: int = 1) -> Callable[..., str]:
    """A function (id, ...) -> URL for a route taking `args` integers: one reverse() for a whole
    list of rows instead of one per row (a page of files would otherwise spend most of its time
    reversing)."""
    markers = [str(987654321 + i) for i in range(args)]
    template = reverse(name, args=markers)

    def url(*ids: int) -> str:
        made = template
        for marker, pk in zip(markers, ids, strict=True):
            made = made.replace(marker, str(pk))
        return made

    return url
