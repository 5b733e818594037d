"""`{% load i18n %}` loads portal/templatetags/cached_i18n.py: `{% translate %}` must write what
Django's own tag writes, in every form and language, also the second time."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Engine, engines
from django.test import override_settings
from django.utils import translation

from portal.templatetags import cached_i18n

DJANGO = Engine(libraries={"i18n": "django.templatetags.i18n"})

SOURCES = [
    '{% translate "Folder" %}',
    "{% trans 'Size' %}",
    '{% translate "A & B <i>" %}',  # not in the catalogue: the text itself, escaped
    '{% autoescape off %}{% translate "A & B <i>" %}{% endautoescape %}',
    '{% translate "100%% sure" %}',  # percent signs doubled in the template, restored
    '{% translate "Folder" as label %}[{{ label }}]',
    '{% translate "Folder" noop %}',
    '{% translate "May" context "month name" %}',
    '{% translate "Folder"|upper %}',
    "{% translate text %}",
    "{% blocktranslate %}Folder{% endblocktranslate %}{% get_current_language as lang %}{{ lang }}",
]


def _ours(source: str, **context: Any) -> str:
    return engines["django"].from_string("{% load i18n %}" + source).render(context)


def _djangos(source: str, **context: Any) -> str:
    return DJANGO.from_string("{% load i18n %}" + source).render(Context(context))


@pytest.mark.parametrize("language", ["sv", "en", "sv"])
@pytest.mark.parametrize("source", SOURCES)
def test_the_same_as_djangos_tag_twice(source: str, language: str) -> None:
    with translation.override(language):
        for text in ("Folder", "Size"):  # a variable's value may change between renders
            expected = _djangos(source, text=text)
            assert _ours(source, text=text) == expected
            assert _ours(source, text=text) == expected


def test_the_language_is_part_of_the_key() -> None:
    with translation.override("sv"):
        assert _ours('{% translate "Folder" %}') == "Mapp"
    with translation.override("en"):
        assert _ours('{% translate "Folder" %}') == "Folder"
    with translation.override("sv"):
        assert _ours('{% translate "Folder" %}') == "Mapp"


def test_the_portal_templates_load_it() -> None:
    template = engines["django"].from_string('{% load i18n %}{% translate "Folder" %}')
    nodes = template.template.nodelist.get_nodes_by_type(cached_i18n.CachedTranslateNode)  # type: ignore[attr-defined]
    assert len(nodes) == 1


def test_a_change_of_languages_forgets_what_was_kept() -> None:
    with translation.override("sv"):
        _ours('{% translate "Folder" %}')
    assert cached_i18n._TRANSLATED
    with override_settings(LANGUAGES=[("sv", "Svenska"), ("en", "English")]):
        assert not cached_i18n._TRANSLATED


def test_i18n_is_the_only_library_name_with_two_modules() -> None:
    """settings silences templates.W003 for the i18n library on purpose; any other name given
    to two modules must still be found."""
    warnings = engines["django"]._check_for_template_tags_with_the_same_name()  # type: ignore[attr-defined]
    assert [w.id for w in warnings] == ["templates.W003"]
    assert "'i18n' is used for multiple template tag modules" in warnings[0].msg
