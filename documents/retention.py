"""Retention rules: the last day a document must be kept, and the guard every deletion asks.

A partner administrator sets a rule on a top-level folder (Folder.retention_*); it covers every
document below it. A version is kept until the rule's date for its upload; a document until the date
of its newest stored version (the rule only grows with the upload date, so the newest decides).
"Until" is the last day of retention, in the portal's time zone: the document may go the day after.

- FISCAL: `years` after the end of the fiscal year the upload falls in (the Swedish bookkeeping
  rule: seven years after the fiscal year ends). The fiscal year ends with `fiscal_end_month`.
- UPLOAD: `years` after the day of the upload.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, QuerySet
from django.utils import formats, timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from documents.models import Document, DocumentVersion, Folder, RetentionKind
from portal.errors import ServiceError


@dataclass(frozen=True)
class Rule:
    kind: str
    years: int
    fiscal_end_month: int = 12

    @classmethod
    def of(cls, root: Folder) -> Rule | None:
        """The rule set on top-level folder `root`, or None."""
        if not root.retention_kind:
            return None
        return cls(root.retention_kind, root.retention_years, root.retention_fiscal_end_month)

    def until(self, uploaded_at: dt.datetime) -> dt.date:
        """The last day a file uploaded at `uploaded_at` must be kept."""
        day = timezone.localdate(uploaded_at)
        if self.kind == RetentionKind.FISCAL:
            year = day.year if day.month <= self.fiscal_end_month else day.year + 1
            return _month_end(year + self.years, self.fiscal_end_month)
        return _add_years(day, self.years)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a year without one
        return day.replace(year=day.year + years, day=28)


def is_retained(until: dt.date | None, *, today: dt.date | None = None) -> bool:
    return until is not None and until >= (today or timezone.localdate())


def _rules(root_ids: Iterable[int]) -> dict[int, Rule]:
    """The rules of these top-level folders, trashed ones included (one query)."""
    roots = Folder.all_objects.filter(pk__in=set(root_ids)).exclude(retention_kind="")
    return {root.pk: rule for root in roots if (rule := Rule.of(root)) is not None}


def root_id(folder: Folder) -> int:
    return folder.root_id or folder.pk


def _newest_uploads(documents: QuerySet[Document]) -> list[tuple[int, int, dt.datetime]]:
    """(document id, its top-level folder's id, its newest stored version's upload) for the
    documents of `documents` that still hold a stored (not purged) version (one query)."""
    rows = (
        documents.order_by()
        .filter(versions__purged_at__isnull=True)
        .values_list("pk", "folder__root_id", "folder_id")
        .annotate(newest=Max("versions__created_at"))
    )
    return [(pk, root or folder, newest) for pk, root, folder, newest in rows if newest is not None]


def documents_until(documents: QuerySet[Document]) -> dict[int, dt.date]:
    """{document id: last day of retention} for the documents of `documents` under a rule (two
    queries, however many documents): by the newest of their stored (not purged) versions."""
    rows = _newest_uploads(documents)
    rules = _rules(root for _pk, root, _newest in rows)
    return {pk: rules[root].until(newest) for pk, root, newest in rows if root in rules}


def retained_documents(documents: QuerySet[Document], *, today: dt.date | None = None) -> dict[int, dt.date]:
    """The documents of `documents` still under retention today, with their last day."""
    today = today or timezone.localdate()
    return {pk: until for pk, until in documents_until(documents).items() if until >= today}


def version_until(version: DocumentVersion) -> dt.date | None:
    """The last day of retention of one version (its own upload), or None."""
    folder = Folder.all_objects.only("pk", "root_id").get(pk=version.document.folder_id)
    rule = _rules([root_id(folder)]).get(root_id(folder))
    return None if rule is None else rule.until(version.created_at)


def document_until(document: Document) -> dt.date | None:
    return documents_until(Document.objects.filter(pk=document.pk)).get(document.pk)


def refuse_retained(documents: QuerySet[Document], *, today: dt.date | None = None) -> None:
    """Raise ServiceError naming the documents of `documents` still under retention (nothing to
    do otherwise). The caller holds the documents' row locks, so the answer stands until commit."""
    retained = retained_documents(documents, today=today)
    if not retained:
        return
    raise ServiceError(
        ngettext(
            "Nothing was deleted: %(names)s is under a retention rule and must be kept until that day "
            "has passed.",
            "Nothing was deleted: %(names)s are under a retention rule and must be kept until that "
            "day has passed.",
            len(retained),
        )
        % {"names": _listed(retained)}
    )


