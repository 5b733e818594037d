"""My account's list of logged-in browsers, and the password views that end the other sessions
(rules in portal/sessions.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal import sessions
from portal.context import AuthedRequest


def session_list(request: AuthedRequest) -> dict[str, Any]:
    """The person's sessions for My account, this one marked, and their limits; one query."""
    current = sessions.current_row_id(request)
    kind = sessions.current_kind(request)
    rows = [
        {"row": row, "device": sessions.device_label(row.user_agent), "current": row.pk == current}
        for row in sessions.sessions_of(user=request.user, kind=kind)
    ]
    return {
        "rows": rows,
        "others": any(not row["current"] for row in rows),
        "limits": sessions.limits_text(kind),
    }


def _back_to_list() -> HttpResponse:
    return redirect(f"{reverse('profile')}#sessions-h")


@login_required
@require_POST
def session_end(request: AuthedRequest, session_id: int) -> HttpResponse:
    """End one of the person's other sessions: their own only, anyone else's is a 404."""
    own_others = sessions.sessions_of(user=request.user, kind=sessions.current_kind(request)).exclude(
        pk=sessions.current_row_id(request) or 0
    )
    user_session = get_object_or_404(own_others, pk=session_id)
    sessions.session_end(actor=request.user, user_session=user_session)
    messages.success(request, _("The session was ended."))
    return _back_to_list()


@login_required
@require_POST
def sessions_end_others(request: AuthedRequest) -> HttpResponse:
    count = sessions.sessions_end(user=request.user, actor=request.user, reason="user", keep=request)
    messages.success(
        request,
        ngettext("%(count)d other session was ended.", "%(count)d other sessions were ended.", count)
        % {"count": count},
    )
    return _back_to_list()


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's; the person's other sessions end with the old password (this one goes on)."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        sessions.sessions_end(user=form.user, actor=form.user, reason="password_changed", keep=self.request)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's; every session of the person ends with the old password."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        sessions.sessions_end(user=form.user, actor=form.user, reason="password_reset")
        return response
