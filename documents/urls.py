"""URLs of the documents app: the partner's and the customer's folder pages, trash, log, search and
the files both sides share."""

from __future__ import annotations

from django.urls import path

from documents.views import audit, customer, files, partner, retention, search, trash

app_name = "documents"

# The partner side reaches a customer's documents under "customers/", the customer side its
# collaboration's under "collaborations/"; both take the collaboration's id.
CUSTOMER_DOCUMENTS = "customers/<int:collaboration_id>/documents/"
COLLABORATION_DOCUMENTS = "collaborations/<int:collaboration_id>/documents/"

urlpatterns = [
    # Partner side: Mina samarbeten / customer / Dokument
    path(CUSTOMER_DOCUMENTS, partner.root, name="partner_root"),
    path(CUSTOMER_DOCUMENTS + "folders/new/", partner.folder_create, name="partner_folder_create"),
    path(CUSTOMER_DOCUMENTS + "folders/<int:folder_id>/", partner.folder_detail, name="partner_folder"),
    path(
        CUSTOMER_DOCUMENTS + "folders/<int:folder_id>/rename/",
        partner.folder_rename,
        name="partner_folder_rename",
    ),
    path(
        CUSTOMER_DOCUMENTS + "folders/<int:folder_id>/move/",
        partner.folder_move,
        name="partner_folder_move",
    ),
    path(
        CUSTOMER_DOCUMENTS + "folders/<int:folder_id>/delete/",
        partner.folder_delete,
        name="partner_folder_delete",
    ),
    path(
        CUSTOMER_DOCUMENTS + "folders/<int:folder_id>/access/",
        partner.folder_access,
        name="partner_folder_access",
    ),
    path(
        CUSTOMER_DOCUMENTS + "folders/<int:folder_id>/retention/",
        retention.folder_retention,
        name="partner_folder_retention",
    ),
    path(CUSTOMER_DOCUMENTS + "folders/<int:folder_id>/bulk/", partner.bulk, name="partner_bulk"),
    path(CUSTOMER_DOCUMENTS + "trash/", trash.partner_trash, name="partner_trash"),
    path(
        CUSTOMER_DOCUMENTS + "trash/<int:entry_id>/restore/",
        trash.partner_restore,
        name="partner_trash_restore",
    ),
    path("customers/trash/empty/", trash.trash_empty, name="trash_empty"),
    path("customers/<int:collaboration_id>/log/", audit.audit_log, name="partner_audit"),
    path("customers/<int:collaboration_id>/log/csv/", audit.audit_log_csv, name="partner_audit_csv"),
    path("customers/search/", search.partner_search, name="partner_search"),
    path(CUSTOMER_DOCUMENTS + "search/", search.partner_customer_search, name="partner_customer_search"),
    # Customer side: Samarbeten / partner
    path(COLLABORATION_DOCUMENTS, customer.root, name="customer_root"),
    path(
        COLLABORATION_DOCUMENTS + "folders/<int:folder_id>/",
        customer.folder_detail,
        name="customer_folder",
    ),
    path(
        COLLABORATION_DOCUMENTS + "folders/<int:folder_id>/access/",
        customer.folder_access,
        name="customer_folder_access",
    ),
    path(
        COLLABORATION_DOCUMENTS + "folders/<int:folder_id>/bulk/",
        customer.bulk,
        name="customer_bulk",
    ),
    path(COLLABORATION_DOCUMENTS + "trash/", trash.customer_trash, name="customer_trash"),
    path(
        COLLABORATION_DOCUMENTS + "trash/<int:entry_id>/restore/",
        trash.customer_restore,
        name="customer_trash_restore",
    ),
    path("collaborations/search/", search.customer_search, name="customer_search"),
    path(
        COLLABORATION_DOCUMENTS + "search/",
        search.customer_collaboration_search,
        name="customer_collaboration_search",
    ),
    # Files, both sides
    path("documents/folders/<int:folder_id>/upload/", files.upload, name="upload"),
    path("documents/<int:document_id>/", files.document_detail, name="document_detail"),
    path("documents/<int:document_id>/download/", files.document_download, name="document_download"),
    path("documents/<int:document_id>/delete/", files.document_delete, name="document_delete"),
    path("documents/versions/<int:version_id>/download/", files.version_download, name="version_download"),
    path("documents/versions/<int:version_id>/preview/", files.preview, name="preview"),
    path("documents/versions/<int:version_id>/delete/", files.version_delete, name="version_delete"),
]

# Ending a collaboration: the customer's folders as one zip, and the files kept after the end.
from documents.views import ending  # noqa: E402

urlpatterns += [
    path(CUSTOMER_DOCUMENTS + "zip/", ending.folders_zip, name="ending_zip"),
    path("customers/<int:collaboration_id>/files-kept/", ending.files_kept, name="ending_files_kept"),
    path(
        "customers/<int:collaboration_id>/files-kept/<int:document_id>/download/",
        ending.kept_download,
        name="ending_kept_download",
    ),
]
