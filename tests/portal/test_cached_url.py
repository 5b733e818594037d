"""The {% url %} builtin (portal/templatetags/cached_url.py) answers what Django's reverse() does,
also when what the answer depends on changes between two calls: the script prefix, the URLconf,
an argument that is not a plain int or str."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Engine, engines
from django.test import RequestFactory
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix, set_urlconf

from portal import links
from portal.templatetags.cached_url import CachedURLNode


def _render(source: str, **context: Any) -> str:
    return engines["django"].from_string(source).render(context)


def test_every_template_gets_the_remembering_tag() -> None:
    template = engines["django"].from_string("{% url 'home' %}")
    nodes = template.template.nodelist.get_nodes_by_type(CachedURLNode)  # type: ignore[attr-defined]
    assert len(nodes) == 1


@pytest.mark.parametrize(
    ("source", "name", "args"),
    [
        ("{% url 'home' %}", "home", []),
        ("{% url 'documents:partner_folder' 12 345 %}", "documents:partner_folder", [12, 345]),
        ("{% url 'documents:partner_folder' a b %}", "documents:partner_folder", ["7", 8]),
    ],
)
def test_the_same_urls_as_reverse_twice(source: str, name: str, args: list[Any]) -> None:
    expected = reverse(name, args=args)
    assert _render(source, a="7", b=8) == expected
    assert _render(source, a="7", b=8) == expected  # from memory


def test_kwargs_and_other_ids_are_not_mixed_up() -> None:
    first = _render("{% url 'documents:partner_folder' collaboration_id=1 folder_id=2 %}")
    second = _render("{% url 'documents:partner_folder' collaboration_id=2 folder_id=1 %}")
    assert first == reverse("documents:partner_folder", args=[1, 2])
    assert second == reverse("documents:partner_folder", args=[2, 1])


def test_an_unknown_route_still_fails_and_as_var_still_swallows_it() -> None:
    with pytest.raises(NoReverseMatch):
        _render("{% url 'documents:partner_folder' 1 %}")
    with pytest.raises(NoReverseMatch):  # and again: a failure is not remembered as an answer
        _render("{% url 'documents:partner_folder' 1 %}")
    assert _render("{% url 'documents:partner_folder' 1 as u %}[{{ u }}]") == "[]"
    assert _render("{% url 'home' as u %}[{{ u }}]") == f"[{reverse('home')}]"


def test_the_script_prefix_is_part_of_the_answer() -> None:
    plain = _render("{% url 'home' %}")
    set_script_prefix("/portal/")
    try:
        assert _render("{% url 'home' %}") == "/portal/" + plain.lstrip("/")
    finally:
        clear_script_prefix()
    assert _render("{% url 'home' %}") == plain


def test_the_urlconf_in_force_is_part_of_the_answer() -> None:
    assert _render("{% url 'floor' as u %}[{{ u }}]") == "[]"  # not a route of the portal's URLconf
    set_urlconf("tests.portal.urls_other")
    try:
        assert _render("{% url 'floor' %}") == "/elsewhere/floor/"
    finally:
        set_urlconf(None)
    assert _render("{% url 'floor' as u %}[{{ u }}]") == "[]"


class Renamed:
    """An argument that reaches the URL through str(), and changes."""

    def __init__(self, slug: str) -> None:
        self.slug = slug

    def __str__(self) -> str:
        return self.slug

    def __hash__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Renamed)


def test_an_argument_that_is_not_int_or_str_is_reversed_every_time() -> None:
    set_urlconf("tests.portal.urls_other")
    try:
        thing = Renamed("first")
        assert _render("{% url 'named' thing %}", thing=thing) == "/elsewhere/first/"
        thing.slug = "second"
        assert _render("{% url 'named' thing %}", thing=thing) == "/elsewhere/second/"
    finally:
        set_urlconf(None)


def test_a_string_argument_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A string may be a capability (a signing link's token): it is not kept in memory."""
    monkeypatch.setattr(links, "_REVERSED", {})
    token = "a" * 40
    assert _render("{% url 'signing:sealed' token %}", token=token) == reverse("signing:sealed", args=[token])
    assert _render("{% url 'documents:partner_folder' 1 2 %}") == reverse(
        "documents:partner_folder", args=[1, 2]
    )
    assert not any(token in url for url in links._REVERSED.values())
    assert len(links._REVERSED) == 1


def test_values_are_escaped_as_before() -> None:
    set_urlconf("tests.portal.urls_other")
    try:
        assert _render("{% url 'named' s %}", s="a&b") == "/elsewhere/a&amp;b/"
        unescaped = "{% autoescape off %}{% url 'named' s %}{% endautoescape %}"
        assert _render(unescaped, s="a&b") == "/elsewhere/a&b/"
    finally:
        set_urlconf(None)


def test_the_page_namespace_is_part_of_the_answer() -> None:
    template = Engine.get_default().from_string("{% url 'shared:page' %}")
    set_urlconf("tests.portal.urls_other")
    try:
        for app in ("one", "two", "one"):
            request = RequestFactory().get("/")
            request.current_app = app
            context = Context()
            context.request = request  # type: ignore[attr-defined]  # as a RequestContext has it
            assert template.render(context) == f"/{app}/page/"
    finally:
        set_urlconf(None)


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "REVERSED_MAX", 3)
    monkeypatch.setattr(links, "_REVERSED", {})
    for n in range(10):
        assert links.cached_reverse("documents:partner_folder", args=[n, n]) == reverse(
            "documents:partner_folder", args=[n, n]
        )
        assert len(links._REVERSED) <= 3
