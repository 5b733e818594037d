"""Admin for billing: its rows read-only, and the partner page with the partner's billing position
and a top-up of its signature balance.

The signature ledger, invoice lines, statements, usage snapshots, storage peaks, notices and quote
requests are read-only: billing.services writes every row, and the ledger is corrected by a new
entry, never by editing one.

A top-up or correction goes through `services.balance_adjust`, which requires a reason and keeps
the balance at zero or above. The partner admin of partners/admin.py is replaced here by a subclass,
so the partners app needs to know nothing of billing; that works because billing comes after
partners in INSTALLED_APPS (admin modules are imported in that order).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from billing import plans, selectors, services
from billing.models import (
    BalanceEntry,
    InvoiceLine,
    QuoteRequest,
    Statement,
    StoragePeak,
    UsageSnapshot,
)
from partners.admin import PartnerAdmin
from partners.models import Partner, Plan
from portal.admin import ReadOnlyAdmin, ReadOnlyInline, admin_actor
from portal.errors import ServiceError
from portal.units import format_sek, human_size

# How many ledger entries the partner page shows; the ledger changelist has them all.
LATEST_ENTRIES = 20
# Far above any real top-up, far below what the integer balance column holds.
MAX_ADJUSTMENT = 1_000_000


class PeriodFilter(admin.SimpleListFilter):
    """The months that have rows, newest first (a period is the first day of its month)."""

    title = _("month")
    parameter_name = "period"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        months = model_admin.get_queryset(request).order_by().dates("period", "month", order="DESC")
        return [(month.isoformat(), f"{month:%Y-%m}") for month in months]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        try:
            period = dt.date.fromisoformat(str(value))
        except ValueError:
            raise IncorrectLookupParameters(value) from None
        return queryset.filter(period=period)


class SnapshotScopeFilter(admin.SimpleListFilter):
    title = _("scope")
    parameter_name = "scope"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("partner", _("Partner total")), ("customer", _("Per customer"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "partner":
            return queryset.filter(customer__isnull=True)
        if self.value() == "customer":
            return queryset.filter(customer__isnull=False)
        return queryset


class StatementPlanFilter(admin.SimpleListFilter):
    """A statement keeps the plan's code as it was that month; the filter offers the plans' names."""

    title = _("plan")
    parameter_name = "plan"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Plan.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(plan=self.value()) if self.value() else queryset


def _month(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def _signed(amount: int) -> str:
    return f"{amount:+d}"


PARTNER_FILTER = ("partner", admin.RelatedOnlyFieldListFilter)


# --- The signature ledger ---------------------------------------------------------------------------


class MonthColumn:
    """The "month" column of rows kept per month (`period` is the month's first day)."""

    @admin.display(description=_("month"), ordering="period")
    def month(self, obj: Any) -> str:
        return _month(obj.period)


@admin.register(BalanceEntry)
class BalanceEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "partner",
        "kind",
        "signed_amount",
        "balance_after",
        "actor",
        "reason",
        "reference",
    )
    list_filter = ("kind", PARTNER_FILTER)
    list_select_related = ("partner", "actor")
    search_fields = ("partner__name", "reason", "reference")
    date_hierarchy = "created_at"
    show_full_result_count = False  # the ledger only grows; one COUNT over it per page is enough
    fields = (
        "partner",
        "kind",
        "signed_amount",
        "balance_after",
        "actor",
        "reason",
        "reference",
        "created_at",
    )
    readonly_fields = ("signed_amount",)

    @admin.display(description=_("signatures"), ordering="amount")
    def signed_amount(self, obj: BalanceEntry) -> str:
        return _signed(obj.amount)


@admin.register(InvoiceLine)
class InvoiceLineAdmin(MonthColumn, ReadOnlyAdmin):
    list_display = ("month", "partner", "description", "quantity", "amount", "created_at")
    list_filter = (PeriodFilter, PARTNER_FILTER)
    list_select_related = ("partner",)
    search_fields = ("partner__name", "description")
    fields = ("partner", "month", "description", "quantity", "amount", "entry", "created_at")
    readonly_fields = ("month", "amount")

    @admin.display(description=_("amount"), ordering="amount_ore")
    def amount(self, obj: InvoiceLine) -> str:
        return format_sek(obj.amount_ore)


