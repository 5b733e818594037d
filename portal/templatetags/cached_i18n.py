"""Django's i18n template library with `{% translate "literal" %}` remembered: installed as the
`i18n` library (settings.TEMPLATES "libraries"), so `{% load i18n %}` loads it everywhere.

Each `{% translate %}` looks the text up in the active language's catalogue, escapes it and puts
back its percent signs: about 17 µs, and a partner folder page has 65 of them (bench/pages.py,
issue 16). For a literal text without filters or a context variable the answer depends only on
the text, the language and whether the template escapes, so it is kept under that key. Every
other form (a variable, filters, `context`, `noop`) is Django's node as it is; so are all the
library's other tags and filters.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.signals import setting_changed
from django.template.base import Parser, Token, render_value_in_context
from django.template.context import Context
from django.templatetags import i18n as django_i18n
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language

register = template.Library()
register.tags.update(django_i18n.register.tags)
register.filters.update(django_i18n.register.filters)

# (language, text, autoescape) -> the rendered translation. Bounded by the literal texts of the
# templates times the languages.
_TRANSLATED: dict[tuple[str | None, str, bool], str] = {}


def _forget(*, setting: str, **_kwargs: Any) -> None:
    if setting in {"LANGUAGE_CODE", "LANGUAGES", "LOCALE_PATHS", "USE_I18N"}:
        _TRANSLATED.clear()


setting_changed.connect(_forget)


class CachedTranslateNode(django_i18n.TranslateNode):
    def render(self, context: Context) -> str:
        expression = self.filter_expression
        literal = getattr(expression.var, "literal", None)
        if self.noop or self.message_context or expression.filters or not isinstance(literal, str):
            return super().render(context)
        key = (get_language(), literal, bool(context.autoescape))
        value = _TRANSLATED.get(key)
        if value is None:
            expression.var.translate = True
            value = render_value_in_context(expression.resolve(context), context)
            # As Django's node: percent signs, doubled in the template's text, restored.
            restored = value.replace("%%", "%")
            value = mark_safe(restored) if isinstance(value, SafeData) else restored  # noqa: S308 -- it was safe before
            _TRANSLATED[key] = value
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


def _cached(parser: Parser, token: Token) -> template.Node:
    node = django_i18n.do_translate(parser, token)
    assert isinstance(node, django_i18n.TranslateNode)
    return CachedTranslateNode(node.filter_expression, node.noop, node.asvar, node.message_context)


register.tag("translate", _cached)
register.tag("trans", _cached)
