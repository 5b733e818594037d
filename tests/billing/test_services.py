"""billing.services: the ledger, storage accounting, caps, notices, reconcile, snapshots, statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone, translation

from billing import plans, services
from billing.models import (
    BalanceEntry,
    EntryKind,
    InvoiceLine,
    Statement,
    StoragePeak,
    UsageSnapshot,
)
from documents import services as documents
from documents import trash
from documents.models import CustomerAccess, Document, DocumentVersion, Folder
from notifications.events import describe
from notifications.models import Event, Notification
from partners.models import Partner, Plan
from partners.services import partner_create
from portal.errors import ServiceError
from portal.models import User
from tests.conftest import World
from tests.factories import UserFactory, valid_orgnr

GB = 10**9
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English (the default language is Swedish)."""
    with translation.override("en"):
        yield


def fresh(partner: Partner) -> Partner:
    return Partner.objects.get(pk=partner.pk)


def ledger_sum(partner: Partner) -> int:
    return sum(BalanceEntry.objects.filter(partner=partner).values_list("amount", flat=True))


def folder_of(world: World) -> Folder:
    return documents.folder_create(
        collaboration=world.collaboration,
        actor=world.admin,
        name="Bokslut",
        customer_access=CustomerAccess.NONE,
    )


def upload(folder: Folder, actor: Any, name: str, size: int) -> DocumentVersion:
    data = (PDF + b"%" * (size - len(PDF))) if size >= len(PDF) else b"x" * size
    assert len(data) == size
    return documents.document_upload(folder=folder, actor=actor, name=name, chunks=[data], by_customer=False)


# --- Signature ledger ------------------------------------------------------------------------------


def test_a_new_partner_gets_two_free_signatures_once(db: None) -> None:
    admin = UserFactory.create()
    partner = partner_create(name="Ny Byrå AB", org_number=valid_orgnr(77), admin=admin)
    assert fresh(partner).signature_balance == 2
    entry = BalanceEntry.objects.get(partner=partner)
    assert (entry.kind, entry.amount, entry.balance_after, entry.reference) == (
        EntryKind.GRANT,
        2,
        2,
        "welcome",
    )
    assert services.signature_welcome_grant(partner=partner) is None  # a second call grants nothing
    assert fresh(partner).signature_balance == 2 == ledger_sum(partner)


def test_purchase_adds_at_once_and_bills_this_month(world: World) -> None:
    entry = services.signature_purchase(partner=world.partner, actor=world.admin, signatures=50)
    assert (entry.kind, entry.amount, entry.balance_after, entry.actor) == (
        EntryKind.PURCHASE,
        50,
        50,
        world.admin,
    )
    assert fresh(world.partner).signature_balance == 50
    line = InvoiceLine.objects.get(partner=world.partner)
    assert line.entry == entry and line.quantity == 50
    assert line.amount_ore == plans.packages()[50] == 1_250_00
    assert line.period == timezone.localdate().replace(day=1)


@pytest.mark.parametrize("signatures", [0, -10, 11, 10**6])
def test_purchase_of_no_package_is_refused_and_writes_nothing(world: World, signatures: int) -> None:
    with pytest.raises(ServiceError) as error:
        services.signature_purchase(partner=world.partner, actor=world.admin, signatures=signatures)
    assert error.value.message == "Choose one of the packages on offer."
    assert not BalanceEntry.objects.exists() and not InvoiceLine.objects.exists()
    assert fresh(world.partner).signature_balance == 0


@pytest.mark.parametrize("who", ["staff", "outsider", "customer_user"])
def test_only_an_account_administrator_may_buy(world: World, who: str) -> None:
    with pytest.raises(ServiceError) as error:
        services.signature_purchase(partner=world.partner, actor=getattr(world, who), signatures=10)
    assert error.value.message == "Only an account administrator can do this."
    assert not BalanceEntry.objects.exists() and not InvoiceLine.objects.exists()


