from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from documents.links import folder_url_maker
from documents.models import CustomerAccess
from documents.selectors import FolderNode
from documents.storage import human_size as _human_size

register = template.Library()


@register.filter
def human_size(size: int | None) -> str:
    """Bytes in the portal's units (1 kB = 1000 B), the same as the file list and the limits."""
    return _human_size(int(size or 0))


@register.filter
def lookup(mapping: dict[object, object], key: object) -> object:
    """mapping[key], or "" when it has none: a value per row from a dict the view made."""
    return mapping.get(key, "")


@register.simple_tag
def folder_tree(
    nodes: list[FolderNode], current_id: int | None, side: str, collaboration_id: int
) -> SafeString:
    """The folder tree as nested lists (documents.selectors.folder_tree's nodes), each folder a link
    to its page on `side`; on the partner's side a top-level folder shows the customer's access.
    Made in Python: as a recursive {% include %} it took a millisecond and more of every folder
    page (bench/pages.py, issue 16)."""
    url = folder_url_maker(side)
    access_title = _("The customer's access")
    access_labels = {value: str(label) for value, label in CustomerAccess.choices}

    def branch(level: list[FolderNode]) -> SafeString:
        items = []
        for node in level:
            folder = node.folder
            access = ""
            if side == "partner" and folder.is_top_level:
                access = format_html(
                    '<span class="access-tag access-{}" title="{}">{}</span>',
                    folder.customer_access,
                    access_title,
                    access_labels.get(folder.customer_access, folder.customer_access),
                )
            items.append(
                format_html(
                    '<li><a href="{}"{}><span class="folder-icon" aria-hidden="true">▸</span>{}{}</a>{}</li>',
                    url(collaboration_id, folder.pk),
                    mark_safe(' aria-current="page"') if folder.pk == current_id else "",
                    folder.name,
                    access,
                    branch(node.children) if node.children else "",
                )
            )
        return format_html('<ul class="folder-tree" role="list">{}</ul>', mark_safe("".join(items)))  # noqa: S308 -- escaped above

    return branch(nodes)
