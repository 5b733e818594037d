"""The organisation a user is acting for: one of their partners or customers.

A person may belong to several partners and customers (an accountant who is
also a customer user at their own company). The active one is kept in the
session and shown in the header, where the user can switch. It decides what
the list pages show; detail pages check access on the object itself and
switch the context to the object's organisation.

Dependencies point portal <- partners <- customers, so this module knows no
membership model: each app registers a provider in its AppConfig.ready() that
lists a user's organisations of its kind (see `register_provider`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from django.http import HttpRequest, HttpResponse

from portal.models import User

SESSION_KEY = "portal_org"
OrgKind = Literal["partner", "customer"]


@dataclass(frozen=True)
class Organisation:
    kind: OrgKind
    id: int
    name: str
    # Partner: the member is an account administrator. Customer: primary contact or customer admin.
    is_admin: bool
    is_primary_contact: bool = False
    # Partner: its account administrators require two-factor authentication of every member.
    requires_two_factor: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_partner(self) -> bool:
        return self.kind == "partner"

    @property
    def is_customer(self) -> bool:
        return self.kind == "customer"


OrganisationProvider = Callable[[User], list[Organisation]]
_providers: list[OrganisationProvider] = []


def register_provider(provider: OrganisationProvider) -> None:
    """Called from an AppConfig.ready(): `provider(user)` lists the user's organisations of one kind,
    sorted by name, in one query."""
    if provider not in _providers:
        _providers.append(provider)


def organisations_of(user: User) -> list[Organisation]:
    """All of `user`'s organisations, partners and customers: one query per kind."""
    return [org for provider in _providers for org in provider(user)]


class OrganisationContext:
    """Lazily loaded: anonymous pages and static files never touch the database for it."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def organisations(self) -> list[Organisation]:
        user = self._request.user
        if not user.is_authenticated:
            return []
        return organisations_of(user)

    @cached_property
    def active(self) -> Organisation | None:
        orgs = self.organisations
        if not orgs:
            return None
        wanted = self._request.session.get(SESSION_KEY)
        for org in orgs:
            if org.key == wanted:
                return org
        return orgs[0]

    @property
    def partner(self) -> Organisation | None:
        active = self.active
        return active if active is not None and active.is_partner else None

    @property
    def customer(self) -> Organisation | None:
        active = self.active
        return active if active is not None and active.is_customer else None

    def find(self, kind: OrgKind, org_id: int) -> Organisation | None:
        for org in self.organisations:
            if org.kind == kind and org.id == org_id:
                return org
        return None

    def activate(self, kind: OrgKind, org_id: int) -> bool:
        """Make one of the user's own organisations the active one. False if not theirs."""
        org = self.find(kind, org_id)
        if org is None:
            return False
        # Write the session only on a change: saving it costs an UPDATE and a COMMIT per request.
        if self._request.session.get(SESSION_KEY) != org.key:
            self._request.session[SESSION_KEY] = org.key
        self.__dict__["active"] = org
        return True


class OrganisationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.org = OrganisationContext(request)  # type: ignore[attr-defined]
        return self.get_response(request)


class AuthedRequest(HttpRequest):
    """The request as views behind @login_required see it: a real user and the organisation context."""

    user: User
    org: OrganisationContext


def org_context(request: HttpRequest) -> OrganisationContext:
    return request.org  # type: ignore[attr-defined]
