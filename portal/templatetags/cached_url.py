"""`{% url %}` with its answers remembered: a template builtin (settings.TEMPLATES) that replaces
Django's tag of the same name for every template.

Django's reverse() matches the route's pattern again on every call: about 50 µs, and a folder page
has some thirty links (its header, tabs, tree and actions), a tenth of the page's own time
(bench/pages.py). The links a page makes are the same for everyone who sees it, so the answer is
kept, keyed by everything reverse() reads (portal.links.cached_reverse). The tag's syntax and
behaviour are Django's: the same arguments, `as var`, NoReverseMatch, escaping.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template import defaulttags
from django.template.base import Parser, Token
from django.template.context import Context
from django.urls import NoReverseMatch
from django.utils.html import conditional_escape

from portal.links import cached_reverse

register = template.Library()


class CachedURLNode(defaulttags.URLNode):
    def render(self, context: Context) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        current_app: Any
        try:
            current_app = context.request.current_app  # type: ignore[attr-defined]
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace  # type: ignore[attr-defined]
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = cached_reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> CachedURLNode:
    node = defaulttags.url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
