"""seed_demo's billing: welcome grants for every demo partner, Demo Byrå AB's ledger over two months,
its daily usage curve, peaks and last month's statement; idempotent like the rest of the demo."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from billing import plans
from billing.models import BalanceEntry, EntryKind, InvoiceLine, Statement, StoragePeak, UsageSnapshot
from documents.models import Document, DocumentVersion
from partners.models import Partner
from portal.models import AuditEvent, User

pytestmark = pytest.mark.django_db

DEMO_BYRA = "559900-1004"


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)  # tests run with DEBUG off
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            BalanceEntry,
            InvoiceLine,
            Statement,
            StoragePeak,
            UsageSnapshot,
            Document,
            DocumentVersion,
            AuditEvent,
            Partner,
            User,
        )
    }


def stored_bytes(partner: Partner) -> int:
    versions = DocumentVersion.objects.filter(
        deleted_at__isnull=True, document__folder__collaboration__partner=partner
    )
    return int(versions.aggregate(s=Sum("size"))["s"] or 0)


def test_seeding_twice_changes_nothing_the_second_time(settings: object) -> None:
    seed()
    before = counts()
    balances = dict(Partner.objects.values_list("pk", "signature_balance"))
    used = dict(Partner.objects.values_list("pk", "storage_used_bytes"))
    seed()
    assert counts() == before
    assert dict(Partner.objects.values_list("pk", "signature_balance")) == balances
    assert dict(Partner.objects.values_list("pk", "storage_used_bytes")) == used


def test_seeded_billing_is_consistent() -> None:
    output = seed()
    today = timezone.localdate()
    last_month, this_month = plans.previous_month(today), plans.month_start(today)
    demo = Partner.objects.get(org_number=DEMO_BYRA)

    # Every demo partner has its welcome grant, once; every balance is its ledger's sum.
    for partner in Partner.objects.all():
        assert (
            BalanceEntry.objects.filter(partner=partner, kind=EntryKind.GRANT, reference="welcome").count()
            == 1
        )
        total = BalanceEntry.objects.filter(partner=partner).aggregate(s=Sum("amount"))["s"]
        assert partner.signature_balance == total

    # Dated back in order: each entry's balance_after follows from the one before it in time.
    entries = list(BalanceEntry.objects.filter(partner=demo).order_by("created_at", "id"))
    running = 0
    for entry in entries:
        running += entry.amount
        assert entry.balance_after == running, entry
        assert entry.created_at <= timezone.now()
    assert entries[0].reference == "welcome"
    # 72 after the seeded ledger, less the three demo signings sent to Kund AB.
    assert demo.signature_balance == running == 69

    anna = User.objects.get(email="anna@byra.example")
    purchases = [e for e in entries if e.kind == EntryKind.PURCHASE]
    assert {e.actor for e in purchases} == {anna}
    months = {plans.month_start(timezone.localtime(e.created_at).date()) for e in purchases}
    assert months == {last_month, this_month}
    for entry in purchases:  # each purchase is billed in the month it is dated
        line = InvoiceLine.objects.get(entry=entry)
        assert line.period == plans.month_start(timezone.localtime(entry.created_at).date())
    charges = [e for e in entries if e.kind == EntryKind.CHARGE]
    demo_history = [e.reference for e in charges if e.reference.startswith("demo-signing:")]
    assert demo_history == [f"demo-signing:{n}" for n in range(1, 6)]
    sent = [e.reference for e in charges if not e.reference.startswith("demo-signing:")]
    assert len(sent) == 3 and all(r.startswith("signing:") for r in sent)  # the demo signings
    [adjustment] = [e for e in entries if e.kind == EntryKind.ADJUSTMENT]
    assert adjustment.actor == User.objects.get(email="admin@portal.example")
    assert adjustment.reason

    # The counter matches the stored files, and the usage curve rises to it over 30+ days.
    assert demo.storage_used_bytes == stored_bytes(demo) > 0
    totals = dict(
        UsageSnapshot.objects.filter(partner=demo, customer=None)
        .order_by("day")
        .values_list("day", "bytes_used")
    )
    days = [today - dt.timedelta(days=n) for n in range(30, -1, -1)]
    assert all(day in totals for day in days)
    curve = [totals[day] for day in days]
    assert curve == sorted(curve)
    assert curve[0] < curve[-1] == demo.storage_used_bytes
    per_customer = UsageSnapshot.objects.filter(partner=demo, customer__isnull=False, day=today)
    assert per_customer.count() == 2  # Kund AB and Bygg AB
    assert sum(s.bytes_used for s in per_customer) == demo.storage_used_bytes

    peak = StoragePeak.objects.get(partner=demo, period=this_month)
    assert peak.peak_bytes >= demo.storage_used_bytes

    statement = Statement.objects.get(partner=demo, period=last_month)
    billed = InvoiceLine.objects.filter(partner=demo, period=last_month).aggregate(s=Sum("amount_ore"))["s"]
    assert statement.signatures_amount_ore == billed == 290_00 + 1_250_00
    assert statement.peak_bytes == max(v for d, v in totals.items() if last_month <= d < this_month)
    assert "statement Demo Byrå AB" in output
