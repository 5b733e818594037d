"""Every access decision about folders and documents.

Partner side: whoever may work with the collaboration (customers.access.may_work_with: an account
administrator of its partner, or staff assigned to it) sees and does everything in its folders.
Customer side: a user of the collaboration's customer sees a folder when its top-level folder gives
the customer `read` or `edit` access and the user is selected, or the folder is shared with all
users; `edit` adds upload and deleting what customers uploaded. The customer's primary contact
changes who has access where the folder allows it.

Another tenant's folder, or one the user may not see, is a 404. A page the user may see but an
action they may not take is a 403.

The helpers a view calls take the request first, as in every app's access.py. The rules under them
(rights_for, visible_root_ids, customer_membership) take the user: notifications, services and
selectors ask them outside a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404
from django.shortcuts import get_object_or_404

from customers.access import customer_may_read, ended_read_only, may_work_with
from customers.models import (
    Collaboration,
    CollaborationStatus,
    CustomerAccount,
    CustomerMembership,
)
from documents.models import (
    CustomerAccess,
    Document,
    DocumentVersion,
    Folder,
    FolderGroupObjectPermission,
    FolderUserObjectPermission,
    TrashEntry,
    TrashKind,
)
from partners.models import Partner
from portal import sql
from portal.context import AuthedRequest, Organisation, OrganisationContext
from portal.models import User

Side = Literal["partner", "customer"]


@dataclass(frozen=True)
class FolderRights:
    side: Side
    can_view: bool = True
    can_upload: bool = False
    can_manage_folders: bool = False  # create, rename, move, delete folders; set access
    can_delete_firm_files: bool = False
    can_delete_customer_files: bool = False
    can_manage_access: bool = False  # who at the customer (partner always; primary contact where allowed)
    # Customer side: the collaboration's top-level folders this user sees, worked out once per request
    # by rights_for and reused for the folder tree (selectors.folders_visible_to).
    visible_root_ids: tuple[int, ...] = ()

    @property
    def is_partner(self) -> bool:
        return self.side == "partner"

    def can_delete(self, document: Document) -> bool:
        return (
            self.can_delete_firm_files
            if not document.uploaded_by_customer
            else self.can_delete_customer_files
        )


PARTNER_RIGHTS = FolderRights(
    side="partner",
    can_upload=True,
    can_manage_folders=True,
    can_delete_firm_files=True,
    can_delete_customer_files=True,
    can_manage_access=True,
)


def visible_root_ids(
    *, user: User, collaboration: Collaboration, membership: CustomerMembership | Organisation | None
) -> list[int]:
    """The collaboration's top-level folders a customer user may see (everything below them is
    visible too): the folders shared with the user, selected or through the all-users group, and,
    for the primary contact, the folders that let the primary contact manage access (one cannot
    manage what one cannot see).

    `membership` is the user's membership of the collaboration's customer, or the request's
    Organisation for it (None: sees nothing).
    A folder's only group rows are its own customer's all-users group (services._apply_access),
    so "all users" needs only that row and the membership, read fresh from CustomerMembership:
    a user removed from the customer loses access at once.

    One query over the collaboration's top-level folders (a handful), with the grants as per-row
    EXISTS subqueries on the direct permission tables (_granted_roots): as a filter with OR, or
    left to PostgreSQL's hashed subplans, it would read every permission row in the database.
    """
    if membership is None:
        return []
    return _granted_roots(
        _ROOTS_OF_COLLABORATION,
        [collaboration.pk],
        user=user,
        is_primary_contact=membership.is_primary_contact,
    )


def visible_root_ids_at_customer(*, user: User, customer: Organisation) -> list[int]:
    """visible_root_ids over every active collaboration of `customer` (one of the user's customers,
    from the request's organisation context) at once: for searching all of them, in one query."""
    return _granted_roots(
        _ROOTS_AT_CUSTOMER,
        [customer.id, CollaborationStatus.ACTIVE.value],
        user=user,
        is_primary_contact=customer.is_primary_contact,
    )


def _granted_roots_sql(*, at_customer: bool) -> str:
    """The top-level folders shared with the customer (read or edit) of one collaboration, or of
    every active collaboration of one customer (`at_customer`), each with whether it is granted
    to the user (selected), to all the customer's users, and lets the primary contact manage it.
    Parameters, in this order: the permission codename and the user id (selected), the codename
    (all users), the scope (collaboration id; or customer id and status), the two access levels."""
    folder, collaboration = sql.table(Folder), sql.table(Collaboration)
    grant = (
        "EXISTS (SELECT 1 FROM {grants} g INNER JOIN {permissions} p ON p.id = g.permission_id "
        "WHERE g.content_object_id = f.id AND p.codename = %s{extra} LIMIT 1 OFFSET 0)"
    )
    permissions = sql.table(Permission)
    selected = grant.format(
        grants=sql.table(FolderUserObjectPermission), permissions=permissions, extra=" AND g.user_id = %s"
    )
    for_all = grant.format(grants=sql.table(FolderGroupObjectPermission), permissions=permissions, extra="")
    if at_customer:
        scope = (
            f"INNER JOIN {collaboration} c ON c.id = f.collaboration_id"
            " WHERE c.customer_id = %s AND c.status = %s"
        )
    else:
        scope = "WHERE f.collaboration_id = %s"
    return (
        f"SELECT f.id, {selected}, {for_all}, f.primary_contact_manages FROM {folder} f {scope}"  # noqa: S608 -- names from the models, quoted; every value a parameter
        " AND f.deleted_at IS NULL AND f.parent_id IS NULL AND f.customer_access IN (%s, %s) ORDER BY f.name"
    )


_ROOTS_OF_COLLABORATION = sql.Prepared(
    "portal_documents_roots_of_collaboration", lambda: _granted_roots_sql(at_customer=False)
)
_ROOTS_AT_CUSTOMER = sql.Prepared(
    "portal_documents_roots_at_customer", lambda: _granted_roots_sql(at_customer=True)
)


def _granted_roots(
    statement: sql.Prepared, scope: list[Any], *, user: User, is_primary_contact: bool
) -> list[int]:
    """The ids of the top-level folders `statement` finds in `scope` that are granted to `user`,
    as visible_root_ids explains.

    The grants are EXISTS subqueries in SQL, prepared once per connection (portal.sql.Prepared):
    built with Exists/OuterRef they took about 2.5 ms of a customer page's Python, compiled as
    RawSQL annotations 1 ms more (bench/pages.py). "LIMIT 1 OFFSET 0" keeps PostgreSQL from
    turning them into hashed subplans, which read every grant of every customer in the database
    (2,001 group rows at 1,000 customers) where a probe of the folder's own rows will do."""
    rows = statement.fetchall(
        ["view_folder", user.pk, "view_folder", *scope, CustomerAccess.READ.value, CustomerAccess.EDIT.value]
    )
    return [
        pk
        for pk, selected, for_all, managed in rows
        if selected or for_all or (managed and is_primary_contact)
    ]


def customer_membership(user: User, collaboration: Collaboration) -> CustomerMembership | None:
    """The user's membership of the collaboration's customer, while its users may see its files
    (active, or ended and still in its read period: customers.access.customer_may_read)."""
    if not customer_may_read(collaboration):
        return None
    return CustomerMembership.objects.filter(customer_id=collaboration.customer_id, user=user).first()


def _customer_side(
    user: User, collaboration: Collaboration, orgs: OrganisationContext | None
) -> CustomerMembership | Organisation | None:
    """The user's membership of the collaboration's customer: from the request's organisation
    context when there is one (no query), else from the database."""
    if orgs is None:
        return customer_membership(user, collaboration)
    if not customer_may_read(collaboration):
        return None
    return orgs.find("customer", collaboration.customer_id)


def rights_for(user: User, folder: Folder, *, orgs: OrganisationContext | None = None) -> FolderRights | None:
    """What `user` may do in `folder`, or None when they may not see it at all.

    Usable outside a request (notifications ask it before telling anyone about a document); in a
    request, pass `orgs=request.org` so the user's memberships are read once per request.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    collaboration = folder.collaboration
    if may_work_with(user, collaboration, orgs=orgs) is not None:
        return PARTNER_RIGHTS
    membership = _customer_side(user, collaboration, orgs)
    if membership is None:
        return None
    root = folder.root if folder.root_id != folder.pk else folder
    if root is None or root.customer_access == CustomerAccess.NONE:
        return None
    root_ids = tuple(visible_root_ids(user=user, collaboration=collaboration, membership=membership))
    if root.pk not in root_ids:
        return None
    if ended_read_only(collaboration):  # ended with its files kept: read and download, nothing more
        return FolderRights(side="customer", visible_root_ids=root_ids)
    edit = root.customer_access == CustomerAccess.EDIT
    return FolderRights(
        side="customer",
        can_upload=edit,
        can_delete_customer_files=edit,
        can_manage_access=membership.is_primary_contact and root.primary_contact_manages,
        visible_root_ids=root_ids,
    )


# A live folder with its collaboration, the collaboration's firm and customer and its top-level
# folder, in one row: what Folder.objects.select_related("collaboration__partner",
# "collaboration__customer", "root").get(pk=...) reads, prepared once per connection
# (portal.sql.Prepared: on every folder page its planning and compiling cost 2 ms, the row 0.2).
_FOLDER_ROW_MODELS: tuple[type[models.Model], ...] = (Folder, Collaboration, Partner, CustomerAccount, Folder)


def _folder_joins() -> str:
    """The joins from the folder `f` to its collaboration `c`, firm `p`, customer `u` and
    top-level folder `r`."""
    c = sql.column
    return (
        f" INNER JOIN {sql.joined('c', Collaboration, c('f', Folder, 'collaboration'))}"
        f" INNER JOIN {sql.joined('p', Partner, c('c', Collaboration, 'partner'))}"
        f" INNER JOIN {sql.joined('u', CustomerAccount, c('c', Collaboration, 'customer'))}"
        f" LEFT OUTER JOIN {sql.joined('r', Folder, c('f', Folder, 'root'))}"
    )


def _folder_row_sql() -> str:
    c = sql.column
    columns = sql.row_columns(_FOLDER_ROW_MODELS, "fcpur")
    return (
        f"SELECT {columns} FROM {sql.table(Folder)} f{_folder_joins()}"  # noqa: S608 -- names from the models, quoted; the value a parameter
        f" WHERE {c('f', Folder, 'pk')} = %s AND {c('f', Folder, 'deleted_at')} IS NULL"
    )


_FOLDER_ROW = sql.Prepared("portal_documents_folder_row", _folder_row_sql)
_BIGINT = 2**63

# A live document with its folder row (as above) and its current version, as
# Document.objects.select_related("folder__collaboration__partner", "folder__collaboration__customer",
# "folder__root", "current_version") reads it: every download, document page and thumbnail of a
# document opens with it. Through the ORM its seven-table join was planned for 3-5 ms to run in
# 0.5 (issue 16).
_DOCUMENT_ROW_MODELS: tuple[type[models.Model], ...] = (Document, *_FOLDER_ROW_MODELS, DocumentVersion)


def _document_row_sql() -> str:
    c = sql.column
    columns = sql.row_columns(_DOCUMENT_ROW_MODELS, "dfcpurv")
    return (
        f"SELECT {columns} FROM {sql.table(Document)} d"  # noqa: S608 -- names from the models, quoted; the value a parameter
        f" INNER JOIN {sql.joined('f', Folder, c('d', Document, 'folder'))}{_folder_joins()}"
        f" LEFT OUTER JOIN {sql.joined('v', DocumentVersion, c('d', Document, 'current_version'))}"
        f" WHERE {c('d', Document, 'pk')} = %s AND {c('d', Document, 'deleted_at')} IS NULL"
    )


_DOCUMENT_ROW = sql.Prepared("portal_documents_document_row", _document_row_sql)


# Any version of a document, deleted ones included, with its document, the document's folder row
# and who deleted each, as DocumentVersion.objects.select_related("document__folder__collaboration__
# partner", "document__folder__collaboration__customer", "document__folder__root", "deleted_by",
# "document__deleted_by") reads it: every thumbnail and version download opens with it.
_VERSION_ROW_MODELS: tuple[type[models.Model], ...] = (
    DocumentVersion,
    Document,
    *_FOLDER_ROW_MODELS,
    User,
    User,
)


def _version_row_sql() -> str:
    c = sql.column
    columns = sql.row_columns(_VERSION_ROW_MODELS, "vdfcpurxy")
    return (
        f"SELECT {columns} FROM {sql.table(DocumentVersion)} v"  # noqa: S608 -- names from the models, quoted; the value a parameter
        f" INNER JOIN {sql.joined('d', Document, c('v', DocumentVersion, 'document'))}"
        f" INNER JOIN {sql.joined('f', Folder, c('d', Document, 'folder'))}{_folder_joins()}"
        f" LEFT OUTER JOIN {sql.joined('x', User, c('v', DocumentVersion, 'deleted_by'))}"
        f" LEFT OUTER JOIN {sql.joined('y', User, c('d', Document, 'deleted_by'))}"
        f" WHERE {c('v', DocumentVersion, 'pk')} = %s"
    )


_VERSION_ROW = sql.Prepared("portal_documents_version_row", _version_row_sql)


def _relate_folder(
    folder: models.Model | None,
    collaboration: models.Model | None,
    partner: models.Model | None,
    customer: models.Model | None,
    root: models.Model | None,
) -> Folder:
    """The folder of a row, its relations set as select_related sets them."""
    assert isinstance(folder, Folder) and isinstance(collaboration, Collaboration)
    Collaboration.partner.field.set_cached_value(collaboration, partner)
    Collaboration.customer.field.set_cached_value(collaboration, customer)
    Folder.collaboration.field.set_cached_value(folder, collaboration)
    Folder.root.field.set_cached_value(folder, root)
    return folder


def document_with_relations(document_id: int) -> Document | None:
    """The live document `document_id` with .folder (loaded as folder_with_relations loads it) and
    .current_version (None without one), as the select_related query gives it; None if there is
    none. Whether the user may see it is the caller's question."""
    if not -_BIGINT <= document_id < _BIGINT:  # the ORM finds nothing there either
        return None
    row = _DOCUMENT_ROW.fetchone([document_id])
    if row is None:
        return None
    document, *folder_row, version = sql.row_instances(_DOCUMENT_ROW_MODELS, row)
    assert isinstance(document, Document)
    Document.folder.field.set_cached_value(document, _relate_folder(*folder_row))
    Document.current_version.field.set_cached_value(document, version)
    return document


def folder_with_relations(folder_id: int) -> Folder | None:
    """The live folder `folder_id` with .collaboration (and its .partner and .customer) and .root
    loaded, as the select_related query gives it; None if there is none."""
    if not -_BIGINT <= folder_id < _BIGINT:  # the ORM finds nothing there either
        return None
    row = _FOLDER_ROW.fetchone([folder_id])
    if row is None:
        return None
    return _relate_folder(*sql.row_instances(_FOLDER_ROW_MODELS, row))


def version_with_relations(version_id: int) -> DocumentVersion | None:
    """The version `version_id`, deleted or not, with .document (and its .folder, loaded as
    folder_with_relations loads it, and .deleted_by) and .deleted_by, as the select_related query
    gives it; None if there is none. Whether the user may see it is the caller's question."""
    if not -_BIGINT <= version_id < _BIGINT:
        return None
    row = _VERSION_ROW.fetchone([version_id])
    if row is None:
        return None
    version, document, *folder_row, version_deleted_by, document_deleted_by = sql.row_instances(
        _VERSION_ROW_MODELS, row
    )
    assert isinstance(version, DocumentVersion) and isinstance(document, Document)
    Document.folder.field.set_cached_value(document, _relate_folder(*folder_row))
    Document.deleted_by.field.set_cached_value(document, document_deleted_by)
    DocumentVersion.document.field.set_cached_value(version, document)
    DocumentVersion.deleted_by.field.set_cached_value(version, version_deleted_by)
    return version


def _folder(
    user: User, folder_id: int, *, collaboration_id: int | None, orgs: OrganisationContext | None
) -> tuple[Folder, FolderRights]:
    folder = folder_with_relations(folder_id)
    if folder is None:
        raise Http404
    if collaboration_id is not None and folder.collaboration_id != collaboration_id:
        raise Http404
    rights = rights_for(user, folder, orgs=orgs)
    if rights is None:
        raise Http404
    return folder, rights


def folder_for_user(
    request: AuthedRequest, folder_id: int, *, collaboration_id: int | None = None
) -> tuple[Folder, FolderRights]:
    """A folder the user may see, with their rights in it; 404 otherwise. The user's memberships
    come from the request's organisation context (loaded anyway for the page's header)."""
    return _folder(request.user, folder_id, collaboration_id=collaboration_id, orgs=request.org)


def folder_for_partner(request: AuthedRequest, folder_id: int, *, collaboration_id: int) -> Folder:
    folder, rights = folder_for_user(request, folder_id, collaboration_id=collaboration_id)
    if not rights.is_partner:
        raise Http404
    return folder


# The helpers below read the user's memberships from the database, not from the request's
# organisation context: as they did before the request was their first argument, so that every
# page's query count stays what it was. The two collaboration_for_*_documents, which the busiest
# pages call, take them from the request's context (issue 16: one query fewer a page).


def folder_for_access_manager(
    request: AuthedRequest, folder_id: int, *, collaboration_id: int | None = None
) -> tuple[Folder, FolderRights]:
    """A folder whose "who at the customer" the user may change: partner, or primary contact if allowed."""
    folder, rights = _folder(request.user, folder_id, collaboration_id=collaboration_id, orgs=None)
    if not rights.can_manage_access:
        raise PermissionDenied
    return folder, rights


def folder_for_upload(request: AuthedRequest, folder_id: int) -> tuple[Folder, FolderRights]:
    folder, rights = _folder(request.user, folder_id, collaboration_id=None, orgs=None)
    if not rights.can_upload:
        raise PermissionDenied
    return folder, rights


def document_for_user(request: AuthedRequest, document_id: int) -> tuple[Document, FolderRights]:
    """A live document in a folder the user may see. A deleted document is a 404 here; its versions
    say "deleted" through `version_for_user`."""
    document = document_with_relations(document_id)
    if document is None:
        raise Http404
    rights = rights_for(request.user, document.folder, orgs=request.org)
    if rights is None:
        raise Http404
    return document, rights


def version_for_user(request: AuthedRequest, version_id: int) -> tuple[DocumentVersion, FolderRights]:
    """Any version, deleted ones included, of a document in a folder the user may see (404 otherwise).
    The caller tells the user a deleted version is gone."""
    version = version_with_relations(version_id)
    if version is None:
        raise Http404
    rights = rights_for(request.user, version.document.folder, orgs=request.org)
    if rights is None:
        raise Http404
    return version, rights


def collaboration_for_partner_documents(request: AuthedRequest, collaboration_id: int) -> Collaboration:
    """A customer whose folders the user works with on the partner side (`may_work_with`); 404 otherwise."""
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"), pk=collaboration_id
    )
    if may_work_with(request.user, collaboration, orgs=request.org) is None:
        raise Http404
    return collaboration