def test_charge_takes_one_and_stops_at_zero(world: World) -> None:
    services.signature_grant(partner=world.partner, amount=2, reason="test")
    first = services.signature_charge(partner=world.partner, actor=world.staff, reference="signing:1")
    second = services.signature_charge(partner=world.partner, actor=world.staff, reference="signing:2")
    assert (first.balance_after, second.balance_after) == (1, 0)
    with pytest.raises(services.BalanceEmpty) as error:
        services.signature_charge(partner=world.partner, actor=world.staff, reference="signing:3")
    assert "Alfa Byrå AB has no signatures left" in error.value.message
    assert fresh(world.partner).signature_balance == 0 == ledger_sum(world.partner)
    assert BalanceEntry.objects.filter(kind=EntryKind.CHARGE).count() == 2


def test_charging_the_same_reference_twice_charges_once(world: World) -> None:
    services.signature_grant(partner=world.partner, amount=5, reason="test")
    a = services.signature_charge(partner=world.partner, actor=world.staff, reference="signing:7")
    b = services.signature_charge(partner=world.partner, actor=world.staff, reference="signing:7")
    assert a.pk == b.pk
    assert fresh(world.partner).signature_balance == 4


def test_refund_gives_back_once_and_only_what_was_charged(world: World) -> None:
    services.signature_grant(partner=world.partner, amount=3, reason="test")
    assert services.signature_refund(partner=world.partner, actor=None, reference="signing:9") is None
    services.signature_charge(partner=world.partner, actor=world.staff, reference="signing:9")
    refund = services.signature_refund(partner=world.partner, actor=world.admin, reference="signing:9")
    assert refund is not None and refund.amount == 1 and refund.balance_after == 3
    assert services.signature_refund(partner=world.partner, actor=world.admin, reference="signing:9") is None
    assert fresh(world.partner).signature_balance == 3 == ledger_sum(world.partner)


def test_adjustment_needs_a_reason_and_never_goes_below_zero(world: World) -> None:
    services.signature_grant(partner=world.partner, amount=3, reason="test")
    for amount, reason, message in [
        (5, "", "Give a reason for the adjustment."),
        (5, "   ", "Give a reason for the adjustment."),
        (0, "typo", "The adjustment must add or remove at least one signature."),
        (-4, "typo", "The balance is 3: it cannot go below zero."),
    ]:
        with pytest.raises(ServiceError) as error:
            services.balance_adjust(partner=world.partner, actor=world.admin, amount=amount, reason=reason)
        assert error.value.message == message
    assert BalanceEntry.objects.count() == 1
    entry = services.balance_adjust(
        partner=world.partner, actor=world.admin, amount=-3, reason="Goodwill back"
    )
    assert (entry.kind, entry.balance_after, entry.reason) == (EntryKind.ADJUSTMENT, 0, "Goodwill back")


# --- Storage accounting --------------------------------------------------------------------------


def test_uploads_and_deletes_keep_the_counter_equal_to_the_stored_sizes(world: World) -> None:
    folder = folder_of(world)
    a1 = upload(folder, world.admin, "a.pdf", 1000)
    upload(folder, world.admin, "a.pdf", 1500)  # a second version counts too
    b = upload(folder, world.admin, "b.pdf", 700)
    sub = documents.folder_create(
        collaboration=world.collaboration, actor=world.admin, name="Under", parent=folder
    )
    upload(sub, world.admin, "c.pdf", 300)
    assert fresh(world.partner).storage_used_bytes == 3500
    # Deleting moves to the trash: the files are still stored and counted until purged.
    documents.version_delete(version=a1, actor=world.admin)
    documents.documents_delete(documents=[b.document], actor=world.admin)
    documents.folder_delete(folder=sub, actor=world.admin)
    assert fresh(world.partner).storage_used_bytes == 3500
    assert services.storage_reconcile() == []
    assert trash.trash_purge_due(now=timezone.now() + dt.timedelta(days=31)) == 3
    assert fresh(world.partner).storage_used_bytes == 1500
    documents.folder_delete(folder=folder, actor=world.admin)
    assert trash.trash_empty(partner=world.partner, actor=world.admin) == 1
    assert fresh(world.partner).storage_used_bytes == 0
    assert services.storage_reconcile() == []
    # The month's peak remembers the highest level reached.
    assert StoragePeak.objects.get(partner=world.partner).peak_bytes == 3500


