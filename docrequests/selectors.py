"""Reads of document requests, always for an acting user."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, IntegerField, Prefetch, QuerySet
from django.db.models.expressions import RawSQL

from customers.models import Collaboration
from docrequests.models import DocumentRequest, ItemFile, RequestItem, RequestTemplate, Status
from documents.models import CustomerAccess, Folder
from documents.selectors import folder_audience
from portal import sql
from portal.models import User


def _with_items(qs: QuerySet[DocumentRequest]) -> QuerySet[DocumentRequest]:
    files = ItemFile.objects.select_related("version__document").order_by("created_at", "pk")
    return qs.prefetch_related(
        Prefetch("items", queryset=RequestItem.objects.prefetch_related(Prefetch("files", queryset=files))),
    )


def requests_for_partner(*, collaboration: Collaboration) -> QuerySet[DocumentRequest]:
    """The customer's requests, open ones first; the caller checked that the acting user may work
    with the customer."""
    return (
        DocumentRequest.objects.filter(collaboration=collaboration)
        .select_related("folder", "created_by")
        .annotate(item_count=Count("items", distinct=True))
        .order_by("-status", "due_date", "pk")  # open, then done, then cancelled
    )


def requests_asking(*, user: User, collaboration_ids: list[int]) -> QuerySet[DocumentRequest]:
    """The open requests of these collaborations that ask `user` (Samarbeten: "Requested from you")."""
    return (
        DocumentRequest.objects.filter(collaboration_id__in=collaboration_ids, status=Status.OPEN, asked=user)
        .select_related("collaboration__partner")
        .annotate(item_count=Count("items", distinct=True))
        .order_by("due_date", "pk")
    )


def asking_user_exists(*, user: User) -> RawSQL:
    """For annotating collaborations: whether any of their open requests asks `user`. Written as
    SQL (portal.sql), as the other apps' annotations of the collaboration lists."""
    c, q = sql.column, connection.ops.quote_name
    asked: Any = DocumentRequest._meta.get_field("asked")  # the many-to-many and its table's columns
    through: Any = asked.remote_field.through
    request_id, user_id = f"t.{q(asked.m2m_column_name())}", f"t.{q(asked.m2m_reverse_name())}"
    return sql.scalar(
        f"SELECT EXISTS (SELECT 1 FROM {sql.table(DocumentRequest)} d"  # noqa: S608 -- names quoted by portal.sql, values as parameters
        f" INNER JOIN {sql.table(through)} t ON {request_id} = {c('d', DocumentRequest, 'pk')}"
        f" WHERE {c('d', DocumentRequest, 'collaboration')} = {sql.outer(Collaboration, 'id')}"
        f" AND {c('d', DocumentRequest, 'status')} = %s AND {user_id} = %s)",
        [Status.OPEN.value, user.pk],
        BooleanField(),
    )


def docrequest_page(*, docrequest: DocumentRequest) -> DocumentRequest:
    """The request with its items and their files, and who was asked, in three more queries."""
    return _with_items(
        DocumentRequest.objects.filter(pk=docrequest.pk)
        .select_related(
            "collaboration__partner", "collaboration__customer", "folder", "created_by", "finished_by"
        )
        .prefetch_related("asked")
    ).get()


def open_request_counts() -> dict[str, RawSQL]:
    """The annotation of a query of collaborations `docrequests_open`: a scalar subquery (as SQL,
    portal.sql, the collaboration's table unaliased: customers.badges), so a list of any length
    costs no extra query."""
    open_requests = (
        f"SELECT COUNT(*) FROM {sql.table(DocumentRequest)} d"  # noqa: S608 -- names quoted by portal.sql, values as parameters
        f" WHERE d.collaboration_id = {sql.outer(Collaboration, 'id')} AND d.status = %s"
    )
    return {"docrequests_open": sql.scalar(open_requests, [Status.OPEN.value], IntegerField())}


def templates_for_partner(*, partner_id: int) -> QuerySet[RequestTemplate]:
    """The firm's templates; the caller checked that the acting user belongs to the partner."""
    return RequestTemplate.objects.filter(partner_id=partner_id).order_by("title", "pk")


def folder_takes_uploads_from(*, folder: Folder, users: Iterable[User]) -> bool:
    """Whether `folder` takes the customer's uploads and every one of `users` sees it (who may be
    asked for documents into it)."""
    root = folder.root or folder
    if root.customer_access != CustomerAccess.EDIT:
        return False
    ids = {u.pk for u in users}
    audience = set(
        folder_audience(folder, customer_only=True).filter(pk__in=ids).values_list("pk", flat=True)
    )
    return audience == ids


def upload_folders(*, collaboration: Collaboration) -> list[tuple[int, str]]:
    """(id, "Top / Sub") of the collaboration's folders that take the customer's uploads."""
    folders = list(
        Folder.objects.filter(collaboration=collaboration).only(
            "pk", "name", "path", "root_id", "customer_access"
        )
    )
    by_id = {f.pk: f for f in folders}
    out = []
    for folder in folders:
        root = by_id.get(folder.root_id or folder.pk)
        if root is None or root.customer_access != CustomerAccess.EDIT:
            continue
        names = [by_id[i].name for i in folder.ancestor_ids() if i in by_id] + [folder.name]
        out.append((folder.pk, " / ".join(names)))
    return sorted(out, key=lambda pair: pair[1].lower())


def ending_summary(*, collaboration: Collaboration) -> list[str]:
    """What ending the collaboration does to its document requests, for the end page (customers.hooks)."""
    from django.utils.translation import ngettext

    open_count = DocumentRequest.objects.filter(collaboration=collaboration, status=Status.OPEN).count()
    if not open_count:
        return []
    return [
        ngettext(
            "%(n)d open document request will be cancelled and the people asked told.",
            "%(n)d open document requests will be cancelled and the people asked told.",
            open_count,
        )
        % {"n": open_count}
    ]
