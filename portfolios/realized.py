"""The realised-gains report (PRODUCT.md, cost basis): reads of stored disposals.

Disposals are written with the holdings (services.rebuild_holdings), by the
portfolio's cost-basis method; here they are only read: one aggregate query
for the totals of every tax year, one indexed range for a year's lines. Tax
years are calendar years in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear

from portfolios.imports import plain
from portfolios.models import Disposal, Portfolio

ZERO = Decimal(0)


@dataclass(frozen=True)
class YearTotals:
    year: int
    disposals: int
    proceeds: Decimal
    cost: Decimal
    gain: Decimal
    short_term_gain: Decimal  # held under 365 days
    long_term_gain: Decimal  # held 365 days or more


def totals_by_year(portfolio: Portfolio) -> list[YearTotals]:
    """Every tax year with a disposal, newest first, with its totals. One query."""
    rows = (
        Disposal.objects.filter(portfolio=portfolio)
        .annotate(year=ExtractYear("disposed_at", tzinfo=UTC))
        .values("year")
        .order_by("-year")
        .annotate(
            count=Count("pk"),
            total_proceeds=Sum("proceeds"),
            total_cost=Sum("cost"),
            total_gain=Sum("gain"),
            short=Sum("gain", filter=Q(long_term=False)),
            long=Sum("gain", filter=Q(long_term=True)),
        )
    )
    return [
        YearTotals(
            year=row["year"],
            disposals=row["count"],
            proceeds=row["total_proceeds"] or ZERO,
            cost=row["total_cost"] or ZERO,
            gain=row["total_gain"] or ZERO,
            short_term_gain=row["short"] or ZERO,
            long_term_gain=row["long"] or ZERO,
        )
        for row in rows
    ]


def disposals_in(portfolio: Portfolio, year: int) -> QuerySet[Disposal]:
    """A tax year's disposals, oldest first, with their assets."""
    return (
        Disposal.objects.filter(
            portfolio=portfolio,
            disposed_at__gte=datetime(year, 1, 1, tzinfo=UTC),
            disposed_at__lte=datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        )
        .select_related("asset")
        .order_by("disposed_at", "pk")
    )


CSV_COLUMNS = [
    "asset",
    "symbol",
    "date_acquired",
    "date_disposed",
    "quantity",
    "proceeds",
    "cost",
    "gain",
    "holding_period",
]


def csv_rows(portfolio: Portfolio, year: int) -> list[list[str]]:
    """The report of one year as CSV rows, header first."""
    rows = [CSV_COLUMNS]
    for d in disposals_in(portfolio, year).iterator(chunk_size=2000):
        rows.append(
            [
                d.asset.slug,
                d.asset.symbol.upper(),
                d.acquired_at.isoformat(),
                d.disposed_at.isoformat(),
                plain(d.quantity),
                plain(d.proceeds),
                plain(d.cost),
                plain(d.gain),
                "long" if d.long_term else "short",
            ]
        )
    return rows
