"""Links: absolute ones for emails (they leave the request, so they need PORTAL_BASE_URL), and
url_maker for pages that link every row of a list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from portal.memo import KEPT_MAX, remember
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
    """A function (id, ...) -> URL for a route taking `args` integers: the route reversed once
    with marker ids (cached_reverse: once per process, URLconf, prefix and language), the ids
    put in its place, instead of one reverse() per row (a page of files would otherwise spend
    most of its time reversing)."""
    markers = [987654321 + i for i in range(args)]
    template = cached_reverse(name, args=markers)
    texts = [str(marker) for marker in markers]

    def url(*ids: int) -> str:
        made = template
        for marker, pk in zip(texts, ids, strict=True):
            made = made.replace(marker, str(pk))
        return made

    return url


# cached_reverse's answers: bounded, emptied when full (the routes a portal has times the ids its
# pages link to on one process would otherwise grow without end).
_REVERSED: dict[tuple[Any, ...], str] = {}
REVERSED_MAX = KEPT_MAX
# What a route name may be to be remembered (a template's literal is a SafeString).
_NAMES = frozenset({str, SafeString})


def cached_reverse(
    viewname: str,
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    current_app: str | None = None,
) -> str:
    """reverse(), its answer remembered. The key is everything the answer depends on: the route,
    its arguments, the namespace of the page asking (current_app), the URLconf and script prefix
    in force and the language (for translated routes). Only links whose arguments are all exactly
    int (ids) are remembered, and only for a plain route name: anything else reaches the URL
    through str() or a converter, which may change (a renamed object), or is a string that may be
    a secret (a signing link's token), which is not kept in memory longer than its page needs."""
    values = [*args, *(kwargs or {}).values()]
    if type(viewname) not in _NAMES or any(type(v) is not int for v in values):
        return reverse(viewname, args=args, kwargs=kwargs, current_app=current_app)
    key = (
        viewname,
        tuple(args),
        tuple(sorted(kwargs.items())) if kwargs else (),
        current_app,
        get_urlconf() or settings.ROOT_URLCONF,
        get_script_prefix(),
        get_language(),
    )
    return remember(
        _REVERSED,
        key,
        lambda: reverse(viewname, args=args, kwargs=kwargs, current_app=current_app),
        REVERSED_MAX,
    )