@admin.register(Statement)
class StatementAdmin(MonthColumn, ReadOnlyAdmin):
    list_display = (
        "month",
        "partner",
        "plan_name",
        "peak",
        "extra_blocks",
        "storage_amount",
        "signatures_amount",
        "total",
    )
    list_filter = (PeriodFilter, StatementPlanFilter, PARTNER_FILTER)
    list_select_related = ("partner",)
    search_fields = ("partner__name",)
    fields = (
        "partner",
        "month",
        "plan_name",
        "included",
        "peak",
        "cap_blocks",
        "extra_blocks",
        "block_price",
        "storage_amount",
        "signatures_amount",
        "total",
        "invoice_lines",
        "created_at",
    )
    readonly_fields = (
        "month",
        "plan_name",
        "included",
        "peak",
        "block_price",
        "storage_amount",
        "signatures_amount",
        "total",
        "invoice_lines",
    )

    @admin.display(description=_("plan"), ordering="plan")
    def plan_name(self, obj: Statement) -> str:
        return str(Plan(obj.plan).label) if obj.plan in Plan.values else obj.plan

    @admin.display(description=_("included storage"))
    def included(self, obj: Statement) -> str:
        return human_size(obj.included_bytes)

    @admin.display(description=_("peak usage"), ordering="peak_bytes")
    def peak(self, obj: Statement) -> str:
        return human_size(obj.peak_bytes)

    @admin.display(description=_("price per block"))
    def block_price(self, obj: Statement) -> str:
        return format_sek(obj.block_price_ore)

    @admin.display(description=_("storage"), ordering="storage_amount_ore")
    def storage_amount(self, obj: Statement) -> str:
        return format_sek(obj.storage_amount_ore)

    @admin.display(description=_("signatures"), ordering="signatures_amount_ore")
    def signatures_amount(self, obj: Statement) -> str:
        return format_sek(obj.signatures_amount_ore)

    @admin.display(description=_("total"), ordering="total_ore")
    def total(self, obj: Statement) -> str:
        return format_sek(obj.total_ore)

    @admin.display(description=_("invoice lines"))
    def invoice_lines(self, obj: Statement) -> SafeString | str:
        lines = list(obj.lines())
        if not lines:
            return "–"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{}: {}</li>", ((line.description, format_sek(line.amount_ore)) for line in lines)
            ),
        )


# --- Storage -----------------------------------------------------------------------------------------


@admin.register(UsageSnapshot)
class UsageSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("day", "partner", "customer_or_total", "size")
    list_filter = (SnapshotScopeFilter, PARTNER_FILTER)
    list_select_related = ("partner", "customer")
    search_fields = ("partner__name", "customer__name")
    date_hierarchy = "day"
    show_full_result_count = False  # a row per partner and customer and day: a large table
    fields = ("partner", "customer", "day", "size")
    readonly_fields = ("size",)

    @admin.display(description=_("customer"))
    def customer_or_total(self, obj: UsageSnapshot) -> str:
        return obj.customer.name if obj.customer else gettext("(partner total)")

    @admin.display(description=_("storage used"), ordering="bytes_used")
    def size(self, obj: UsageSnapshot) -> str:
        return human_size(obj.bytes_used)


@admin.register(StoragePeak)
class StoragePeakAdmin(MonthColumn, ReadOnlyAdmin):
    list_display = ("month", "partner", "peak")
    list_filter = (PeriodFilter, PARTNER_FILTER)
    list_select_related = ("partner",)
    search_fields = ("partner__name",)
    ordering = ("-period", "partner__name")
    fields = ("partner", "month", "peak")
    readonly_fields = ("month", "peak")

    @admin.display(description=_("peak usage"), ordering="peak_bytes")
    def peak(self, obj: StoragePeak) -> str:
        return human_size(obj.peak_bytes)


@admin.register(QuoteRequest)
class QuoteRequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "partner", "requested_by", "signatures_per_year", "sent_at")
    list_filter = (PARTNER_FILTER,)
    list_select_related = ("partner", "requested_by")
    search_fields = ("partner__name", "requested_by__email", "message")
    date_hierarchy = "created_at"


# --- The partner page: billing position, latest ledger entries, balance top-up -----------------------