def test_usage_is_counted_per_partner(world: World) -> None:
    upload(folder_of(world), world.admin, "a.pdf", 1000)
    other = documents.folder_create(
        collaboration=world.outsider_collaboration, actor=world.outsider, name="B", customer_access="none"
    )
    upload(other, world.outsider, "b.pdf", 400)
    assert fresh(world.partner).storage_used_bytes == 1000
    assert fresh(world.other_partner).storage_used_bytes == 400


def test_an_upload_over_the_cap_is_refused_with_who_can_raise_it(world: World, settings: Any) -> None:
    settings.STORAGE_INCLUDED_BYTES = {"portal": 1000, "byra": 1000}
    settings.STORAGE_BLOCK_BYTES = 500
    services.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=1)  # limit 1500
    folder = folder_of(world)
    upload(folder, world.admin, "a.pdf", 1400)
    with pytest.raises(services.StorageCapReached) as error:
        upload(folder, world.customer_user, "b.pdf", 200)
    assert error.value.message == (
        "Alfa Byrå AB has reached its storage cap of 1.5 kB (1 paid block). This file needs 200 B and "
        "100 B is left. An account administrator of Alfa Byrå AB can raise the cap under Settings > Storage."
    )
    assert fresh(world.partner).storage_used_bytes == 1400
    assert list(Document.objects.values_list("name", flat=True)) == ["a.pdf"]
    upload(folder, world.admin, "c.pdf", 100)  # exactly at the limit is allowed
    assert fresh(world.partner).storage_used_bytes == 1500


def test_cap_rules(world: World, settings: Any) -> None:
    settings.STORAGE_INCLUDED_BYTES = {"portal": 1000, "byra": 1000}
    settings.STORAGE_BLOCK_BYTES = 500
    upload(folder_of(world), world.admin, "a.pdf", 1800)  # 2 blocks
    with pytest.raises(ServiceError) as error:
        services.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=1)
    assert error.value.field == "cap_blocks"
    assert "Choose at least 2 blocks" in error.value.message
    with pytest.raises(ServiceError):
        services.storage_set_cap(partner=world.partner, actor=world.staff, cap_blocks=5)
    assert fresh(world.partner).storage_cap_blocks is None
    services.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=2)
    assert fresh(world.partner).storage_cap_blocks == 2
    services.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=None)
    assert fresh(world.partner).storage_cap_blocks is None


