"""Settings > Balances (the signature ledger, packages, large volumes), Settings > Storage and
Settings > Statements (each month's statement as a page, a PDF and a CSV file)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from billing import access, plans, selectors, services, usage
from billing import statements as sheets
from billing.forms import BalanceThresholdForm, PackageForm, QuoteRequestForm, StorageCapForm
from partners.models import Partner
from portal.context import AuthedRequest
from portal.csv_export import csv_response
from portal.errors import ServiceError
from portal.units import format_sek, human_size


def _focus_first_error(form: Form) -> None:
    """The refused forms sit below the fold: the cursor in the first wrong field scrolls it into
    view and tells a screen reader where the problem is."""
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs["autofocus"] = True
            return


@login_required
@require_http_methods(["GET", "POST"])
def balances(request: AuthedRequest) -> HttpResponse:
    partner, is_admin = access.partner_for_balances(request)
    package_form, quote_form = PackageForm(), QuoteRequestForm()
    threshold_form = BalanceThresholdForm(initial={"threshold": partner.signature_low_threshold})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "buy":
            if not is_admin:
                raise PermissionDenied
            package_form = PackageForm(request.POST)
            if _buy(request, partner, package_form):
                return redirect("billing:balances")
        elif action == "threshold":
            if not is_admin:
                raise PermissionDenied
            threshold_form = BalanceThresholdForm(request.POST)
            if _set_threshold(request, partner, threshold_form):
                return redirect("billing:balances")
            _focus_first_error(threshold_form)
        elif action == "quote":
            quote_form = QuoteRequestForm(request.POST)
            if _ask_for_quote(request, partner, quote_form):
                return redirect("billing:balances")
            _focus_first_error(quote_form)
        else:
            return HttpResponseBadRequest()
        status = 422
    page = Paginator(selectors.ledger_for(partner=partner), settings.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        # The main menu's Settings item: portal.context_processors maps only "partners:" there.
        "partner": partner,
        "is_admin": is_admin,
        "page": page,
        "packages": selectors.packages_on_offer() if is_admin else [],
        "package_form": package_form,
        "quote_form": quote_form,
        "threshold_form": threshold_form,
    }
    return render(request, "billing/balances.html", context, status=status)


def _set_threshold(request: AuthedRequest, partner: Partner, form: BalanceThresholdForm) -> bool:
    """Save the low-balance warning; True when saved, else the form holds the reason."""
    if not form.is_valid():
        return False
    try:
        partner = services.balance_threshold_set(
            partner=partner, actor=request.user, threshold=form.cleaned_data["threshold"]
        )
    except ServiceError as error:
        error.add_to(form)
        return False
    threshold = partner.signature_low_threshold
    if threshold is None:
        messages.success(request, _("The account administrators will not be warned about a low balance."))
    else:
        messages.success(
            request,
            ngettext(
                "The account administrators will be warned when %(n)d signature is left.",
                "The account administrators will be warned when %(n)d signatures are left.",
                threshold,
            )
            % {"n": threshold},
        )
    return True


def _buy(request: AuthedRequest, partner: Partner, form: PackageForm) -> bool:
    """Buy the chosen package; True when bought, else the form holds the reason."""
    if not form.is_valid():
        return False
    try:
        entry = services.signature_purchase(
            partner=partner, actor=request.user, signatures=form.cleaned_data["package"]
        )
    except ServiceError as error:
        error.add_to(form)
        return False
    messages.success(
        request,
        ngettext(
            "%(n)d signature was added: the balance is now %(balance)d. The package is billed on "
            "this month's statement.",
            "%(n)d signatures were added: the balance is now %(balance)d. The package is billed on "
            "this month's statement.",
            entry.amount,
        )
        % {"n": entry.amount, "balance": entry.balance_after},
    )
    return True


def _ask_for_quote(request: AuthedRequest, partner: Partner, form: QuoteRequestForm) -> bool:
    if not form.is_valid():
        return False
    try:
        quote = services.quote_request(partner=partner, actor=request.user, **form.cleaned_data)
    except ServiceError as error:
        error.add_to(form)
        return False
    messages.success(
        request,
        ngettext(
            "Thank you. Support will get back to you with a price for %(n)d signature a year.",
            "Thank you. Support will get back to you with a price for %(n)d signatures a year.",
            quote.signatures_per_year,
        )
        % {"n": quote.signatures_per_year},
    )
    return True


@login_required
@require_http_methods(["GET", "POST"])
def storage(request: AuthedRequest) -> HttpResponse:
    partner = access.partner_for_storage(request)
    cap_help = _(
        "Leave empty for no cap. Each paid block is %(size)s and costs %(price)s a month. At the cap, "
        "uploads are refused."
    ) % {"size": human_size(plans.block_bytes()), "price": format_sek(plans.block_price_ore())}
    form = StorageCapForm(
        request.POST or None, initial={"cap_blocks": partner.storage_cap_blocks}, help_text=cap_help
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                partner = services.storage_set_cap(
                    partner=partner, actor=request.user, cap_blocks=form.cleaned_data["cap_blocks"]
                )
            except ServiceError as error:
                error.add_to(form)
            else:
                messages.success(request, _cap_message(partner))
                return redirect("billing:storage")
        _focus_first_error(form)
        status = 422
    terms = plans.StorageTerms.of(partner)
    preview = selectors.statement_preview(partner=partner)
    curve = selectors.usage_curve(partner=partner, days=90)
    context = {
        "partner": partner,
        "is_admin": True,  # for the settings tabs
        "terms": terms,
        "used": human_size(terms.used),
        "included": human_size(terms.included),
        "limit": human_size(terms.limit) if terms.limit is not None else None,
        "bar_percent": min(terms.percent_of_included, 100),
        "block_size": human_size(plans.block_bytes()),
        "block_price": format_sek(plans.block_price_ore()),
        "peak": human_size(_figure(preview, "peak_bytes")),
        "billed_blocks": _figure(preview, "extra_blocks"),
        "storage_cost": format_sek(_figure(preview, "storage_amount_ore")),
        "signatures_cost": format_sek(_figure(preview, "signatures_amount_ore")),
        "total_cost": format_sek(_figure(preview, "total_ore")),
        "customers": selectors.usage_by_customer(partner=partner),
        "curve": curve,
        "chart": selectors.usage_chart(curve, included=terms.included),
        "form": form,
        **_trash_context(partner),
    }
    return render(request, "billing/storage.html", context, status=status)


def _trash_context(partner: Partner) -> dict[str, object]:
    trash_bytes, trash_items = usage.trash_held(partner.pk)
    return {
        "trash_size": human_size(trash_bytes),
        "trash_items": trash_items,
        "trash_days": settings.PORTAL_TRASH_DAYS,
    }


def _figure(preview: dict[str, int | str | None], key: str) -> int:
    value = preview[key]
    assert isinstance(value, int)
    return value


def _cap_message(partner: Partner) -> str:
    terms = plans.StorageTerms.of(partner)
    if terms.limit is None or terms.cap_blocks is None:
        return _("The storage cap was removed: storage grows with use, one paid block at a time.")
    return ngettext(
        "The storage cap is now %(n)d paid block: at most %(limit)s can be stored.",
        "The storage cap is now %(n)d paid blocks: at most %(limit)s can be stored.",
        terms.cap_blocks,
    ) % {"n": terms.cap_blocks, "limit": human_size(terms.limit)}


@login_required
@require_GET
def statements(request: AuthedRequest) -> HttpResponse:
    partner = access.partner_for_statements(request)
    page = Paginator(selectors.statements_for(partner=partner), settings.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [sheets.StatementRow(statement) for statement in page.object_list]
    context = {"partner": partner, "is_admin": True, "page": page, "rows": rows}
    return render(request, "billing/statements.html", context)


def _sheet(request: AuthedRequest, year: int, month: int) -> sheets.StatementSheet:
    statement = access.statement_for_admin(request, year, month)
    return sheets.statement_sheet(statement, selectors.statement_lines(statement=statement))


@login_required
@require_GET
def statement_detail(request: AuthedRequest, year: int, month: int) -> HttpResponse:
    sheet = _sheet(request, year, month)
    context = {"partner": sheet.partner, "is_admin": True, "sheet": sheet}
    return render(request, "billing/statement_detail.html", context)


@login_required
@require_GET
def statement_pdf(request: AuthedRequest, year: int, month: int) -> HttpResponse:
    sheet = _sheet(request, year, month)
    response = HttpResponse(sheets.statement_pdf(sheet), content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=f"{sheet.filename_stem}.pdf") or ""
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def statement_csv(request: AuthedRequest, year: int, month: int) -> HttpResponse:
    sheet = _sheet(request, year, month)
    return csv_response(
        header=sheets.csv_header(), rows=sheets.csv_rows(sheet), filename=f"{sheet.filename_stem}.csv"
    )