class BalanceAdjustForm(forms.Form):
    # Zero and a missing reason are refused by the service, whose messages the form shows, so the
    # rules live in one place; the bounds only keep out numbers no operator means.
    amount = forms.IntegerField(
        label=_("signatures"),
        min_value=-MAX_ADJUSTMENT,
        max_value=MAX_ADJUSTMENT,
        help_text=_("A positive number adds signatures, a negative one takes them away."),
    )
    reason = forms.CharField(
        label=_("reason"),
        required=False,
        max_length=services.MAX_REASON,
        help_text=_("Required. Kept in the signature ledger with your name."),
        widget=forms.TextInput(attrs={"size": 60}),
    )


class LatestEntriesFormSet(BaseInlineFormSet):
    """The partner's latest ledger entries only: the whole ledger would make the page unbounded."""

    def get_queryset(self) -> QuerySet[BalanceEntry]:
        # Sliced once and kept: the formset asks for its queryset once per form.
        if not hasattr(self, "_latest"):
            latest = super().get_queryset()[:LATEST_ENTRIES]
            # Evaluated here, and each row given the page's partner: a row's title is its str(),
            # which names the partner, and would otherwise cost a query a row.
            for entry in latest:
                entry.partner = self.instance
            self._latest = latest
        return self._latest


class BalanceEntryInline(ReadOnlyInline):
    model = BalanceEntry
    formset = LatestEntriesFormSet
    fk_name = "partner"
    fields = ("created_at", "kind", "signed_amount", "balance_after", "actor", "reason", "reference")
    readonly_fields = fields
    verbose_name = _("ledger entry")
    verbose_name_plural = _("latest signature ledger entries")

    def get_queryset(self, request: HttpRequest) -> QuerySet[BalanceEntry]:
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("signatures"))
    def signed_amount(self, obj: BalanceEntry) -> str:
        return _signed(obj.amount)


BILLING_FIELDS = ("balance", "storage", "storage_cap", "expected_cost", "billing_records")


def _changelist_for(model: type[Any], partner: Partner) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?partner__id__exact={partner.pk}"


admin.site.unregister(Partner)


