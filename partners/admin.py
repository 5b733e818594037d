"""Admin for partners and their staff.

The rule of partners/services.py holds here too: a partner always keeps at least one account
administrator. Removing a member goes through `membership_remove`, which also drops the
person's customer assignments at that partner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.models import Collaboration, CollaborationStatus
from partners.models import Partner, PartnerMembership, PartnerRole
from partners.services import membership_change_role, membership_remove
from portal.admin import NormalizedSearchMixin, admin_actor, count_subquery, user_deletion_guards
from portal.models import User
from portal.validators import normalize_orgnr


def partners_left_without_admin(removed: QuerySet[PartnerMembership]) -> list[str]:
    """Why removing these memberships would leave a partner without an account administrator."""
    removed_admins = list(removed.filter(role=PartnerRole.ADMIN).values_list("pk", "partner_id"))
    partner_ids = {partner_id for _pk, partner_id in removed_admins}
    if not partner_ids:
        return []
    keeping_an_admin = set(
        PartnerMembership.objects.filter(partner_id__in=partner_ids, role=PartnerRole.ADMIN)
        .exclude(pk__in=[pk for pk, _partner_id in removed_admins])
        .values_list("partner_id", flat=True)
    )
    return [
        gettext("%(partner)s would be left without an account administrator: make someone else one first.")
        % {"partner": partner.name}
        for partner in Partner.objects.filter(pk__in=partner_ids - keeping_an_admin)
    ]


def _guard_user_deletion(users: Sequence[User]) -> list[str]:
    return partners_left_without_admin(PartnerMembership.objects.filter(user__in=[u.pk for u in users]))


user_deletion_guards.append(_guard_user_deletion)


# --- Partner --------------------------------------------------------------------------------------


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ("name", "org_number", "plan")

    def clean_name(self) -> str:
        return (self.cleaned_data.get("name") or "").strip()

    def clean_org_number(self) -> str:
        # Stored as NNNNNN-NNNN, like partner_create does, so the unique check sees every spelling.
        return normalize_orgnr(self.cleaned_data.get("org_number") or "")


class PartnerMembershipInlineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        admins = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("role") == PartnerRole.ADMIN
        ]
        if not admins:
            raise ValidationError(
                _("A partner must have at least one account administrator."), code="no_admin"
            )


class PartnerMembershipInline(admin.TabularInline):
    model = PartnerMembership
    formset = PartnerMembershipInlineFormSet
    fk_name = "partner"
    extra = 0
    fields = ("user", "role", "invited_by", "created_at", "invitation_sent_at")
    readonly_fields = ("invited_by", "created_at", "invitation_sent_at")
    autocomplete_fields = ("user",)
    verbose_name = _("staff member")
    verbose_name_plural = _("staff")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PartnerMembership]:
        return super().get_queryset(request).select_related("user", "invited_by")


@admin.register(Partner)
class PartnerAdmin(NormalizedSearchMixin, admin.ModelAdmin):
    form = PartnerForm
    list_display = ("name", "org_number", "plan", "member_count", "customer_count", "created_at")
    list_filter = ("plan",)
    search_fields = ("name", "org_number")
    orgnr_search_fields = ("org_number",)
    date_hierarchy = "created_at"
    fields = ("name", "org_number", "plan", "created_at")
    readonly_fields = ("created_at",)
    inlines = (PartnerMembershipInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_total=count_subquery(PartnerMembership, "partner"),
                active_customer_total=count_subquery(
                    Collaboration, "partner", status=CollaborationStatus.ACTIVE
                ),
            )
        )

    @admin.display(description=_("staff"), ordering="member_total")
    def member_count(self, obj: Partner) -> SafeString:
        url = reverse("admin:partners_partnermembership_changelist")
        return format_html('<a href="{}?partner__id__exact={}">{}</a>', url, obj.pk, obj.member_total)  # type: ignore[attr-defined]

    @admin.display(description=_("active customers"), ordering="active_customer_total")
    def customer_count(self, obj: Partner) -> SafeString:
        url = reverse("admin:customers_collaboration_changelist")
        return format_html(
            '<a href="{}?partner__id__exact={}&amp;status__exact={}">{}</a>',
            url,
            obj.pk,
            CollaborationStatus.ACTIVE,
            obj.active_customer_total,  # type: ignore[attr-defined]
        )

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not PartnerMembership:
            super().save_formset(request, form, formset, change)
            return
        # New and changed rows first, so a partner whose admin is replaced within one save never
        # passes through having none; then removals, through the service (assignments go too).
        for membership in formset.save(commit=False):
            membership.save()
        for membership in formset.deleted_objects:
            membership_remove(membership=membership, actor=admin_actor(request))
        formset.save_m2m()


# --- PartnerMembership ----------------------------------------------------------------------------


class PartnerMembershipForm(forms.ModelForm):
    class Meta:
        model = PartnerMembership
        fields = ("partner", "user", "role")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        was_admin = self.instance.pk is not None and self.initial.get("role") == PartnerRole.ADMIN
        if was_admin and cleaned.get("role") != PartnerRole.ADMIN:
            others = (
                PartnerMembership.objects.filter(partner_id=self.instance.partner_id, role=PartnerRole.ADMIN)
                .exclude(pk=self.instance.pk)
                .exists()
            )
            if not others:
                self.add_error(
                    "role",
                    _("%(partner)s must keep at least one account administrator.")
                    % {"partner": self.instance.partner.name},
                )
        return cleaned


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(admin.ModelAdmin):
    form = PartnerMembershipForm
    view_on_site = False  # its URL is the staff page of whichever partner the viewer acts for
    list_display = ("user", "partner", "role", "created_at")
    list_filter = ("role", ("partner", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "partner")
    search_fields = ("user__email", "user__name", "partner__name")
    autocomplete_fields = ("user", "partner")
    fields = ("partner", "user", "role", "invited_by", "created_at", "invitation_sent_at")
    readonly_fields = ("invited_by", "created_at", "invitation_sent_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: PartnerMembership | None = None
    ) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # A membership belongs to one person at one partner; only the role changes afterwards.
        return (*readonly, "partner", "user") if obj is not None else readonly

    def save_model(
        self, request: HttpRequest, obj: PartnerMembership, form: forms.ModelForm, change: bool
    ) -> None:
        if change and "role" in form.changed_data:
            membership_change_role(membership=obj, actor=admin_actor(request), role=obj.role)
        else:
            super().save_model(request, obj, form, change)

    def get_deleted_objects(
        self, objs: Iterable[PartnerMembership], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        objs = list(objs)
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        reasons = partners_left_without_admin(PartnerMembership.objects.filter(pk__in=[m.pk for m in objs]))
        return deleted, model_count, perms_needed, [*protected, *reasons]

    def delete_model(self, request: HttpRequest, obj: PartnerMembership) -> None:
        membership_remove(membership=obj, actor=admin_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PartnerMembership]) -> None:
        for membership in queryset:
            membership_remove(membership=membership, actor=admin_actor(request))
