"""The partner's settings pages: the overview, required two-factor authentication and the staff list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partners import access, selectors, services
from partners.forms import RoleForm, StaffInviteForm, TwoFactorRequirementForm
from partners.models import PartnerRole
from portal.context import AuthedRequest
from portal.errors import ServiceError
from portal.twofactor import reauth_required, reauthenticate_first, recently_reauthenticated


@login_required
def settings_overview(request: AuthedRequest) -> HttpResponse:
    partner, is_admin = access.active_partner(request)
    form = TwoFactorRequirementForm(initial={"require_two_factor": partner.require_two_factor})
    return render(
        request, "partners/settings.html", {"partner": partner, "is_admin": is_admin, "two_factor_form": form}
    )


@login_required
@require_POST
def two_factor_requirement(request: AuthedRequest) -> HttpResponse:
    partner = access.active_partner_for_admin(request)
    form = TwoFactorRequirementForm(request.POST)
    form.is_valid()  # a checkbox: absent or unreadable means "not required"
    required = bool(form.cleaned_data.get("require_two_factor"))
    services.partner_set_two_factor_requirement(partner=partner, actor=request.user, required=required)
    if required:
        messages.success(request, _("Two-factor authentication is now required for all staff."))
    else:
        messages.success(request, _("Two-factor authentication is no longer required."))
    return redirect("partners:settings")


@login_required
@require_http_methods(["GET", "POST"])
def staff_list(request: AuthedRequest) -> HttpResponse:
    partner, is_admin = access.active_partner(request)
    form = StaffInviteForm(request.POST or None, initial={"language": request.user.language})
    status = 200
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        if form.is_valid():
            # A new account administrator is a change to who can run the firm's account: as
            # changing a role (staff_change_role), it needs a recent confirmation. Staff do not.
            if form.cleaned_data["role"] == PartnerRole.ADMIN and not recently_reauthenticated(request):
                return reauthenticate_first(reverse("partners:staff_list"))
            try:
                membership = services.staff_invite(partner=partner, actor=request.user, **form.cleaned_data)
            except ServiceError as error:
                error.add_to(form)
            else:
                messages.success(
                    request, _("%(name)s was invited.") % {"name": membership.user.get_full_name()}
                )
                return redirect("partners:staff_list")
        status = 422
    members = selectors.staff_of(partner=partner)
    return render(
        request,
        "partners/staff_list.html",
        {"partner": partner, "is_admin": is_admin, "members": members, "form": form, "role_form": RoleForm()},
        status=status,
    )


@login_required
@reauth_required
@require_POST
def staff_change_role(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access.membership_for_admin(request, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("partners:staff_list")
    try:
        services.membership_change_role(
            membership=membership, actor=request.user, role=form.cleaned_data["role"]
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The role of %(name)s was changed.") % {"name": membership.user.get_full_name()}
        )
    return redirect("partners:staff_list")


@login_required
@reauth_required
@require_http_methods(["GET", "POST"])
def staff_remove(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access.membership_for_admin(request, membership_id)
    if request.method == "GET":
        return render(request, "partners/staff_remove.html", {"membership": membership})
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s was removed.") % {"name": membership.user.get_full_name()})
    return redirect("partners:staff_list")