@admin.register(Partner)
class PartnerBillingAdmin(PartnerAdmin):
    """partners.admin.PartnerAdmin with the partner's billing: see the module docstring."""

    actions = ("adjust_balance",)
    balance_template = "admin/billing/balance_adjust.html"

    def get_list_display(self, request: HttpRequest) -> tuple[Any, ...]:
        return (*super().get_list_display(request), "signature_balance", "storage_used")

    # -- Change page

    def get_fieldsets(self, request: HttpRequest, obj: Partner | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:  # a partner being added has no billing yet
            return fieldsets
        return [*fieldsets, (_("Billing"), {"fields": BILLING_FIELDS})]

    def get_readonly_fields(self, request: HttpRequest, obj: Partner | None = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), *BILLING_FIELDS)

    def get_inlines(self, request: HttpRequest, obj: Partner | None) -> Any:
        inlines = tuple(super().get_inlines(request, obj))
        return inlines if obj is None else (*inlines, BalanceEntryInline)

    @admin.display(description=_("storage used"), ordering="storage_used_bytes")
    def storage_used(self, obj: Partner) -> str:
        return human_size(obj.storage_used_bytes)

    @admin.display(description=_("signature balance"))
    def balance(self, obj: Partner) -> SafeString:
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_balance", args=[obj.pk])
        return format_html(
            '{} <a class="button" href="{}">{}</a>',
            obj.signature_balance,
            url,
            gettext("Top up or adjust"),
        )

    @admin.display(description=_("storage"))
    def storage(self, obj: Partner) -> str:
        terms = plans.StorageTerms.of(obj)
        text = gettext("%(used)s of %(included)s included (%(percent)s %%)") % {
            "used": human_size(terms.used),
            "included": human_size(terms.included),
            "percent": terms.percent_of_included,
        }
        if terms.blocks:
            text += ", " + ngettext("%(n)d paid block", "%(n)d paid blocks", terms.blocks) % {
                "n": terms.blocks
            }
        return text

    @admin.display(description=_("storage cap"))
    def storage_cap(self, obj: Partner) -> str:
        terms = plans.StorageTerms.of(obj)
        if terms.cap_blocks is None or terms.limit is None:
            return gettext("No cap")
        blocks = ngettext("%(n)d paid block", "%(n)d paid blocks", terms.cap_blocks) % {"n": terms.cap_blocks}
        return gettext("%(blocks)s: at most %(limit)s in all") % {
            "blocks": blocks,
            "limit": human_size(terms.limit),
        }

    @admin.display(description=_("expected cost this month"))
    def expected_cost(self, obj: Partner) -> str:
        figures = selectors.statement_preview(partner=obj)
        return gettext("%(total)s (storage %(storage)s, signature packages %(signatures)s)") % {
            "total": format_sek(int(figures["total_ore"] or 0)),
            "storage": format_sek(int(figures["storage_amount_ore"] or 0)),
            "signatures": format_sek(int(figures["signatures_amount_ore"] or 0)),
        }

    @admin.display(description=_("billing records"))
    def billing_records(self, obj: Partner) -> SafeString:
        links = [
            (_changelist_for(BalanceEntry, obj), gettext("Signature ledger")),
            (_changelist_for(Statement, obj), gettext("Statements")),
            (_changelist_for(InvoiceLine, obj), gettext("Invoice lines")),
            (_changelist_for(UsageSnapshot, obj), gettext("Usage snapshots")),
        ]
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    def save_model(self, request: HttpRequest, obj: Partner, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            # What partners.services.partner_create does for partners made in the portal.
            services.signature_welcome_grant(partner=obj)

    # -- Balance top-up: an action on the changelist and a page of its own for one partner

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        # Before the default URLs, whose "<path:object_id>/" would swallow this one.
        return [
            path(
                "<path:object_id>/balance/",
                self.admin_site.admin_view(self.balance_view),
                name=f"{opts.app_label}_{opts.model_name}_balance",
            ),
            *super().get_urls(),
        ]

    def balance_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        partner = self.get_object(request, unquote(object_id))
        if partner is None:
            raise Http404
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        form = BalanceAdjustForm(request.POST if request.method == "POST" else None)
        if form.is_valid() and self._adjust(request, form, [partner]):
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[partner.pk])
            )
        return self._balance_page(request, form, [partner], action="")

    @admin.action(description=_("Top up or adjust signature balance"), permissions=["change"])
    def adjust_balance(self, request: HttpRequest, queryset: QuerySet[Partner]) -> HttpResponse | None:
        partners = list(queryset.order_by("pk"))
        # The changelist's own POST starts the action; the form below comes back with "apply".
        form = BalanceAdjustForm(request.POST if "apply" in request.POST else None)
        if form.is_valid() and self._adjust(request, form, partners):
            return None  # back to the changelist, with the message
        return self._balance_page(request, form, partners, action="adjust_balance")

    def _adjust(self, request: HttpRequest, form: BalanceAdjustForm, partners: list[Partner]) -> bool:
        """Adjust every partner's balance by the same amount, or none: one refused (it would go
        below zero, say) leaves all as they were, with the reason on the form."""
        actor = admin_actor(request)
        amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
        current: Partner | None = None
        try:
            # Partners in primary-key order, so two operators adjusting overlapping sets take
            # the row locks in the same order.
            with transaction.atomic():
                for current in partners:
                    entry = services.balance_adjust(
                        partner=current, actor=actor, amount=amount, reason=reason
                    )
                    self.log_change(
                        request,
                        current,
                        gettext("Signature balance adjusted by %(amount)s: %(reason)s")
                        % {"amount": _signed(entry.amount), "reason": entry.reason},
                    )
        except ServiceError as error:
            message = error.message
            if len(partners) > 1 and current is not None:
                message = f"{current.name}: {message}"
            form.add_error(error.field if error.field in form.fields else None, message)
            return False
        self.message_user(
            request,
            ngettext(
                "Signature balance adjusted for %(count)d partner.",
                "Signature balance adjusted for %(count)d partners.",
                len(partners),
            )
            % {"count": len(partners)},
            messages.SUCCESS,
        )
        return True

    def _balance_page(
        self, request: HttpRequest, form: BalanceAdjustForm, partners: list[Partner], *, action: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Top up or adjust signature balance"),
            "form": form,
            "partners": partners,
            # Set when the page is the action's intermediate step: the selection is sent back.
            "action_name": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "original": partners[0] if not action else None,
        }
        return TemplateResponse(request, self.balance_template, context)
