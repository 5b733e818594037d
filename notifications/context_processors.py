from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from notifications import selectors


class Bell:
    """The header's unread count, counted only when a template reads `bell.unread`: pages for
    anonymous visitors (and templates without the header) cost no query, the rest one COUNT."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def unread(self) -> int:
        user = self._request.user
        if not user.is_authenticated:
            return 0
        return selectors.unread_count(user)


def bell(request: HttpRequest) -> dict[str, Bell]:
    return {"bell": Bell(request)}
