"""URLs of the customers app: the partner's customers (Mina samarbeten) and the customer's partners
(Samarbeten), invitations and the customer's users."""

from __future__ import annotations

from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    # Partner side: Mina samarbeten
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/invite/", views.customer_invite, name="customer_invite"),
    path("customers/<int:collaboration_id>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:collaboration_id>/users/", views.customer_users, name="customer_users"),
    path("customers/<int:collaboration_id>/users/add/", views.customer_user_add, name="customer_user_add"),
    path("customers/<int:collaboration_id>/settings/", views.customer_settings, name="customer_settings"),
    path("customers/<int:collaboration_id>/end/", views.customer_end, name="customer_end"),
    # Customer side: Samarbeten
    path("collaborations/", views.collaboration_list, name="collaboration_list"),
    path("collaborations/<int:collaboration_id>/", views.collaboration_detail, name="collaboration_detail"),
    path(
        "collaborations/invitations/<int:collaboration_id>/respond/",
        views.invitation_respond,
        name="invitation_respond",
    ),
    path("collaborations/invitations/t/<str:token>/", views.invitation_by_token, name="invitation_by_token"),
    # Customer side: the customer's own users
    path("organisation/users/", views.org_users, name="org_users"),
    path(
        "organisation/users/<int:membership_id>/admin/", views.org_user_set_admin, name="org_user_set_admin"
    ),
    path(
        "organisation/users/<int:membership_id>/primary/",
        views.org_user_make_primary,
        name="org_user_make_primary",
    ),
    path("organisation/users/<int:membership_id>/remove/", views.org_user_remove, name="org_user_remove"),
    path(
        "organisation/users/<int:membership_id>/welcome/",
        views.org_user_resend_welcome,
        name="org_user_resend_welcome",
    ),
]
