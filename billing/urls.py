from __future__ import annotations

from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("balances/", views.balances, name="balances"),
    path("storage/", views.storage, name="storage"),
    path("statements/", views.statements, name="statements"),
    path("statements/<int:year>-<int:month>/", views.statement_detail, name="statement"),
    path("statements/<int:year>-<int:month>/pdf/", views.statement_pdf, name="statement_pdf"),
    path("statements/<int:year>-<int:month>/csv/", views.statement_csv, name="statement_csv"),
]