def test_admins_hear_at_80_and_100_percent_and_at_each_new_block(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.STORAGE_INCLUDED_BYTES = {"portal": 1000, "byra": 1000}
    settings.STORAGE_BLOCK_BYTES = 1000
    User.objects.update(language="en")  # the emails are in the recipient's language
    folder = folder_of(world)
    steps = [
        ("a.pdf", 700, []),
        (
            "b.pdf",
            150,
            [(Event.STORAGE_WARNING, "Alfa Byrå AB has used 80 % of its included storage (850 B of 1.0 kB)")],
        ),
        ("c.pdf", 100, []),
        (
            "d.pdf",
            50,
            [(Event.STORAGE_WARNING, "Alfa Byrå AB has used all of its included storage (1.0 kB of 1.0 kB)")],
        ),
        (
            "e.pdf",
            1,
            [(Event.STORAGE_BLOCK, "Paid storage block 1 has started for Alfa Byrå AB (1.0 kB stored)")],
        ),
        ("f.pdf", 999, []),
        (
            "g.pdf",
            1,
            [(Event.STORAGE_BLOCK, "Paid storage block 2 has started for Alfa Byrå AB (2.0 kB stored)")],
        ),
    ]
    for name, size, expected in steps:
        seen = set(Notification.objects.values_list("pk", flat=True))
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            upload(folder, world.customer_user, name, size)
        new = (
            Notification.objects.exclude(pk__in=seen)
            .filter(event__in=[Event.STORAGE_WARNING, Event.STORAGE_BLOCK])
            .order_by("pk")
        )
        # Only the account administrator hears about it; never staff or the customer who uploaded.
        assert {n.recipient_id for n in new} <= {world.admin.pk}, name
        assert [(n.event, describe(n.event, n.params, n.count)) for n in new] == expected, name
        told = [m.to for m in mail.outbox if "storage" in m.subject]
        assert told == [[world.admin.email]] * len(expected)


def test_the_admin_who_caused_it_is_not_told(world: World, settings: Any) -> None:
    settings.STORAGE_INCLUDED_BYTES = {"portal": 1000, "byra": 1000}
    upload(folder_of(world), world.admin, "a.pdf", 900)
    assert not Notification.objects.filter(event=Event.STORAGE_WARNING).exists()


def test_admins_hear_when_a_charge_reaches_their_threshold(world: World) -> None:
    services.signature_grant(partner=world.partner, amount=5, reason="test")
    services.balance_threshold_set(partner=world.partner, actor=world.admin, threshold=3)
    for n in range(5):
        services.signature_charge(partner=world.partner, actor=world.staff, reference=f"signing:{n}")
    told = Notification.objects.filter(event=Event.BALANCE_LOW)
    assert [(n.recipient_id, n.params["balance"]) for n in told] == [(world.admin.pk, 3)]
    with pytest.raises(ServiceError):
        services.balance_threshold_set(partner=world.partner, actor=world.staff, threshold=1)
    with pytest.raises(ServiceError):
        services.balance_threshold_set(partner=world.partner, actor=world.admin, threshold=-1)
    assert fresh(world.partner).signature_low_threshold == 3


# --- Reconcile and snapshots ------------------------------------------------------------------------


def test_reconcile_fixes_injected_drift_and_is_a_no_op_without_it(world: World) -> None:
    folder = folder_of(world)
    upload(folder, world.admin, "a.pdf", 1000)
    upload(folder, world.admin, "b.pdf", 500)
    assert services.storage_reconcile() == []
    Partner.objects.filter(pk=world.partner.pk).update(storage_used_bytes=123)  # drift down
    Partner.objects.filter(pk=world.other_partner.pk).update(
        storage_used_bytes=999
    )  # drift up, nothing stored
    fixed = services.storage_reconcile()
    assert sorted((d.partner_id, d.counted, d.actual) for d in fixed) == sorted(
        [(world.partner.pk, 123, 1500), (world.other_partner.pk, 999, 0)]
    )
    assert fresh(world.partner).storage_used_bytes == 1500
    assert fresh(world.other_partner).storage_used_bytes == 0
    assert services.storage_reconcile() == []


def test_reconcile_counts_with_one_aggregate_query_without_drift(
    world: World, django_assert_max_num_queries: Any
) -> None:
    upload(folder_of(world), world.admin, "a.pdf", 1000)
    with django_assert_max_num_queries(2):  # the sizes per partner, the counters
        assert services.storage_reconcile() == []


def test_snapshot_per_partner_and_customer_replaces_the_same_day(world: World) -> None:
    upload(folder_of(world), world.admin, "a.pdf", 1000)
    other = documents.folder_create(
        collaboration=world.other_collaboration, actor=world.admin, name="X", customer_access="none"
    )
    upload(other, world.admin, "b.pdf", 300)
    day = dt.date(2026, 11, 20)
    services.usage_snapshot(day=day)
    services.usage_snapshot(day=day)
    rows = {(s.partner_id, s.customer_id): s.bytes_used for s in UsageSnapshot.objects.filter(day=day)}
    assert rows == {
        (world.partner.pk, None): 1300,
        (world.partner.pk, world.collaboration.customer_id): 1000,
        (world.partner.pk, world.other_collaboration.customer_id): 300,
        (world.other_partner.pk, None): 0,
    }


# --- Statements ------------------------------------------------------------------------------------

PERIOD = dt.date(2026, 10, 1)


@pytest.mark.parametrize(
    ("plan", "over", "blocks"),
    [
        (Plan.PORTAL, 0, 0),
        (Plan.PORTAL, 1, 1),
        (Plan.PORTAL, 10 * GB, 1),
        (Plan.PORTAL, 10 * GB + 1, 2),
        (Plan.BYRA, 0, 0),
        (Plan.BYRA, 1, 1),
        (Plan.BYRA, 10 * GB, 1),
        (Plan.BYRA, 10 * GB + 1, 2),
    ],
)
def test_statement_bills_every_started_block_beyond_the_included_storage(
    world: World, plan: str, over: int, blocks: int
) -> None:
    Partner.objects.filter(pk=world.partner.pk).update(plan=plan)
    included = {"portal": 1 * GB, "byra": 5 * GB}[plan]
    StoragePeak.objects.create(partner=world.partner, period=PERIOD, peak_bytes=included + over)
    statement = services.statement_make(partner=fresh(world.partner), period=PERIOD)
    assert statement.included_bytes == included
    assert statement.peak_bytes == included + over
    assert statement.extra_blocks == blocks
    assert statement.storage_amount_ore == blocks * 79_00
    assert statement.total_ore == blocks * 79_00


def test_statement_adds_the_months_purchases_and_is_made_once(world: World) -> None:
    services.signature_purchase(partner=world.partner, actor=world.admin, signatures=10)
    services.signature_purchase(partner=world.partner, actor=world.admin, signatures=50)
    period = timezone.localdate().replace(day=1)
    InvoiceLine.objects.create(  # last month's line stays on last month's statement
        partner=world.partner,
        period=plans.previous_month(period),
        description="old",
        quantity=10,
        amount_ore=1,
    )
    StoragePeak.objects.update_or_create(
        partner=world.partner,
        period=period,
        defaults={"peak_bytes": 5 * GB + 5},  # Byrå: 5 GB included
    )
    first = services.statement_make(partner=world.partner, period=period)
    second = services.statement_make(partner=world.partner, period=period)
    assert first.pk == second.pk and Statement.objects.count() == 1
    assert first.signatures_amount_ore == 290_00 + 1_250_00
    assert first.extra_blocks == 1
    assert first.total_ore == 290_00 + 1_250_00 + 79_00
    assert [line.quantity for line in first.lines()] == [10, 50]


def test_statement_peak_includes_the_level_before_a_delete(world: World) -> None:
    folder = folder_of(world)
    version = upload(folder, world.admin, "a.pdf", 900)
    documents.documents_delete(documents=[version.document], actor=world.admin)
    period = timezone.localdate().replace(day=1)
    assert services.statement_make(partner=world.partner, period=period).peak_bytes == 900


def test_statement_of_a_quiet_month_uses_the_usage_that_stood(world: World) -> None:
    Partner.objects.filter(pk=world.partner.pk).update(storage_used_bytes=2 * GB, plan=Plan.PORTAL)
    statement = services.statement_make(partner=fresh(world.partner), period=PERIOD)
    assert (statement.peak_bytes, statement.extra_blocks) == (2 * GB, 1)


def test_the_monthly_task_makes_last_months_statements_once(world: World) -> None:
    from billing import tasks

    assert tasks.make_statements() == Partner.objects.count()
    assert tasks.make_statements() == Partner.objects.count()
    last_month = plans.previous_month(timezone.localdate())
    assert Statement.objects.filter(period=last_month).count() == Partner.objects.count()
