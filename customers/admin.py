"""Admin for customer accounts, their users, collaborations and staff assignments.

The rules of customers/services.py hold here too: every customer has exactly one primary
contact, who is always an administrator; ending a collaboration drops its staff assignments;
only staff members of the collaboration's partner can be assigned to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from customers.hooks import membership_removed
from customers.models import (
    Collaboration,
    CollaborationGroupObjectPermission,
    CollaborationStatus,
    CollaborationUserObjectPermission,
    CustomerAccount,
    CustomerMembership,
)
from customers.services import (
    collaboration_end,
    customer_primary_contact_transfer,
    customer_user_remove,
    customer_user_set_admin,
)
from partners.models import PartnerMembership, PartnerRole
from portal.admin import NormalizedSearchMixin, admin_actor, count_subquery, user_deletion_guards
from portal.errors import ServiceError
from portal.models import User
from portal.validators import normalize_orgnr

OPEN_STATUSES = (CollaborationStatus.ACTIVE, CollaborationStatus.INVITED)


def _primary_contact_reasons(removed: QuerySet[CustomerMembership]) -> list[str]:
    """Why removing these memberships would leave a customer without its primary contact."""
    return [
        gettext("%(user)s is the primary contact of %(customer)s: make someone else primary contact first.")
        % {"user": membership.user, "customer": membership.customer.name}
        for membership in removed.filter(is_primary_contact=True).select_related("user", "customer")
    ]


def _guard_user_deletion(users: Sequence[User]) -> list[str]:
    return _primary_contact_reasons(CustomerMembership.objects.filter(user__in=[u.pk for u in users]))


user_deletion_guards.append(_guard_user_deletion)


# --- CustomerAccount ------------------------------------------------------------------------------


class CustomerAccountForm(forms.ModelForm):
    class Meta:
        model = CustomerAccount
        fields = ("name", "org_number", "kind", "created_by_partner")

    def clean_name(self) -> str:
        return (self.cleaned_data.get("name") or "").strip()

    def clean_org_number(self) -> str:
        # Stored as NNNNNN-NNNN, as the services store it, so searches and invitations match.
        return normalize_orgnr(self.cleaned_data.get("org_number") or "")


class CustomerMembershipInlineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        primaries = [form for form in kept if form.cleaned_data.get("is_primary_contact")]
        if len(primaries) != 1:
            raise ValidationError(
                _("A customer has exactly one primary contact; tick it for one user."), code="primary_contact"
            )
        for form in primaries:
            # The primary contact is always an administrator (as the services make them).
            form.cleaned_data["is_admin"] = True
            form.instance.is_admin = True


class CustomerMembershipInline(admin.TabularInline):
    model = CustomerMembership
    formset = CustomerMembershipInlineFormSet
    extra = 0
    fields = ("user", "is_primary_contact", "is_admin", "created_at", "welcome_sent_at")
    readonly_fields = ("created_at", "welcome_sent_at")
    autocomplete_fields = ("user",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerMembership]:
        return super().get_queryset(request).select_related("user")


@admin.register(CustomerAccount)
class CustomerAccountAdmin(NormalizedSearchMixin, admin.ModelAdmin):
    form = CustomerAccountForm
    list_display = ("name", "org_number", "kind", "created_by_partner", "user_count", "created_at")
    list_filter = ("kind",)
    list_select_related = ("created_by_partner",)
    search_fields = ("name", "org_number", "created_by_partner__name")
    orgnr_search_fields = ("org_number",)
    date_hierarchy = "created_at"
    fields = ("name", "org_number", "kind", "created_by_partner", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("created_by_partner",)
    inlines = (CustomerMembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerAccount]:
        return (
            super().get_queryset(request).annotate(user_total=count_subquery(CustomerMembership, "customer"))
        )

    @admin.display(description=_("users"), ordering="user_total")
    def user_count(self, obj: CustomerAccount) -> SafeString:
        url = reverse("admin:customers_customermembership_changelist")
        total = obj.user_total  # type: ignore[attr-defined]
        return format_html('<a href="{}?customer__id__exact={}">{}</a>', url, obj.pk, total)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not CustomerMembership:
            super().save_formset(request, form, formset, change)
            return
        # At most one primary contact may exist at any moment (a database constraint), so when
        # the primary contact changes hands: removals first, then the former primary contact,
        # then the new one.
        instances = formset.save(commit=False)
        for membership in formset.deleted_objects:
            membership.delete()
            # The user's own folder grants go with the membership, as in customer_user_remove.
            membership_removed(customer_id=membership.customer_id, user_id=membership.user_id)
        for membership in sorted(instances, key=lambda m: m.is_primary_contact):
            membership.save()
        formset.save_m2m()


# --- CustomerMembership ---------------------------------------------------------------------------


class CustomerMembershipForm(forms.ModelForm):
    class Meta:
        model = CustomerMembership
        fields = ("customer", "user", "is_admin")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.is_primary_contact and not cleaned.get("is_admin", True):
            self.add_error("is_admin", _("The primary contact is always an administrator."))
        return cleaned


@admin.register(CustomerMembership)
class CustomerMembershipAdmin(NormalizedSearchMixin, admin.ModelAdmin):
    form = CustomerMembershipForm
    list_display = ("user", "customer", "is_primary_contact", "is_admin", "welcome_sent_at")
    list_filter = ("is_primary_contact", "is_admin", "customer__kind")
    list_select_related = ("user", "customer")
    search_fields = ("user__email", "user__name", "customer__name", "customer__org_number")
    orgnr_search_fields = ("customer__org_number",)
    autocomplete_fields = ("customer", "user")
    fields = ("customer", "user", "is_primary_contact", "is_admin", "created_at", "welcome_sent_at")
    # The primary contact changes hands with the action below, never by ticking boxes one by one.
    readonly_fields = ("is_primary_contact", "created_at", "welcome_sent_at")
    actions = ("make_primary_contact",)

    def get_readonly_fields(
        self, request: HttpRequest, obj: CustomerMembership | None = None
    ) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "customer", "user") if obj is not None else readonly

    def save_model(
        self, request: HttpRequest, obj: CustomerMembership, form: forms.ModelForm, change: bool
    ) -> None:
        if change and "is_admin" in form.changed_data:
            customer_user_set_admin(membership=obj, actor=admin_actor(request), is_admin=obj.is_admin)
        else:
            super().save_model(request, obj, form, change)

    @admin.action(
        description=_("Make the selected user the primary contact of their customer"), permissions=["change"]
    )
    def make_primary_contact(self, request: HttpRequest, queryset: QuerySet[CustomerMembership]) -> None:
        memberships = list(queryset.select_related("customer"))
        per_customer = Counter(m.customer_id for m in memberships)
        if any(n > 1 for n in per_customer.values()):
            self.message_user(
                request,
                gettext("A customer has only one primary contact: select one user per customer."),
                messages.ERROR,
            )
            return
        for membership in memberships:
            customer_primary_contact_transfer(membership=membership, actor=admin_actor(request))
        self.message_user(
            request,
            ngettext(
                "%(count)d primary contact changed.", "%(count)d primary contacts changed.", len(memberships)
            )
            % {"count": len(memberships)},
            messages.SUCCESS,
        )

    def get_deleted_objects(
        self, objs: Iterable[CustomerMembership], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        objs = list(objs)
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        reasons = _primary_contact_reasons(CustomerMembership.objects.filter(pk__in=[m.pk for m in objs]))
        return deleted, model_count, perms_needed, [*protected, *reasons]

    def delete_model(self, request: HttpRequest, obj: CustomerMembership) -> None:
        customer_user_remove(membership=obj, actor=admin_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CustomerMembership]) -> None:
        for membership in queryset:
            customer_user_remove(membership=membership, actor=admin_actor(request))


# --- Collaboration --------------------------------------------------------------------------------


class CollaborationForm(forms.ModelForm):
    """Operators create active collaborations; invitations need the emailed token, so they go
    through the portal. The status changes afterwards only through the actions."""

    class Meta:
        model = Collaboration
        fields = ("partner", "customer")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        partner, customer = cleaned.get("partner"), cleaned.get("customer")
        if (
            self.instance.pk is None
            and partner is not None
            and customer is not None
            and Collaboration.objects.filter(
                partner=partner, customer=customer, status__in=OPEN_STATUSES
            ).exists()
        ):
            raise ValidationError(
                _("%(partner)s already has an open collaboration with %(customer)s.")
                % {"partner": partner.name, "customer": customer.name},
                code="open_collaboration",
            )
        return cleaned


class StaffAssignmentInline(admin.TabularInline):
    model = CollaborationUserObjectPermission
    fk_name = "content_object"
    extra = 0
    fields = ("user", "permission")
    readonly_fields = ("user", "permission")
    verbose_name = _("staff assignment")
    verbose_name_plural = _("staff assignments")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # assignments are added on their own page, where the partner's staff is checked

    def get_queryset(self, request: HttpRequest) -> QuerySet[CollaborationUserObjectPermission]:
        return super().get_queryset(request).select_related("user", "permission__content_type")


@admin.register(Collaboration)
class CollaborationAdmin(NormalizedSearchMixin, admin.ModelAdmin):
    form = CollaborationForm
    view_on_site = False  # the portal page is for the partner's own people, not site operators
    list_display = ("partner", "customer", "status", "created_at", "responded_at", "ended_at")
    list_filter = ("status", ("partner", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("partner", "customer")
    search_fields = ("partner__name", "partner__org_number", "customer__name", "customer__org_number")
    orgnr_search_fields = ("partner__org_number", "customer__org_number")
    date_hierarchy = "created_at"
    autocomplete_fields = ("partner", "customer")
    fieldsets = (
        (None, {"fields": ("partner", "customer", "status", "created_by", "created_at")}),
        (
            _("Invitation"),
            {
                "fields": (
                    "invited_email",
                    "invitation_token_hash",
                    "invitation_sent_at",
                    "responded_by",
                    "responded_at",
                )
            },
        ),
        (_("End"), {"fields": ("ended_at",)}),
    )
    readonly_fields = (
        "status",
        "created_by",
        "created_at",
        "invited_email",
        "invitation_token_hash",
        "invitation_sent_at",
        "responded_by",
        "responded_at",
        "ended_at",
    )
    inlines = (StaffAssignmentInline,)
    actions = ("end_collaborations",)

    def get_readonly_fields(self, request: HttpRequest, obj: Collaboration | None = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "partner", "customer") if obj is not None else readonly

    def save_model(
        self, request: HttpRequest, obj: Collaboration, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            obj.status = CollaborationStatus.ACTIVE
        super().save_model(request, obj, form, change)

    @admin.action(
        description=_("End the selected collaborations (removes their staff assignments)"),
        permissions=["change"],
    )
    def end_collaborations(self, request: HttpRequest, queryset: QuerySet[Collaboration]) -> None:
        ended = 0
        for collaboration in queryset.exclude(status=CollaborationStatus.ENDED):
            try:
                collaboration_end(collaboration=collaboration, actor=admin_actor(request))
            except ServiceError as error:
                self.message_user(request, f"{collaboration}: {error.message}", messages.WARNING)
            else:
                ended += 1
        self.message_user(
            request,
            ngettext("%(count)d collaboration ended.", "%(count)d collaborations ended.", ended)
            % {"count": ended},
            messages.SUCCESS,
        )


# --- Staff assignments (guardian's direct foreign-key object permissions) ---------------------


def _collaboration_permissions() -> QuerySet[Permission]:
    content_type = ContentType.objects.get_for_model(Collaboration)
    return Permission.objects.filter(content_type=content_type).select_related("content_type")


class StaffAssignmentForm(forms.ModelForm):
    class Meta:
        model = CollaborationUserObjectPermission
        fields = ("content_object", "user", "permission")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        collaboration: Collaboration | None = cleaned.get("content_object")
        user: User | None = cleaned.get("user")
        if collaboration is None or user is None:
            return cleaned
        if collaboration.status not in OPEN_STATUSES:
            self.add_error("content_object", _("Staff can only be assigned to an open collaboration."))
        is_staff_member = PartnerMembership.objects.filter(
            partner_id=collaboration.partner_id, user=user, role=PartnerRole.STAFF
        ).exists()
        if not is_staff_member:
            # Admins see every customer of their partner anyway, as staff_assign says.
            self.add_error(
                "user",
                _("Only staff members of %(partner)s can be assigned.")
                % {"partner": collaboration.partner.name},
            )
        return cleaned


@admin.register(CollaborationUserObjectPermission)
class StaffAssignmentAdmin(admin.ModelAdmin):
    form = StaffAssignmentForm
    list_display = ("user", "content_object", "permission")
    list_select_related = (
        "user",
        "permission__content_type",
        "content_object__partner",
        "content_object__customer",
    )
    list_filter = (("content_object__partner", admin.RelatedOnlyFieldListFilter),)
    search_fields = (
        "user__email",
        "user__name",
        "content_object__partner__name",
        "content_object__customer__name",
    )
    autocomplete_fields = ("content_object", "user")

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "permission":
            kwargs["queryset"] = _collaboration_permissions()
            kwargs.setdefault("initial", kwargs["queryset"].filter(codename="work_with_customer").first())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CollaborationGroupObjectPermission)
class CollaborationGroupObjectPermissionAdmin(admin.ModelAdmin):
    list_display = ("group", "content_object", "permission")
    list_select_related = (
        "group",
        "permission__content_type",
        "content_object__partner",
        "content_object__customer",
    )
    search_fields = ("group__name", "content_object__partner__name", "content_object__customer__name")
    autocomplete_fields = ("group", "content_object")

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "permission":
            kwargs["queryset"] = _collaboration_permissions()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