def _listed(retained: dict[int, dt.date]) -> str:
    """ "a.pdf (until 31 December 2033), b.pdf (until ...) and 3 more": the first five by date."""
    names = dict(Document.objects.filter(pk__in=retained).values_list("pk", "name"))
    ordered = sorted(retained, key=lambda pk: (retained[pk], names[pk]))
    listed = ", ".join(
        _("%(name)s (until %(date)s)") % {"name": names[pk], "date": day_label(retained[pk])}
        for pk in ordered[:5]
    )
    if len(ordered) > 5:
        listed += " " + _("and %(count)d more") % {"count": len(ordered) - 5}
    return listed


def refuse_shortening(
    documents: QuerySet[Document], *, rule: Rule | None, change: str, today: dt.date | None = None
) -> None:
    """Raise ServiceError naming the documents of `documents` (trashed ones included) that are under
    retention today and would be kept for a shorter time, or not at all, under `rule` instead of
    the rule of the top-level folder they are in now (three queries at most). `change` says what
    would have done it: "move" (to a folder under `rule`) or "rule" (the folder's rule becomes
    `rule`). Lengthening, or keeping the same rule, always passes.

    Precondition: the caller holds the row lock of the folder whose rule changes (a rule change),
    or of the documents (a move), so the answer stands until commit."""
    today = today or timezone.localdate()
    rows = _newest_uploads(documents)
    rules = _rules(root for _pk, root, _newest in rows)
    losing: dict[int, dt.date] = {}
    for pk, root, newest in rows:
        if root not in rules:
            continue
        until = rules[root].until(newest)
        if until >= today and (rule is None or rule.until(newest) < until):
            losing[pk] = until
    if not losing:
        return
    if change == "move":
        message = ngettext(
            "Nothing was moved: %(names)s is under a retention rule, and the folder it would go to "
            "keeps documents for a shorter time or not at all.",
            "Nothing was moved: %(names)s are under a retention rule, and the folder they would go to "
            "keeps documents for a shorter time or not at all.",
            len(losing),
        )
    else:
        message = _(
            "The retention rule was not changed: %(names)s would be kept for a shorter time than the "
            "current rule promises. A rule can be lengthened, but not shortened or removed while "
            "documents are under it."
        )
    raise ServiceError(message % {"names": _listed(losing)})


def rule_text(rule: Rule) -> str:
    """The rule in a sentence for the folder pages, after "Retention:"."""
    if rule.kind == RetentionKind.FISCAL:
        return ngettext(
            "documents are kept %(years)d year after the end of the fiscal year (%(month)s)",
            "documents are kept %(years)d years after the end of the fiscal year (%(month)s)",
            rule.years,
        ) % {"years": rule.years, "month": MONTHS[rule.fiscal_end_month]}
    return ngettext(
        "documents are kept %(years)d year after their upload",
        "documents are kept %(years)d years after their upload",
        rule.years,
    ) % {"years": rule.years}


def rule_detail_text(detail: object) -> str:
    """The audit log's words for a rule as folder_set_retention records it (a dict, or None)."""
    if not isinstance(detail, dict):
        return _("no retention rule")
    try:
        rule = Rule(str(detail["kind"]), int(detail["years"]), int(detail["fiscal_end_month"]))
    except (KeyError, TypeError, ValueError):
        return ""
    return rule_text(rule) if rule.kind in (RetentionKind.FISCAL, RetentionKind.UPLOAD) else ""


def day_label(day: dt.date) -> str:
    """ "31 December 2033": a retention date as the pages show it."""
    return formats.date_format(day, "j F Y")


def retained_names(documents: QuerySet[Document], *, today: dt.date | None = None) -> str:
    """The documents of `documents` under retention today as a refusal names them ("a.pdf (until
    31 December 2033), ..."), or "" when none is: for a page to warn before anyone tries."""
    retained = retained_documents(documents, today=today)
    return _listed(retained) if retained else ""
