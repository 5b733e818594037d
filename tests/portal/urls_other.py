"""A second URLconf for tests/portal/test_cached_url.py: routes the portal's own does not have."""

from django.http import HttpResponse
from django.urls import include, path


def _view(request: object, slug: str = "") -> HttpResponse:
    return HttpResponse(slug)


# One app mounted twice: which one {% url 'shared:page' %} means depends on the page asking.
_shared = ([path("page/", _view, name="page")], "shared")

urlpatterns = [
    path("one/", include(_shared, namespace="one")),
    path("two/", include(_shared, namespace="two")),
    path("elsewhere/floor/", _view, name="floor"),
    path("elsewhere/<str:slug>/", _view, name="named"),
]
