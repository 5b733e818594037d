from __future__ import annotations

from django.urls import path

from partners import views

app_name = "partners"
urlpatterns = [
    path("", views.settings_overview, name="settings"),
    path("two-factor/", views.two_factor_requirement, name="two_factor_requirement"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/<int:membership_id>/role/", views.staff_change_role, name="staff_change_role"),
    path("staff/<int:membership_id>/remove/", views.staff_remove, name="staff_remove"),
]
