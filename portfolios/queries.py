"""Portfolio reads: holdings with values and weights, and list summaries.

History and performance are read from the stored series (portfolios.series).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber

from portfolios.models import Holding, Portfolio, holding_value
from valuations import metrics, tiermix
from valuations.metrics import RANK_ORDER
from valuations.models import Asset, Category, SupplyUnlock
from valuations.queries import figures_for
from valuations.tiermix import BUCKETS, ZERO, bucket_case


def is_stablecoin(asset_ref: str = "asset_id") -> Exists:
    """SQL: does the asset belong to a stablecoin category?"""
    return Exists(
        Category.objects.filter(assets=OuterRef(asset_ref), is_stablecoin=True)
    )


@dataclass
class HoldingRow:
    asset_slug: str
    asset_name: str
    symbol: str
    quantity: Decimal
    price: Decimal | None
    value: Decimal
    weight: Decimal  # percent of the portfolio's value, 0–100
    tier: str
    bucket: str
    is_stablecoin: bool
    cost_basis: Decimal
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal
    figures: metrics.AssetFigures
    volume_24h: Decimal | None
    next_unlock_date: date | None
    next_unlock_amount: Decimal | None


@dataclass
class Holdings:
    rows: list[HoldingRow]  # open positions, largest value first
    total_value: Decimal
    total_cost: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal  # includes positions since closed


def holdings(portfolio: Portfolio, *, today: date) -> Holdings:
    """Return the portfolio's positions valued at current prices, in one query.

    Value is quantity × price; weight is value ÷ portfolio value in percent; an
    asset without a price is worth 0 and keeps its tier ``unranked``.
    """
    upcoming = SupplyUnlock.objects.filter(
        asset=OuterRef("asset_id"), date__gte=today
    ).order_by("date")
    queryset = (
        Holding.objects.filter(portfolio=portfolio)
        .select_related("asset")
        .annotate(
            value=holding_value(),
            stable=is_stablecoin(),
            unlock_date=Subquery(upcoming.values("date")[:1]),
            unlock_amount=Subquery(upcoming.values("amount")[:1]),
        )
        .order_by(F("value").desc(nulls_last=True), "asset__slug")
    )
    records = list(queryset)
    total = tiermix.total(r.value or ZERO for r in records if r.quantity > 0)
    rows = []
    for record in records:
        if record.quantity <= 0:
            continue
        asset = record.asset
        value = record.value or ZERO
        figures = figures_for(asset, total_market_cap=None)
        rows.append(
            HoldingRow(
                asset_slug=asset.slug,
                asset_name=asset.name,
                symbol=asset.symbol,
                quantity=record.quantity,
                price=asset.price,
                value=value,
                weight=tiermix.weight(value, total),
                tier=figures.tier,
                bucket=tiermix.bucket_for(figures.tier, record.stable),
                is_stablecoin=record.stable,
                cost_basis=record.cost_basis,
                unrealized_pnl=value - record.cost_basis
                if asset.price is not None
                else None,
                realized_pnl=record.realized_pnl,
                figures=figures,
                volume_24h=asset.volume_24h,
                next_unlock_date=record.unlock_date,
                next_unlock_amount=record.unlock_amount,
            )
        )
    return Holdings(
        rows=rows,
        total_value=total,
        total_cost=tiermix.total(row.cost_basis for row in rows),
        unrealized_pnl=tiermix.total(r.unrealized_pnl or ZERO for r in rows),
        realized_pnl=tiermix.total(r.realized_pnl for r in records),
    )


def tier_mixes(portfolios: list[Portfolio]) -> dict[int, tiermix.TierMix]:
    """Return the tier mix (value and weight per bucket) of each portfolio.

    One grouped query, whatever the number of portfolios or holdings.
    """
    rows = (
        Holding.objects.filter(portfolio__in=portfolios, quantity__gt=0)
        .annotate(
            stable=is_stablecoin(), bucket=bucket_case("asset__market_cap", "stable")
        )
        .values("portfolio_id", "bucket")
        .annotate(value=Sum(holding_value()))
        .order_by()
    )
    values: dict[int, dict[str, Decimal]] = {
        p.pk: dict.fromkeys(BUCKETS, ZERO) for p in portfolios
    }
    for row in rows:
        values[row["portfolio_id"]][row["bucket"]] += row["value"] or ZERO
    return {pk: tiermix.bucket_weights(mix) for pk, mix in values.items()}


def largest_in_buckets(
    buckets: list[str], *, per_bucket: int = 3
) -> dict[str, list[str]]:
    """Return the slugs of the largest assets of each bucket, in one query.

    Stablecoins fill the ``stable`` bucket and are left out of the tiers.
    """
    ranked = (
        Asset.objects.ranked()
        .annotate(
            stable=is_stablecoin("pk"), bucket=bucket_case("market_cap", "stable")
        )
        .filter(bucket__in=buckets)
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("bucket")],
                order_by=list(RANK_ORDER),
            )
        )
        .filter(position__lte=per_bucket)
        .order_by("bucket", "position")
    )
    result: dict[str, list[str]] = {bucket: [] for bucket in buckets}
    for slug, bucket in ranked.values_list("slug", "bucket"):
        result[bucket].append(slug)
    return result
