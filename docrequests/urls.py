from __future__ import annotations

from django.urls import path

from docrequests import views

app_name = "docrequests"
urlpatterns = [
    # Partner side: Mina samarbeten / customer / Requests, and the firm's templates
    path("customers/<int:collaboration_id>/requests/", views.partner_list, name="partner_list"),
    path("customers/<int:collaboration_id>/requests/new/", views.partner_create, name="partner_create"),
    path("customers/requests/<int:docrequest_id>/", views.partner_detail, name="partner_detail"),
    path("customers/requests/<int:docrequest_id>/done/", views.partner_complete, name="partner_complete"),
    path("customers/requests/<int:docrequest_id>/cancel/", views.partner_cancel, name="partner_cancel"),
    path("customers/request-templates/", views.template_list, name="template_list"),
    path(
        "customers/request-templates/<int:template_id>/delete/", views.template_delete, name="template_delete"
    ),
    # Customer side: Samarbeten / requested from you
    path("collaborations/requests/<int:docrequest_id>/", views.customer_detail, name="customer_detail"),
    path(
        "collaborations/requests/<int:docrequest_id>/items/<int:item_id>/upload/",
        views.customer_upload,
        name="customer_upload",
    ),
    path(
        "collaborations/requests/<int:docrequest_id>/done/", views.customer_complete, name="customer_complete"
    ),
]
