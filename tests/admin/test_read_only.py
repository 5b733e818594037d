"""Rows only the services write (the ledger, signings and their parties, the audit log, sent
emails, statements...) are for looking at in the admin: not even a superuser adds, changes or
deletes them there, on their own pages or as inlines on their parent's page."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.http import HttpRequest
from django.test import RequestFactory

from billing.admin import BalanceEntryInline
from partners.models import Partner
from portal.admin import ReadOnlyAdmin
from signing.admin import AttachmentInline, EventInline, PartyInline
from signing.models import SigningRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INLINES = [
    (BalanceEntryInline, Partner),
    (PartyInline, SigningRequest),
    (AttachmentInline, SigningRequest),
    (EventInline, SigningRequest),
]


def _superuser_request() -> HttpRequest:
    request = RequestFactory().get("/admin/")
    request.user = UserFactory.create(is_staff=True, is_superuser=True)
    return request


def test_every_read_only_admin_refuses_add_change_and_delete_to_a_superuser() -> None:
    request = _superuser_request()
    read_only = [m for m in admin.site._registry.values() if isinstance(m, ReadOnlyAdmin)]
    assert len(read_only) >= 10  # the audit log, sent emails, the ledger, statements, signings...
    for model_admin in read_only:
        assert model_admin.has_view_permission(request), model_admin
        assert not model_admin.has_add_permission(request), model_admin
        assert not model_admin.has_change_permission(request), model_admin
        assert not model_admin.has_delete_permission(request), model_admin


@pytest.mark.parametrize(("inline_class", "parent"), INLINES)
def test_read_only_inlines_refuse_add_change_and_delete_to_a_superuser(
    inline_class: type, parent: type
) -> None:
    request = _superuser_request()
    inline = inline_class(parent, admin.site)
    assert inline.has_view_permission(request)
    assert not inline.has_add_permission(request, None)
    assert not inline.has_change_permission(request, None)
    assert not inline.has_delete_permission(request, None)
    assert inline.extra == 0 and not inline.can_delete
