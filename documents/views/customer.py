"""Placeholder: being written."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


root = folder_create = folder_detail = folder_rename = folder_move = folder_delete = folder_access = bulk = (
    audit_log
) = _todo
