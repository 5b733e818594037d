"""The site operators' admin for users, plus helpers the partners and customers admins share.

The portal's own pages go through the services, which hold the domain's rules. The admin is
for operators fixing things by hand, so it keeps the same rules: emails are stored lower-case
and unique whatever the case, personal identity numbers in the 12-digit form BankID uses,
mobile numbers in E.164. Deleting a user asks the other apps (through `user_deletion_guards`)
whether that would break one of their rules, such as a partner left without an administrator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.forms import UserFieldsCleaningMixin
from portal.models import SentEmail, User
from portal.sessions import sessions_end
from portal.validators import normalize_orgnr, normalize_personnummer

admin.site.site_header = _("Partnerportalen – administration")
admin.site.site_title = _("Partnerportalen – administration")
admin.site.index_title = _("Site administration")


# --- Helpers shared with partners/admin.py and customers/admin.py ---------------------------


def count_subquery(model: type[Model], fk: str, **filters: Any) -> Coalesce:
    """COUNT of `model` rows pointing at the outer row through `fk`, as a correlated subquery.

    One subquery per counted relation keeps the changelist at a fixed number of queries and,
    unlike several Count() over joins, does not multiply rows when two relations are counted.
    """
    rows = (
        model._default_manager.filter(**{fk: OuterRef("pk")}, **filters)
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


class NormalizedSearchMixin:
    """Also find rows by the stored form of an identifier typed in another form.

    Organisation numbers are stored as NNNNNN-NNNN and personal identity numbers as
    YYYYMMDDNNNN; an operator may paste 5560360793 or 811218-9876.
    """

    orgnr_search_fields: Sequence[str] = ()
    personnummer_search_fields: Sequence[str] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        term = search_term.strip()
        extra = Q()
        if term and self.orgnr_search_fields:
            try:
                orgnr = normalize_orgnr(term)
            except ValidationError:
                pass
            else:
                for field in self.orgnr_search_fields:
                    extra |= Q(**{field: orgnr})
        if term and self.personnummer_search_fields:
            try:
                pnr = normalize_personnummer(term)
            except ValidationError:
                pass
            else:
                for field in self.personnummer_search_fields:
                    extra |= Q(**{field: pnr})
        if extra:
            results = results | queryset.filter(extra)
        return results, may_have_duplicates


def admin_actor(request: HttpRequest) -> User:
    """The logged-in site operator: admin views are only reached by authenticated staff."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


# Each guard gets the users about to be deleted and returns why that must not happen (empty: fine).
UserDeletionGuard = Callable[[Sequence[User]], list[str]]
user_deletion_guards: list[UserDeletionGuard] = []


# --- User ---------------------------------------------------------------------------------------


def outranks(target: Any, actor: Any) -> bool:
    """Whether `target` holds rights `actor` lacks, so that setting its password or email would
    hand them to the actor: a superuser, to anyone but a superuser; a staff member, to a
    non-superuser without all of the target's permissions."""
    if not isinstance(target, User) or actor.is_superuser:
        return False
    if target.is_superuser:
        return True
    return target.is_staff and not target.get_all_permissions() <= actor.get_all_permissions()


