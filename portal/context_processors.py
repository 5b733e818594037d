"""The main menu item the current page belongs to, worked out here so that no view passes it."""

from __future__ import annotations

from django.http import HttpRequest

from portal.context import org_context

# url name prefix -> the main menu item it belongs to
_SECTIONS = {
    "customers:customer": "customers",
    "partners:": "settings",
    "billing:": "settings",
    "customers:collaboration": "collaborations",
    "customers:invitation": "collaborations",
    "customers:org_user": "org_users",
    "documents:partner_": "customers",
    "documents:customer_": "collaborations",
    "signing:partner_": "customers",
    "signing:customer_": "collaborations",
    "docrequests:partner_": "customers",
    "docrequests:customer_": "collaborations",
}
# Pages that users of both sides open (a document's page): the item is the active organisation's.
_EITHER_SIDE = {"documents:document_detail"}
_SIDE_SECTIONS = {"partner": "customers", "customer": "collaborations"}


def navigation(request: HttpRequest) -> dict[str, str]:
    """Which main menu item is the current page's, for aria-current."""
    match = request.resolver_match
    if match is None:
        return {"nav": ""}
    name = f"{match.namespace}:{match.url_name}"
    if name in _EITHER_SIDE:
        active = org_context(request).active
        return {"nav": _SIDE_SECTIONS[active.kind] if active is not None else ""}
    for prefix, section in _SECTIONS.items():
        if name.startswith(prefix):
            return {"nav": section}
    return {"nav": ""}
