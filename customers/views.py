"""Pages of the customers app: the partner's customers (Mina samarbeten) and the customer's partners
(Samarbeten), invitations, customer users and ending a collaboration."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from customers import access, badges, hooks, selectors, services
from customers.forms import (
    BaseExtraUserFormSet,
    CollaborationEndForm,
    CustomerInviteForm,
    CustomerUserAddForm,
    DocumentsCustomerForm,
    ExtraUserFormSet,
    InvitationResponseForm,
    StaffAssignmentForm,
    check_unique_emails,
)
from customers.models import Collaboration, CollaborationStatus, CustomerAccount
from customers.rows import customer_rows
from partners.access import active_partner, active_partner_org
from portal import throttle
from portal.context import AuthedRequest
from portal.errors import ServiceError

# --- Partner side: Mina samarbeten -----------------------------------------------------


@login_required
def customer_list(request: AuthedRequest) -> HttpResponse:
    org = active_partner_org(request)  # its name heads the page: no query for the Partner row
    query = request.GET.get("q", "")[:100]
    customers = selectors.PartnerCustomers(
        user=request.user,
        partner=org,
        search=query,
        # Account administrators also see the ended collaborations, for the files kept after the end.
        include_ended=org.is_admin,
        # The other apps' columns (signings needing attention, open requests): customers.badges.
        annotations=badges.partner_annotations(user=request.user),
    )
    page = _customers_page(customers, request.GET.get("page"), settings.PAGE_SIZE)
    columns = badges.partner_columns()
    return render(
        request,
        "customers/customer_list.html",
        {
            "partner": org,
            "page": page,
            "query": query,
            "columns": columns,
            "rows": customer_rows(page.object_list, columns=columns, request=request),
        },
    )


def _customers_page(
    customers: selectors.PartnerCustomers, requested: str | None, size: int
) -> Page[Collaboration]:
    """The page `requested` of the customers as Paginator.get_page picks it (not a number: the
    first; past the end or below 1: the last), its collaborations the object_list. The count comes
    with the page, so the list is read once a request; only a page past the end reads again, the
    last."""
    # Paginator reads the number as it would (documents.views.search._found_page does the same),
    # below 1 or past _PAGES_MAX taken to be past the end.
    number = Paginator(range(_PAGES_MAX), 1).get_page(requested).number
    got = customers.page((number - 1) * size, size)
    paginator: Paginator[Any] = Paginator(range(got.total), size)  # counts; the rows are got's
    if not got.rows and number > 1:
        number = paginator.num_pages
        got = customers.page((number - 1) * size, size)
    return Page(got.rows, paginator.validate_number(number), paginator)


# Past this a page number is taken to be past the end (an OFFSET PostgreSQL can take).
_PAGES_MAX = 10**9


@login_required
@require_http_methods(["GET", "POST"])
def customer_create(request: AuthedRequest) -> HttpResponse:
    """One form for a free Documents customer: company, primary contact and more users."""
    partner, _is_admin = active_partner(request)
    form = DocumentsCustomerForm(request.POST or None)
    formset = cast(BaseExtraUserFormSet, ExtraUserFormSet(request.POST or None, prefix="users"))
    if request.method == "POST":
        if form.is_valid() and formset.is_valid() and check_unique_emails(form, formset):
            try:
                collaboration = services.customer_create(
                    partner=partner,
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    org_number=form.cleaned_data["org_number"],
                    primary_contact=form.primary_contact(),
                    users=formset.specs(),
                )
            except ServiceError as error:
                error.add_to(form)
            else:
                messages.success(request, _("%(name)s was created.") % {"name": collaboration.customer.name})
                return redirect(collaboration)
        return render(
            request, "customers/customer_create.html", {"form": form, "formset": formset}, status=422
        )
    return render(request, "customers/customer_create.html", {"form": form, "formset": formset})


@login_required
@require_http_methods(["GET", "POST"])
def customer_invite(request: AuthedRequest) -> HttpResponse:
    partner, _is_admin = active_partner(request)
    form = CustomerInviteForm(request.POST or None)
    if request.method == "POST":
        # The answer tells whether an org number and an admin email belong together: a few tries
        # per firm an hour, so it cannot be used to probe.
        if throttle.limited(
            request,
            group="customer-invite",
            rate=settings.RATE_CUSTOMER_INVITE,
            key=lambda _g, _r: str(partner.pk),
        ):
            return throttle.too_many_requests(request, scope="customer_invite")
        if form.is_valid():
            try:
                collaboration, _token = services.customer_invite(
                    partner=partner, actor=request.user, **form.cleaned_data
                )
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("%(name)s was invited. Their administrator has been emailed.")
                    % {"name": collaboration.customer.name},
                )
                return redirect("customers:customer_list")
        return render(request, "customers/customer_invite.html", {"form": form}, status=422)
    return render(request, "customers/customer_invite.html", {"form": form})


@login_required
def customer_detail(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration, org = access.collaboration_for_partner_user(request, collaboration_id)
    users = selectors.customer_users_for_partner(collaboration=collaboration)
    return render(
        request,
        "customers/customer_detail.html",
        {"collaboration": collaboration, "org": org, "users": users, "tab": "overview"},
    )


@login_required
def customer_users(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration, org = access.collaboration_for_partner_user(request, collaboration_id)
    users = selectors.customer_users_for_partner(collaboration=collaboration)
    return render(
        request,
        "customers/customer_users.html",
        {
            "collaboration": collaboration,
            "org": org,
            "users": users,
            "tab": "users",
            "can_manage": selectors.partner_manages_users(collaboration=collaboration),
            "form": CustomerUserAddForm(),
        },
    )


@login_required
@require_POST
def customer_user_add(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    """Partners manage the users of the free Documents accounts they created until the customer
    takes them over (selectors.partner_manages_users); a customer with its own subscription
    manages its users itself."""
    collaboration, org = access.collaboration_for_partner_user(request, collaboration_id)
    if not selectors.partner_manages_users(collaboration=collaboration):
        messages.error(request, _("%(name)s manages its own users.") % {"name": collaboration.customer.name})
        return redirect("customers:customer_users", collaboration.pk)
    form = CustomerUserAddForm(request.POST)
    if form.is_valid():
        try:
            membership = services.customer_user_add_by_partner(
                collaboration=collaboration,
                actor=request.user,
                spec=form.to_spec(),
                is_admin=form.cleaned_data["is_admin"],
            )
        except ServiceError as error:
            error.add_to(form)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": membership.user.get_full_name()})
            return redirect("customers:customer_users", collaboration.pk)
    users = selectors.customer_users_for_partner(collaboration=collaboration)
    return render(
        request,
        "customers/customer_users.html",
        {
            "collaboration": collaboration,
            "org": org,
            "users": users,
            "tab": "users",
            "can_manage": True,
            "form": form,
        },
        status=422,
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_settings(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    """Staff assignment and ending the collaboration. Staff may look; only account administrators change."""
    collaboration, org = access.collaboration_for_partner_user(request, collaboration_id)
    staff = list(selectors.partner_staff_for_assignment(collaboration=collaboration))
    choices = [(m.user_id, m.user.get_full_name()) for m in staff]
    initial = {"staff": [m.user_id for m in staff if m.is_assigned]}  # type: ignore[attr-defined]  # annotated by the selector
    # Bound on every POST: unchecking every box posts no `staff` field, and that must save "nobody".
    form = StaffAssignmentForm(
        request.POST if request.method == "POST" else None, choices=choices, initial=initial
    )
    if request.method == "POST":
        collaboration = access.collaboration_for_partner_admin(request, collaboration_id)
        if form.is_valid():
            try:
                services.staff_assign(
                    collaboration=collaboration, actor=request.user, user_ids=form.cleaned_data["staff"]
                )
            except ServiceError as error:
                form.add_error("staff", error.message)
            else:
                messages.success(request, _("The staff assignment was saved."))
                return redirect("customers:customer_settings", collaboration.pk)
    return render(
        request,
        "customers/customer_settings.html",
        {"collaboration": collaboration, "org": org, "staff": staff, "form": form, "tab": "settings"},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_end(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    """Ask first (GET: what happens to the files, what else ends), then end the collaboration (POST)."""
    collaboration = access.collaboration_for_partner_admin(request, collaboration_id)
    days = settings.PORTAL_ENDED_READ_DAYS
    form = CollaborationEndForm(request.POST if request.method == "POST" else None, days=days)
    if request.method == "POST" and form.is_valid():
        delete = form.cleaned_data["outcome"] == CollaborationEndForm.DELETE
        try:
            services.collaboration_end(
                collaboration=collaboration,
                actor=request.user,
                delete_files=delete,
                confirm=form.cleaned_data["confirm"],
            )
        except ServiceError as error:
            error.add_to(form)
        else:
            messages.success(
                request,
                _("The collaboration with %(name)s has ended.") % {"name": collaboration.customer.name},
            )
            return redirect("customers:customer_list")
    return render(
        request,
        "customers/customer_end.html",
        {
            "collaboration": collaboration,
            "form": form,
            "days": days,
            "summary": hooks.ending_summary(collaboration=collaboration),
        },
        status=422 if form.errors else 200,
    )


# --- Customer side: Samarbeten ----------------------------------------------------------


@login_required
def collaboration_list(request: AuthedRequest) -> HttpResponse:
    org = access.active_customer(request)
    # What waits on this user in other apps goes at the top (signings to sign, document requests:
    # customers.badges). Whether there is any comes with the collaborations, so that the page reads
    # the items only when there are.
    collaborations, sections = badges.customer_sections(
        selectors.collaborations_for_customer_user(customer=org), user=request.user
    )
    invitations = selectors.invitations_for_customer_admin(customer=org)
    return render(
        request,
        "customers/collaboration_list.html",
        {"org": org, "collaborations": collaborations, "invitations": invitations, **sections},
    )


@login_required
def collaboration_detail(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    """The partner's page on the customer side is its documents: checked here (404 for anyone but
    the customer's users, which also switches the header to that customer), then sent on."""
    collaboration, _org = access.collaboration_for_customer_user(request, collaboration_id, ended_read=True)
    return redirect("documents:customer_root", collaboration.pk)


