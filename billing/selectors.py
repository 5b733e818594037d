"""Reads for the billing pages: the signature ledger, the packages on offer, storage per customer,
the daily usage curve and the monthly statements. Access is checked by the caller (billing.access)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from billing import plans, usage
from billing.models import BalanceEntry, InvoiceLine, Statement, StoragePeak, UsageSnapshot
from customers.models import CustomerAccount
from partners.models import Partner
from portal.units import format_sek, human_size


def ledger_for(*, partner: Partner) -> QuerySet[BalanceEntry]:
    """The partner's signature ledger, newest first, for a user of that partner."""
    return BalanceEntry.objects.filter(partner=partner).select_related("actor").order_by("-created_at", "-id")


def statements_for(*, partner: Partner) -> QuerySet[Statement]:
    """The partner's statements, newest month first (one query: the list shows their own figures)."""
    return Statement.objects.filter(partner=partner).order_by("-period")


def statement_lines(*, statement: Statement) -> list[InvoiceLine]:
    """What was billed in the statement's month besides storage (signature packages), in order."""
    return list(InvoiceLine.objects.filter(partner_id=statement.partner_id, period=statement.period))


@dataclass(frozen=True)
class PackageOffer:
    signatures: int
    price_ore: int

    @property
    def price(self) -> str:
        return format_sek(self.price_ore)

    @property
    def price_per_signature(self) -> str:
        # Rounded to the öre, as the price list shows it; what is billed is `price_ore`.
        return format_sek((self.price_ore + self.signatures // 2) // self.signatures)


def packages_on_offer() -> list[PackageOffer]:
    return [PackageOffer(n, price) for n, price in sorted(plans.packages().items())]


@dataclass(frozen=True)
class CustomerUsage:
    customer_id: int
    name: str
    bytes_used: int
    percent: int  # whole percent of everything the partner stores

    @property
    def size(self) -> str:
        return human_size(self.bytes_used)


def usage_by_customer(*, partner: Partner) -> list[CustomerUsage]:
    """What each customer's files take, largest first: the live sizes (one aggregate query per
    usage source) and the customers' names in one more query."""
    sizes = {
        customer_id: size
        for (_partner_id, customer_id), size in usage.bytes_by_customer(partner.pk).items()
        if size > 0
    }
    if not sizes:
        return []
    names = dict(CustomerAccount.objects.filter(pk__in=sizes).values_list("pk", "name"))
    total = sum(sizes.values())
    rows = [
        CustomerUsage(customer_id, names.get(customer_id, ""), size, size * 100 // total)
        for customer_id, size in sizes.items()
    ]
    rows.sort(key=lambda row: (-row.bytes_used, row.name.lower()))
    return rows


@dataclass(frozen=True)
class UsagePoint:
    day: dt.date
    bytes_used: int

    @property
    def size(self) -> str:
        return human_size(self.bytes_used)


@dataclass(frozen=True)
class UsageCurve:
    """The partner's stored bytes at the end of each day from `first_day` to `last_day`; days
    without a snapshot are missing from `points`."""

    first_day: dt.date
    last_day: dt.date
    points: list[UsagePoint]

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def peak(self) -> UsagePoint | None:
        # The earliest day of the highest usage.
        return max(self.points, key=lambda p: (p.bytes_used, -p.day.toordinal()), default=None)

    @property
    def first(self) -> UsagePoint | None:
        return self.points[0] if self.points else None

    @property
    def last(self) -> UsagePoint | None:
        return self.points[-1] if self.points else None


def usage_curve(*, partner: Partner, days: int = 90) -> UsageCurve:
    """The last `days` days of the partner's total usage (the snapshots without a customer)."""
    last_day = timezone.localdate()
    first_day = last_day - dt.timedelta(days=days - 1)
    rows = (
        UsageSnapshot.objects.filter(
            partner=partner, customer__isnull=True, day__gte=first_day, day__lte=last_day
        )
        .order_by("day")
        .values_list("day", "bytes_used")
    )
    return UsageCurve(first_day, last_day, [UsagePoint(day, used) for day, used in rows])


# --- The curve as an SVG chart ------------------------------------------------------------------


@dataclass(frozen=True)
class GridLine:
    y: float
    label: str


@dataclass(frozen=True)
class UsageChart:
    """Geometry for an SVG of WIDTH x HEIGHT user units, drawn with preserveAspectRatio="none" so
    it fills any width; the labels are HTML beside it, so they stay readable on a phone."""

    line: str  # the polyline's points
    area: str  # the path filled under the line
    grid: list[GridLine]  # top to bottom
    included_y: float | None  # the included storage, when it is within the scale

    WIDTH = 600
    HEIGHT = 200


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (a readable top for the scale)."""
    if value <= 10:
        return 10
    step = 10 ** (len(str(value)) - 2)  # value has at least two digits
    for tenths in (10, 20, 25, 50, 100):
        if tenths * step >= value:
            return tenths * step
    raise AssertionError("unreachable")


def usage_chart(curve: UsageCurve, *, included: int) -> UsageChart | None:
    """None when there is nothing to draw. The scale reaches the included storage once usage is
    past half of it, so the chart shows how near the paid blocks are; below that it fits the data."""
    if not curve.points:
        return None
    peak = max(p.bytes_used for p in curve.points)
    top = _nice_ceiling(max(peak, included) if peak * 2 >= included else peak)
    width, height = UsageChart.WIDTH, UsageChart.HEIGHT
    span = max(curve.days - 1, 1)

    def x(day: dt.date) -> float:
        return round((day - curve.first_day).days * width / span, 1)

    def y(value: int) -> float:
        return round(height - value * height / top, 1)

    coords = [(x(p.day), y(p.bytes_used)) for p in curve.points]
    if len(coords) == 1:  # one day: a short level line, so there is something to see
        coords.append((min(coords[0][0] + width / span, width), coords[0][1]))
    line = " ".join(f"{cx},{cy}" for cx, cy in coords)
    area = f"M{coords[0][0]},{height} L" + " L".join(f"{cx},{cy}" for cx, cy in coords)
    area += f" L{coords[-1][0]},{height} Z"
    grid = [GridLine(y(value), human_size(value)) for value in (top, top // 2, 0)]
    return UsageChart(line, area, grid, y(included) if included <= top else None)


def statement_figures(*, partner: Partner, period: dt.date) -> dict[str, int | str | None]:
    """The figures of `partner`'s statement of `period` (a month's first day), as they stand now."""
    included = plans.included_bytes(partner.plan)
    peak = (
        StoragePeak.objects.filter(partner=partner, period=period)
        .values_list("peak_bytes", flat=True)
        .first()
    )
    if peak is None:
        # Nothing was stored or deleted all month and no snapshot raised it: usage stood still.
        snap = UsageSnapshot.objects.filter(
            partner=partner, customer__isnull=True, day__gte=period, day__lt=plans.next_month(period)
        ).aggregate(m=Max("bytes_used"))["m"]
        peak = snap if snap is not None else partner.storage_used_bytes
    blocks = plans.extra_blocks(peak, included=included)
    price = plans.block_price_ore()
    signatures = (
        InvoiceLine.objects.filter(partner=partner, period=period).aggregate(s=Sum("amount_ore"))["s"] or 0
    )
    return {
        "plan": partner.plan,
        "included_bytes": included,
        "peak_bytes": peak,
        "cap_blocks": partner.storage_cap_blocks,
        "extra_blocks": blocks,
        "block_price_ore": price,
        "storage_amount_ore": blocks * price,
        "signatures_amount_ore": signatures,
        "total_ore": blocks * price + signatures,
    }


def statement_preview(*, partner: Partner, period: dt.date | None = None) -> dict[str, int | str | None]:
    """What the statement of `period` (this month) would say if it were made now."""
    return statement_figures(partner=partner, period=period or plans.month_start(timezone.localdate()))
