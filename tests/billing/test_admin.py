"""The billing admin: read-only billing rows whose lists do not grow N+1 queries, the partner page
with its billing position and latest ledger entries, and the signature top-up (an action on the
partner list and a form per partner) that goes through services.balance_adjust."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing import plans, services
from billing.models import (
    BalanceEntry,
    EntryKind,
    InvoiceLine,
    QuoteRequest,
    Statement,
    StoragePeak,
    UsageSnapshot,
)
from partners.models import Partner, PartnerRole, Plan
from portal.models import User
from tests.factories import (
    CollaborationFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    UserFactory,
    valid_orgnr,
)

pytestmark = pytest.mark.django_db

GB = 10**9
BILLING_MODELS = [
    "billing_balanceentry",
    "billing_invoiceline",
    "billing_statement",
    "billing_usagesnapshot",
    "billing_storagepeak",
    "billing_quoterequest",
]


@pytest.fixture
def operator(admin_user: User) -> User:
    """The site operator (a superuser), reading English so messages can be asserted."""
    admin_user.language = "en"
    admin_user.save(update_fields=["language"])
    return admin_user


@pytest.fixture
def op_client(client: Client, operator: User) -> Client:
    client.force_login(operator)
    return client


def ledger(partner: Partner) -> list[BalanceEntry]:
    return list(BalanceEntry.objects.filter(partner=partner).order_by("created_at", "id"))


def balance(partner: Partner) -> int:
    return Partner.objects.get(pk=partner.pk).signature_balance


def partner_with_billing(*, signatures: int = 3) -> Partner:
    """A partner with one row of every billing model, each pointing at its own people."""
    partner = PartnerFactory.create()
    admin = PartnerMembershipFactory.create(partner=partner, role=PartnerRole.ADMIN).user
    customer = CollaborationFactory.create(partner=partner).customer
    today = timezone.localdate()
    services.balance_adjust(partner=partner, actor=admin, amount=signatures, reason="Start")
    InvoiceLine.objects.create(
        partner=partner,
        period=plans.previous_month(today),
        description="Package of 10 signatures",
        quantity=10,
        amount_ore=290_00,
    )
    UsageSnapshot.objects.create(partner=partner, customer=customer, day=today, bytes_used=3 * GB)
    StoragePeak.objects.create(partner=partner, period=plans.previous_month(today), peak_bytes=6 * GB)
    services.statement_make(partner=partner, period=plans.previous_month(today))
    QuoteRequest.objects.create(partner=partner, requested_by=admin, signatures_per_year=5000)
    return partner


def changelist(model: str) -> str:
    return reverse(f"admin:{model}_changelist")


def queries_for(client: Client, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


# --- The billing rows: every page renders, lists in a fixed number of queries -----------------------


@pytest.mark.parametrize("model", BILLING_MODELS)
def test_changelist_and_change_page_render(op_client: Client, model: str) -> None:
    partner_with_billing()
    partner_with_billing()
    response = op_client.get(changelist(model))
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert len(rows) == 2
    response = op_client.get(reverse(f"admin:{model}_change", args=[rows[0].pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("model", [*BILLING_MODELS, "partners_partner"])
def test_changelist_queries_do_not_grow(op_client: Client, model: str) -> None:
    for _ in range(2):
        partner_with_billing()
    with_two, response = queries_for(op_client, changelist(model))
    assert response.context["cl"].result_count == 2
    for _ in range(18):
        partner_with_billing()
    with_twenty, response = queries_for(op_client, changelist(model))
    assert response.context["cl"].result_count == 20
    assert with_twenty == with_two


def test_money_and_sizes_are_formatted(op_client: Client) -> None:
    partner = partner_with_billing()
    content = op_client.get(changelist("billing_invoiceline")).content.decode()
    assert "290.00 kr" in content
    content = op_client.get(changelist("billing_usagesnapshot")).content.decode()
    assert "3.0 GB" in content
    response = op_client.get(changelist("billing_statement"), {"plan": Plan.BYRA})
    assert response.context["cl"].result_count == 1
    assert 'class="field-plan_name">Byrå<' in response.content.decode()
    statement = Statement.objects.get(partner=partner)
    content = op_client.get(reverse("admin:billing_statement_change", args=[statement.pk])).content.decode()
    assert "6.0 GB" in content  # the month's peak
    assert "79.00 kr" in content  # one started block beyond the 5 GB included
    assert "369.00 kr" in content  # the block and the package


def test_period_filter_lists_months_and_filters(op_client: Client) -> None:
    partner = partner_with_billing()
    this_month = plans.month_start(timezone.localdate())
    InvoiceLine.objects.create(
        partner=partner, period=this_month, description="Package of 50 signatures", quantity=50, amount_ore=1
    )
    response = op_client.get(changelist("billing_invoiceline"), {"period": this_month.isoformat()})
    assert [line.quantity for line in response.context["cl"].result_list] == [50]
    assert f"{this_month:%Y-%m}" in response.content.decode()
    # A month that is no date at all is a bad lookup, not a server error.
    response = op_client.get(changelist("billing_invoiceline"), {"period": "2026-13"})
    assert response.status_code == 302
    assert "e=1" in response["Location"]


@pytest.mark.parametrize("model", BILLING_MODELS)
def test_billing_rows_cannot_be_added_changed_or_deleted(op_client: Client, model: str) -> None:
    partner_with_billing()
    obj = op_client.get(changelist(model)).context["cl"].result_list[0]
    assert op_client.get(reverse(f"admin:{model}_add")).status_code == 403
    assert op_client.post(reverse(f"admin:{model}_add"), {}).status_code == 403
    assert op_client.post(reverse(f"admin:{model}_change", args=[obj.pk]), {}).status_code == 403
    assert op_client.get(reverse(f"admin:{model}_delete", args=[obj.pk])).status_code == 403
    response = op_client.post(changelist(model), {"action": "delete_selected", "_selected_action": [obj.pk]})
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert response.status_code in (200, 302)


# --- The partner page -----------------------------------------------------------------------------


def partner_url(partner: Partner) -> str:
    return reverse("admin:partners_partner_change", args=[partner.pk])


def balance_url(partner: Partner) -> str:
    return reverse("admin:partners_partner_balance", args=[partner.pk])


def test_partner_page_shows_billing_and_links(op_client: Client) -> None:
    partner = partner_with_billing(signatures=7)
    Partner.objects.filter(pk=partner.pk).update(storage_used_bytes=6 * GB, storage_cap_blocks=2)
    StoragePeak.objects.create(
        partner=partner, period=plans.month_start(timezone.localdate()), peak_bytes=6 * GB
    )
    response = op_client.get(partner_url(partner))
    assert response.status_code == 200
    content = response.content.decode()
    assert balance_url(partner) in content
    assert "6.0 GB of 5.0 GB included (120 %), 1 paid block" in content
    assert "2 paid blocks: at most 25.0 GB in all" in content
    # This month: the 6 GB peak is one paid block; no package bought this month.
    assert "79.00 kr (storage 79.00 kr, signature packages 0.00 kr)" in content
    for model in ("balanceentry", "statement", "invoiceline", "usagesnapshot"):
        assert f"{changelist(f'billing_{model}')}?partner__id__exact={partner.pk}" in content
    inline = next(f for f in response.context["inline_admin_formsets"] if f.formset.model is BalanceEntry)
    assert [form.instance.reason for form in inline.formset.forms] == ["Start"]


def test_partner_page_links_lead_to_that_partners_rows_only(op_client: Client) -> None:
    partner = partner_with_billing()
    partner_with_billing()
    url = f"{changelist('billing_statement')}?partner__id__exact={partner.pk}"
    response = op_client.get(url)
    assert [s.partner_id for s in response.context["cl"].result_list] == [partner.pk]


def test_partner_page_without_a_cap(op_client: Client) -> None:
    partner = partner_with_billing()
    assert "No cap" in op_client.get(partner_url(partner)).content.decode()


def test_partner_page_queries_do_not_grow_with_the_ledger(op_client: Client) -> None:
    partner = partner_with_billing()
    # Each entry by someone else (site staff, say): the actor column must not cost a query a row.
    services.balance_adjust(partner=partner, actor=UserFactory.create(), amount=1, reason="Second")
    with_two, _response = queries_for(op_client, partner_url(partner))
    for n in range(23):
        services.balance_adjust(partner=partner, actor=UserFactory.create(), amount=1, reason=f"More {n}")
    with_many, response = queries_for(op_client, partner_url(partner))
    assert with_many == with_two
    inline = next(f for f in response.context["inline_admin_formsets"] if f.formset.model is BalanceEntry)
    shown = [form.instance.reason for form in inline.formset.forms]
    assert len(shown) == 20  # the latest only
    assert shown[0] == "More 22"


def test_partner_page_saves_with_the_ledger_inline(op_client: Client) -> None:
    partner = partner_with_billing()
    PartnerMembershipFactory.create(partner=partner)
    response = op_client.get(partner_url(partner))
    data = _post_data(response)
    data["name"] = "Omdöpt Byrå AB"
    response = op_client.post(partner_url(partner), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Partner.objects.get(pk=partner.pk).name == "Omdöpt Byrå AB"
    assert len(ledger(partner)) == 1  # the inline wrote nothing


def _post_data(response: Any) -> dict[str, Any]:
    """The POST body that submits an admin change page as it was rendered."""
    context = response.context_data or {}
    forms = [context["adminform"].form]
    for inline in context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def test_partner_changelist_shows_balance_and_storage(op_client: Client) -> None:
    partner = partner_with_billing(signatures=9)
    Partner.objects.filter(pk=partner.pk).update(storage_used_bytes=1_500_000)
    response = op_client.get(changelist("partners_partner"))
    content = response.content.decode()
    assert "1.5 MB" in content
    assert 'class="field-signature_balance">9<' in content
    assert "adjust_balance" in content  # the action is on offer


# --- Partners added in the admin get the welcome grant ---------------------------------------------


def test_partner_added_in_the_admin_gets_the_welcome_grant(op_client: Client) -> None:
    person = PartnerMembershipFactory.create().user
    add_page = op_client.get(reverse("admin:partners_partner_add"))
    assert add_page.status_code == 200
    assert "balance_entries-TOTAL_FORMS" not in add_page.content.decode()  # no ledger yet
    response = op_client.post(
        reverse("admin:partners_partner_add"),
        {
            "name": "Ny Byrå AB",
            "org_number": valid_orgnr(4242),
            "plan": Plan.BYRA,
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": str(person.pk),
            "memberships-0-role": PartnerRole.ADMIN,
        },
    )
    assert response.status_code == 302
    partner = Partner.objects.get(name="Ny Byrå AB")
    [entry] = ledger(partner)
    assert (entry.kind, entry.amount, entry.reference) == (EntryKind.GRANT, 2, "welcome")
    assert balance(partner) == 2


def test_changing_a_partner_grants_nothing(op_client: Client) -> None:
    partner = PartnerFactory.create()
    PartnerMembershipFactory.create(partner=partner, role=PartnerRole.ADMIN)
    data = _post_data(op_client.get(partner_url(partner)))
    assert op_client.post(partner_url(partner), data).status_code == 302
    assert ledger(partner) == []


# --- Topping up: the per-partner form ----------------------------------------------------------------


def test_balance_form_tops_up_with_actor_and_reason(op_client: Client, operator: User) -> None:
    partner = partner_with_billing(signatures=2)
    page = op_client.get(balance_url(partner))
    assert page.status_code == 200
    assert partner.name in page.content.decode()
    response = op_client.post(balance_url(partner), {"amount": "25", "reason": "  Avtal   april "})
    assert response.status_code == 302
    assert response["Location"] == partner_url(partner)
    assert balance(partner) == 27
    entry = ledger(partner)[-1]
    assert (entry.kind, entry.amount, entry.balance_after) == (EntryKind.ADJUSTMENT, 25, 27)
    assert (entry.actor, entry.reason) == (operator, "Avtal april")
    history = op_client.get(reverse("admin:partners_partner_history", args=[partner.pk])).content.decode()
    assert "Signature balance adjusted by +25: Avtal april" in history


def test_balance_form_takes_signatures_away(op_client: Client) -> None:
    partner = partner_with_billing(signatures=5)
    response = op_client.post(balance_url(partner), {"amount": "-5", "reason": "Dubbelbokad"})
    assert response.status_code == 302
    assert balance(partner) == 0
    assert ledger(partner)[-1].amount == -5


BAD_INPUT = [
    ("5", "", "Give a reason for the adjustment."),
    ("5", "   ", "Give a reason for the adjustment."),
    ("0", "Rättelse", "The adjustment must add or remove at least one signature."),
    ("-3", "Rättelse", "The balance is 2: it cannot go below zero."),
]


@pytest.mark.parametrize(("amount", "reason", "message"), BAD_INPUT)
def test_balance_form_refuses_bad_input(op_client: Client, amount: str, reason: str, message: str) -> None:
    partner = partner_with_billing(signatures=2)
    before = ledger(partner)
    response = op_client.post(balance_url(partner), {"amount": amount, "reason": reason})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert ledger(partner) == before
    assert balance(partner) == 2


def test_balance_form_needs_an_amount(op_client: Client) -> None:
    partner = partner_with_billing(signatures=2)
    response = op_client.post(balance_url(partner), {"amount": "", "reason": "Rättelse"})
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert len(ledger(partner)) == 1


def test_balance_form_of_an_unknown_partner_is_404(op_client: Client) -> None:
    assert op_client.get(reverse("admin:partners_partner_balance", args=[999_999])).status_code == 404


def test_balance_form_needs_the_change_permission(client: Client, django_user_model: Any) -> None:
    partner = partner_with_billing(signatures=2)
    viewer = django_user_model.objects.create_user(email="viewer@example.com", name="V", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_partner"))
    client.force_login(viewer)
    assert client.get(partner_url(partner)).status_code == 200
    assert client.post(balance_url(partner), {"amount": "5", "reason": "x"}).status_code == 403
    assert balance(partner) == 2


# --- Topping up: the changelist action ---------------------------------------------------------------


def test_action_shows_a_form_then_tops_up_every_selected_partner(op_client: Client, operator: User) -> None:
    first, second, untouched = (partner_with_billing(signatures=n) for n in (1, 2, 3))
    selected = [first.pk, second.pk]
    response = op_client.post(
        changelist("partners_partner"), {"action": "adjust_balance", "_selected_action": selected, "index": 0}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert first.name in content and second.name in content and untouched.name not in content
    assert len(BalanceEntry.objects.all()) == 3  # the form, nothing done yet

    response = op_client.post(
        changelist("partners_partner"),
        {
            "action": "adjust_balance",
            "_selected_action": selected,
            "amount": "10",
            "reason": "Kampanj",
            "apply": "1",
        },
    )
    assert response.status_code == 302
    assert [balance(p) for p in (first, second, untouched)] == [11, 12, 3]
    for partner in (first, second):
        entry = ledger(partner)[-1]
        assert (entry.kind, entry.amount, entry.actor, entry.reason) == (
            EntryKind.ADJUSTMENT,
            10,
            operator,
            "Kampanj",
        )
    messages = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert messages == ["Signature balance adjusted for 2 partners."]


@pytest.mark.parametrize(("amount", "reason", "message"), BAD_INPUT)
def test_action_refuses_bad_input(op_client: Client, amount: str, reason: str, message: str) -> None:
    partners = [partner_with_billing(signatures=2) for _ in range(2)]
    response = op_client.post(
        changelist("partners_partner"),
        {
            "action": "adjust_balance",
            "_selected_action": [p.pk for p in partners],
            "amount": amount,
            "reason": reason,
            "apply": "1",
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert BalanceEntry.objects.count() == 2
    assert [balance(p) for p in partners] == [2, 2]


def test_action_changes_no_partner_when_one_would_go_below_zero(op_client: Client) -> None:
    rich, poor = partner_with_billing(signatures=10), partner_with_billing(signatures=1)
    response = op_client.post(
        changelist("partners_partner"),
        {
            "action": "adjust_balance",
            "_selected_action": [rich.pk, poor.pk],
            "amount": "-5",
            "reason": "Rättelse",
            "apply": "1",
        },
    )
    assert response.status_code == 200
    assert f"{poor.name}: The balance is 1: it cannot go below zero." in response.content.decode()
    assert [balance(rich), balance(poor)] == [10, 1]
    assert BalanceEntry.objects.filter(kind=EntryKind.ADJUSTMENT, amount=-5).count() == 0


# --- Wiring -------------------------------------------------------------------------------------------


def test_billing_is_installed_after_partners() -> None:
    from django.conf import settings
    from django.contrib import admin

    from billing.admin import PartnerBillingAdmin
    from partners.admin import PartnerAdmin

    apps = list(settings.INSTALLED_APPS)
    assert apps.index("billing") > apps.index("partners")
    registered = admin.site._registry[Partner]
    assert isinstance(registered, PartnerBillingAdmin)
    assert isinstance(registered, PartnerAdmin)
