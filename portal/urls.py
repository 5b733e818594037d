"""The root URLconf: the portal's own pages (login, profile, two-factor, BankID) and each app's URLs."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, reverse_lazy
from django.views.generic import RedirectView
from django.views.static import serve

from portal import bankid_views, session_views, twofactor_views, views
from portal.forms import LocalisedPasswordResetForm
from portal.tokens import password_reset_tokens
from portal.twofactor import reauth_required


class FaviconView(RedirectView):
    permanent = True

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        # At request time: the manifest of hashed static names is read once it exists.
        return static("img/favicon.svg")


urlpatterns = [
    path("", views.home, name="home"),
    # Browsers ask for /favicon.ico where a page names no icon (a PDF in the viewer, say).
    path("favicon.ico", FaviconView.as_view()),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/login/bankid/", bankid_views.bankid_login_start, name="bankid_login_start"),
    path("accounts/login/bankid/<uuid:order_id>/", bankid_views.bankid_login_wait, name="bankid_login_wait"),
    path(
        "accounts/login/bankid/<uuid:order_id>/status/",
        bankid_views.bankid_login_status,
        name="bankid_login_status",
    ),
    path(
        "accounts/login/bankid/<uuid:order_id>/cancel/",
        bankid_views.bankid_login_cancel,
        name="bankid_login_cancel",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        reauth_required(session_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        views.PasswordResetView.as_view(
            form_class=LocalisedPasswordResetForm,
            email_template_name="emails/password_reset.txt",
            html_email_template_name="emails/password_reset.html",
            subject_template_name="emails/password_reset_subject.txt",
            token_generator=password_reset_tokens,
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        session_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete"), token_generator=password_reset_tokens
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("accounts/set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set_password"),
    path("accounts/set-password/done/", views.SetPasswordDoneView.as_view(), name="set_password_done"),
    path("account/", views.profile, name="profile"),
    path("account/sessions/<int:session_id>/end/", session_views.session_end, name="session_end"),
    path("account/sessions/end-others/", session_views.sessions_end_others, name="sessions_end_others"),
    path("accounts/login/code/", twofactor_views.twofactor_verify, name="twofactor_verify"),
    path("account/two-factor/enrol/", twofactor_views.twofactor_enrol, name="twofactor_enrol"),
    path(
        "account/two-factor/enrol/recovery-codes/",
        twofactor_views.twofactor_recovery_codes,
        name="twofactor_recovery_codes",
    ),
    path(
        "account/two-factor/recovery-codes/new/",
        twofactor_views.twofactor_recovery_codes_new,
        name="twofactor_recovery_codes_new",
    ),
    path("account/two-factor/disable/", twofactor_views.twofactor_disable, name="twofactor_disable"),
    path("account/confirm/", twofactor_views.reauthenticate, name="reauthenticate"),
    path("account/organisation/", views.switch_organisation, name="switch_organisation"),
    path("language/", views.set_language, name="set_language"),
    # The benchmarks' baseline page: the base layout alone, logged in (see bench/README.md).
    path("bench/floor/", views.bench_floor, name="bench_floor"),
    path("settings/", include("partners.urls")),
    path("settings/", include("billing.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("customers.urls")),
    path("", include("documents.urls")),
    path("", include("signing.urls")),
    path("", include("docrequests.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "portal.views.page_not_found"
handler403 = "portal.views.permission_denied"
handler500 = "portal.unavailable.server_error"

if settings.DEBUG:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