def collaboration_for_customer_documents(
    request: AuthedRequest, collaboration_id: int
) -> tuple[Collaboration, CustomerMembership | Organisation]:
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("partner", "customer"), pk=collaboration_id
    )
    membership = _customer_side(request.user, collaboration, request.org)
    if membership is None:
        raise Http404
    return collaboration, membership


# --- Trash -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerTrashRights:
    """A customer user's view of the trash: the top-level folders they see, and of those the ones
    they may edit (restore into)."""

    root_ids: tuple[int, ...]
    edit_root_ids: frozenset[int]


def customer_trash_rights(
    request: AuthedRequest, collaboration: Collaboration, membership: CustomerMembership | Organisation
) -> CustomerTrashRights:
    roots = tuple(visible_root_ids(user=request.user, collaboration=collaboration, membership=membership))
    if collaboration.status != CollaborationStatus.ACTIVE:  # ended: read only, nothing to restore
        return CustomerTrashRights(root_ids=roots, edit_root_ids=frozenset())
    edit = Folder.objects.filter(pk__in=roots, customer_access=CustomerAccess.EDIT)
    return CustomerTrashRights(root_ids=roots, edit_root_ids=frozenset(edit.values_list("pk", flat=True)))


def trash_entry_for_partner(request: AuthedRequest, collaboration_id: int, entry_id: int) -> TrashEntry:
    """An entry of a customer's trash the user works with on the partner side (any entry); 404
    otherwise."""
    collaboration = collaboration_for_partner_documents(request, collaboration_id)
    return get_object_or_404(TrashEntry, pk=entry_id, collaboration=collaboration)


def trash_entry_for_customer(request: AuthedRequest, collaboration_id: int, entry_id: int) -> TrashEntry:
    """An entry a customer user may restore: deleted by a user of the customer, in a folder they
    see (404 otherwise) and may edit (403 otherwise)."""
    collaboration, membership = collaboration_for_customer_documents(request, collaboration_id)
    entry = get_object_or_404(
        TrashEntry.objects.select_related("document__folder"),
        pk=entry_id,
        collaboration=collaboration,
        by_customer=True,
        kind=TrashKind.DOCUMENT,
    )
    rights = customer_trash_rights(request, collaboration, membership)
    root = trash_entry_root_id(entry)
    if root not in rights.root_ids:
        raise Http404
    if root not in rights.edit_root_ids:
        raise PermissionDenied
    return entry


def trash_entry_root_id(entry: TrashEntry) -> int | None:
    """The top-level folder a document entry was deleted from."""
    if entry.document is None:
        return None
    folder = entry.document.folder
    return folder.root_id or folder.pk
