"""Balances and usage under real parallel connections on PostgreSQL: the partner row lock is what
keeps the balance from going below zero, the usage counter exact and the cap unbroken."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from billing import services
from billing.models import BalanceEntry, EntryKind
from documents import services as documents
from documents.models import CustomerAccess, DocumentVersion, Folder
from partners.models import Partner
from tests.conftest import World
from tests.parallel import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(f"needs real row locks between parallel connections; the database is {connection.vendor}")


def fresh(partner: Partner) -> Partner:
    return Partner.objects.get(pk=partner.pk)


def text_file(n: int, size: int) -> bytes:
    """Plain text of exactly `size` bytes (no preview to render), different for each n."""
    head = f"file {n}\n".encode()
    return head + b"x" * (size - len(head))


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_30_parallel_charges_against_10_give_exactly_10(world: World) -> None:
    services.signature_grant(partner=world.partner, amount=10, reason="test")
    calls: list[Callable[[], object]] = [
        partial(services.signature_charge, partner=world.partner, actor=world.staff, reference=f"signing:{n}")
        for n in range(30)
    ]
    outcomes = run_in_parallel(calls)
    assert sorted(outcomes) == ["ok"] * 10 + ["refused"] * 20
    assert fresh(world.partner).signature_balance == 0
    assert BalanceEntry.objects.filter(kind=EntryKind.CHARGE).count() == 10
    assert sorted(
        BalanceEntry.objects.filter(kind=EntryKind.CHARGE).values_list("balance_after", flat=True)
    ) == list(range(10))


def _folders(world: World, count: int) -> list[Folder]:
    return [
        documents.folder_create(
            collaboration=world.collaboration,
            actor=world.admin,
            name=f"Mapp {n}",
            customer_access=CustomerAccess.NONE,
        )
        for n in range(count)
    ]


def test_50_parallel_uploads_leave_the_counter_equal_to_the_sum_of_sizes(world: World, settings: Any) -> None:
    folders = _folders(world, 5)
    sizes = [1_000 + 37 * n for n in range(50)]
    calls: list[Callable[[], object]] = [
        partial(
            documents.document_upload,
            folder=folders[n % 5],
            actor=world.admin,
            name="same.txt" if n % 2 else f"file {n}.txt",  # half of them race to be versions
            chunks=[text_file(n, sizes[n])],
            by_customer=False,
        )
        for n in range(50)
    ]
    outcomes = run_in_parallel(calls)
    assert outcomes == ["ok"] * 50
    stored = DocumentVersion.objects.aggregate(s=Sum("size"))["s"]
    assert stored == sum(sizes)
    assert fresh(world.partner).storage_used_bytes == sum(sizes)
    assert services.storage_reconcile() == []
    assert len(stored_files(settings)) == 50


def test_uploads_racing_at_the_cap_never_pass_it(world: World, settings: Any) -> None:
    settings.STORAGE_INCLUDED_BYTES = {"portal": 10_000, "byra": 10_000}
    settings.STORAGE_BLOCK_BYTES = 5_000
    services.storage_set_cap(partner=world.partner, actor=world.admin, cap_blocks=1)  # 15,000 bytes at most
    folders = _folders(world, 4)
    calls: list[Callable[[], object]] = [
        partial(
            documents.document_upload,
            folder=folders[n % 4],
            actor=world.admin,
            name=f"file {n}.txt",
            chunks=[text_file(n, 1_000)],
            by_customer=False,
        )
        for n in range(24)
    ]
    outcomes = run_in_parallel(calls)
    assert sorted(outcomes) == ["ok"] * 15 + ["refused"] * 9
    assert fresh(world.partner).storage_used_bytes == 15_000
    assert DocumentVersion.objects.count() == 15
    # A refused upload leaves no file behind, even the ones refused only under the lock.
    assert len(stored_files(settings)) == 15
