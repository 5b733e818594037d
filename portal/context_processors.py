from __future__ import annotations

from django.http import HttpRequest

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
}


def navigation(request: HttpRequest) -> dict[str, str]:
    """Which main menu item is the current page's, for aria-current."""
    match = request.resolver_match
    if match is None:
        return {"nav": ""}
    name = f"{match.namespace}:{match.url_name}"
    for prefix, section in _SECTIONS.items():
        if name.startswith(prefix):
            return {"nav": section}
    return {"nav": ""}