def _respond(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    collaboration = access.invitation_for_customer_admin(request, collaboration_id)
    form = InvitationResponseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to accept or decline."))
        return redirect("customers:collaboration_list")
    accept = form.cleaned_data["decision"] == "accept"
    try:
        services.invitation_respond(collaboration=collaboration, actor=request.user, accept=accept)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("customers:collaboration_list")
    request.org.activate("customer", collaboration.customer_id)
    if accept:
        messages.success(
            request, _("You now collaborate with %(name)s.") % {"name": collaboration.partner.name}
        )
        return redirect("customers:collaboration_detail", collaboration.pk)
    messages.success(
        request, _("The invitation from %(name)s was declined.") % {"name": collaboration.partner.name}
    )
    return redirect("customers:collaboration_list")


@login_required
@require_POST
def invitation_respond(request: AuthedRequest, collaboration_id: int) -> HttpResponse:
    return _respond(request, collaboration_id)


@login_required
@require_http_methods(["GET", "POST"])
def invitation_by_token(request: AuthedRequest, token: str) -> HttpResponse:
    collaboration = access.invitation_by_token(request, token)
    if request.method == "POST":
        return _respond(request, collaboration.pk)
    return render(
        request,
        "customers/invitation.html",
        {"collaboration": collaboration, "answered": collaboration.status != CollaborationStatus.INVITED},
    )


# --- Customer side: the customer's own users ----------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def org_users(request: AuthedRequest) -> HttpResponse:
    org = access.active_customer(request)
    form = CustomerUserAddForm(request.POST or None)
    status = 200
    if request.method == "POST":
        org = access.active_customer_manager(request)
        if form.is_valid():
            try:
                membership = services.customer_user_add(
                    customer=CustomerAccount.objects.get(pk=org.id),
                    actor=request.user,
                    spec=form.to_spec(),
                    is_admin=form.cleaned_data["is_admin"],
                )
            except ServiceError as error:
                error.add_to(form)
            else:
                messages.success(
                    request, _("%(name)s was added.") % {"name": membership.user.get_full_name()}
                )
                return redirect("customers:org_users")
        status = 422
    users = selectors.customer_users(customer_id=org.id)
    return render(
        request, "customers/org_users.html", {"org": org, "users": users, "form": form}, status=status
    )


@login_required
@require_POST
def org_user_set_admin(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access.customer_membership_for_manager(request, membership_id)
    make_admin = request.POST.get("is_admin") == "1"
    try:
        services.customer_user_set_admin(membership=membership, actor=request.user, is_admin=make_admin)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The rights of %(name)s were changed.") % {"name": membership.user.get_full_name()}
        )
    return redirect("customers:org_users")


@login_required
@require_POST
def org_user_make_primary(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access.customer_membership_for_manager(request, membership_id)
    try:
        services.customer_primary_contact_transfer(membership=membership, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(name)s is now the primary contact.") % {"name": membership.user.get_full_name()}
        )
    return redirect("customers:org_users")


@login_required
@require_http_methods(["GET", "POST"])
def org_user_remove(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access.customer_membership_for_manager(request, membership_id)
    if request.method == "GET":
        return render(request, "customers/org_user_remove.html", {"membership": membership})
    try:
        services.customer_user_remove(membership=membership, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(name)s was removed.") % {"name": membership.user.get_full_name()})
    return redirect("customers:org_users")


@login_required
@require_POST
def org_user_resend_welcome(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access.customer_membership_for_manager(request, membership_id)
    with transaction.atomic():
        services.welcome_resend(membership=membership, actor=request.user)
    messages.success(
        request, _("A welcome email is on its way to %(email)s.") % {"email": membership.user.email}
    )
    return redirect("customers:org_users")
