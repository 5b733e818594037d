"""URLs of e-signing: the party's signing pages, the partner's signing wizard and fixes, and the
customer's signings."""

from __future__ import annotations

from django.urls import path

from signing import customer_views, partner_views, verify_views, views

# The partner side reaches a customer's signings under "customers/", the customer side its
# collaboration's under "collaborations/"; both take the collaboration's id.
CUSTOMER_SIGNINGS = "customers/<int:collaboration_id>/signings/"
COLLABORATION_SIGNINGS = "collaborations/<int:collaboration_id>/signings/"

app_name = "signing"
urlpatterns = [
    path("sign/<str:token>/", views.sign, name="sign"),
    path("sign/<str:token>/document/", views.document, name="document"),
    path("sign/<str:token>/pages/<int:number>.png", views.page_image, name="page"),
    path("sign/<str:token>/attachments/<int:position>/", views.document, name="attachment"),
    path("sign/<str:token>/signed.pdf", views.sealed, name="sealed"),
    path("sign/<str:token>/bankid/", views.bankid_start, name="bankid_start"),
    path("sign/<str:token>/bankid/<uuid:order_id>/", views.bankid_wait, name="bankid_wait"),
    path("sign/<str:token>/bankid/<uuid:order_id>/status/", views.bankid_status, name="bankid_status"),
    path("sign/<str:token>/bankid/<uuid:order_id>/cancel/", views.bankid_cancel, name="bankid_cancel"),
    path("signings/mine/<int:party_id>/", views.party_open, name="party_open"),
    path("verify/", verify_views.verify_page, name="verify"),  # public: anyone checks a sealed PDF
    # Partner side: Mina samarbeten / customer / Signeringar
    path(CUSTOMER_SIGNINGS, partner_views.signing_list, name="partner_list"),
    path(
        CUSTOMER_SIGNINGS + "attention/<str:kind>/dismiss/",
        partner_views.attention_dismiss,
        name="attention_dismiss",
    ),
    path(CUSTOMER_SIGNINGS + "new/<int:document_id>/", partner_views.signing_new, name="partner_new"),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/edit/parties/",
        partner_views.draft_parties,
        name="partner_draft_parties",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/edit/settings/",
        partner_views.draft_settings,
        name="partner_draft_settings",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/edit/review/",
        partner_views.draft_review,
        name="partner_draft_review",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/send/",
        partner_views.draft_send,
        name="partner_draft_send",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/delete/",
        partner_views.draft_delete,
        name="partner_draft_delete",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/send-again/",
        partner_views.signing_send_again,
        name="partner_send_again",
    ),
    path(CUSTOMER_SIGNINGS + "<int:request_id>/", partner_views.signing_detail, name="partner_detail"),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/cancel/",
        partner_views.signing_cancel,
        name="partner_cancel",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/parties/<int:party_id>/revoke/",
        partner_views.party_revoke,
        name="partner_revoke",
    ),
    # Fixing a sent signing (its page's forms)
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/deadline/",
        partner_views.deadline_extend,
        name="partner_deadline",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/parties/add/",
        partner_views.party_add,
        name="partner_party_add",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/parties/<int:party_id>/remind/",
        partner_views.party_remind,
        name="partner_party_remind",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/parties/<int:party_id>/change/",
        partner_views.party_change,
        name="partner_party_change",
    ),
    path(
        CUSTOMER_SIGNINGS + "<int:request_id>/parties/<int:party_id>/remove/",
        partner_views.party_remove,
        name="partner_party_remove",
    ),
    path(
        "customers/<int:collaboration_id>/folders/<int:folder_id>/sign/",
        partner_views.signing_start,
        name="partner_start",
    ),
    # Customer side: Samarbeten / partner / Signeringar
    path(COLLABORATION_SIGNINGS, customer_views.signing_list, name="customer_list"),
    path(
        COLLABORATION_SIGNINGS + "<int:request_id>/",
        customer_views.signing_detail,
        name="customer_detail",
    ),
    path(
        COLLABORATION_SIGNINGS + "<int:request_id>/signed.pdf",
        customer_views.sealed_download,
        name="customer_sealed",
    ),
]