def _personnummer_field() -> forms.CharField:
    # Wider than the model's 12 characters: YYYYMMDD-NNNN is accepted and stored without the dash.
    return forms.CharField(
        label=_("personal identity number"),
        max_length=13,
        required=False,
        help_text=_("Optional. YYYYMMDD-NNNN; stored as 12 digits."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )


def _mobile_field() -> forms.CharField:
    return forms.CharField(
        label=_("mobile number"),
        max_length=20,
        required=False,
        help_text=_("Optional. Stored in international form, e.g. +46701234567."),
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )


class UserCreationAdminForm(UserFieldsCleaningMixin, AdminUserCreationForm):
    """Add form: Django's user creation form (passwords, or none) on the email-login user."""

    personnummer = _personnummer_field()
    mobile = _mobile_field()

    class Meta:
        model = User
        fields = ("email", "name")


class UserChangeAdminForm(UserFieldsCleaningMixin, UserChangeForm):
    personnummer = _personnummer_field()
    mobile = _mobile_field()

    class Meta:
        model = User
        fields = ("email", "name")


@admin.register(User)
class UserAdmin(NormalizedSearchMixin, DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    list_display = ("email", "name", "language", "is_active", "is_staff", "date_joined", "last_login")
    list_display_links = ("email", "name")
    list_filter = ("language", "is_active", "is_staff")
    search_fields = ("email", "name", "personnummer")
    personnummer_search_fields = ("personnummer",)
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("name", "language", "mobile", "personnummer")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "name",
                    "language",
                    "mobile",
                    "personnummer",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Deactivated: every open session of the person ends now, not at its next request.
            sessions_end(user=obj, actor=request.user, reason="deactivated")  # type: ignore[arg-type]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the new password was saved
            user = User.objects.get(pk=unquote(id))
            # An operator setting their own password here keeps this session, as Django does.
            keep = request if user.pk == request.user.pk else None
            sessions_end(user=user, actor=request.user, reason="password_reset", keep=keep)  # type: ignore[arg-type]
        return response

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        # Operators who are not superusers may manage people, but not hand out privileges.
        if not request.user.is_superuser:
            readonly += ["is_superuser", "groups", "user_permissions"]
        return readonly

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Django's password page asks this too, so it covers emails and passwords alike.
        return super().has_change_permission(request, obj) and not outranks(obj, request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not outranks(obj, request.user)

    def get_deleted_objects(
        self, objs: Sequence[User] | QuerySet[User], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        users = list(objs)
        reasons = [reason for guard in user_deletion_guards for reason in guard(users)]
        # The changelist's "delete selected" asks has_delete_permission without a user.
        reasons += [
            gettext("%(user)s has rights you do not have.") % {"user": user}
            for user in users
            if outranks(user, request.user)
        ]
        # "Protected" objects make Django refuse the deletion and list them on the confirmation page.
        return deleted, model_count, perms_needed, [*protected, *reasons]


# --- AuditEvent: read-only ------------------------------------------------------------------------

from portal.models import AuditEvent  # noqa: E402 -- kept with its admin, in one block


class ReadOnlyMixin:
    """Rows that only the services write: operators can look, not add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A model's admin pages, to look at only."""


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    """Rows shown on their parent's admin page, to look at only."""

    extra = 0
    can_delete = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log as the services wrote it: operators read it, nobody edits or removes it."""

    list_display = ("created_at", "actor", "action", "object_repr", "collaboration_id", "ip")
    list_filter = ("action",)
    list_select_related = ("actor",)
    search_fields = ("object_repr", "actor__email")
    date_hierarchy = "created_at"


@admin.register(SentEmail)
class SentEmailAdmin(ReadOnlyAdmin):
    """What the embedded default "sent" (its email backend prints and keeps the last 200)."""

    list_display = ("sent_at", "to", "subject")
    search_fields = ("to", "subject")
    fields = ("sent_at", "to", "subject", "body", "html")


# --- Login lockouts (django-axes) ------------------------------------------------------------
# django-axes' own admin, registered here (settings.AXES_ENABLE_ADMIN is off) so that its action
# declares the permission it needs, like every action of this admin. Deleting an access attempt
# lifts its lock.


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    @admin.action(
        description=axes_admin.AccessAttemptAdmin.cleanup_expired_attempts.short_description,
        permissions=["delete"],
    )
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        super().cleanup_expired_attempts(request, queryset)


admin.site.register(AccessAttempt, AccessAttemptAdmin)
admin.site.register(AccessLog, axes_admin.AccessLogAdmin)
admin.site.register(AccessFailureLog, axes_admin.AccessFailureLogAdmin)
