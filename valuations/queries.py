"""Market reads that rank or aggregate across assets, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Max,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.expressions import Window
from django.db.models.functions import Cast, Coalesce, Lag, RowNumber

from valuations import metrics
from valuations.choices import Tier
from valuations.metrics import RANK_ORDER, tier_case, tier_conditions
from valuations.models import Asset, Category, SupplyUnlock

# Public sort keys of the market table and the expression each sorts by.
SORTS = {
    "rank": "market_cap",
    "price": "price",
    "market_cap": "market_cap",
    "fdv": "sort_fdv",
    "volume_24h": "volume_24h",
    "volume_to_market_cap": "sort_turnover",
}


def with_sort_keys(queryset: QuerySet[Asset]) -> QuerySet[Asset]:
    """Annotate FDV and volume ÷ market cap in SQL, for sorting only.

    Displayed values come from ``valuations.metrics`` on the row's exact
    decimals; the float cast keeps SQLite from dividing integer-valued numbers
    as integers.
    """
    return queryset.annotate(
        sort_fdv=F("price") * Coalesce("max_supply", "total_supply"),
        sort_turnover=Case(
            When(
                market_cap__gt=0,
                then=Cast("volume_24h", FloatField()) / F("market_cap"),
            ),
            default=None,
            output_field=FloatField(),
        ),
    )


def asset_table(
    *,
    tier: str = "",
    category: str = "",
    search: str = "",
    sort: str = "rank",
    min_market_cap: Decimal | None = None,
    max_market_cap: Decimal | None = None,
) -> QuerySet[Asset]:
    """Return assets filtered and sorted for the market table and the API.

    ``sort`` is a key of SORTS, ``-`` in front for descending; rank ascending is
    market cap descending. Unknown values are always last.
    """
    queryset = Asset.objects.all()
    if tier:
        queryset = queryset.in_tier(tier)
    if category:
        queryset = queryset.filter(categories__slug=category)
    if search:
        queryset = queryset.search(search)
    if min_market_cap is not None:
        queryset = queryset.filter(market_cap__gte=min_market_cap)
    if max_market_cap is not None:
        queryset = queryset.filter(market_cap__lte=max_market_cap)
    return order_assets(queryset, sort)


def order_assets(queryset: QuerySet[Asset], sort: str) -> QuerySet[Asset]:
    """Order assets by a SORTS key (``-`` for descending), unknown values last."""
    if sort == "-rank":
        # Zero caps are unranked too: keep them after the ranked assets, not first.
        unranked_last = Case(When(market_cap__gt=0, then=0), default=1)
        cap = F("market_cap").asc(nulls_last=True)
        return queryset.order_by(unranked_last, cap, "slug")
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key == "rank":
        descending = not descending
    if key in ("fdv", "volume_to_market_cap"):
        queryset = with_sort_keys(queryset)
    column = F(SORTS.get(key, "market_cap"))
    order = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return queryset.order_by(order, "slug")


def top_caps(count: int) -> list[tuple[str, Decimal]]:
    """Return (symbol, market cap) of the ``count`` largest assets, in one query."""
    return list(
        Asset.objects.ranked()
        .order_by(*RANK_ORDER)
        .values_list("symbol", "market_cap")[:count]
    )


def ranks_for(asset_ids: list[int]) -> dict[int, int]:
    """Return each given asset's global rank among all ranked assets, in one query.

    The window runs over every ranked asset and the id filter is applied outside
    it, so a filtered or paginated table still shows global ranks.
    """
    if not asset_ids:
        return {}
    ranked = (
        Asset.objects.ranked()
        .order_by()
        .values(asset_id=F("pk"), position=Window(RowNumber(), order_by=RANK_ORDER))
    )
    inner, params = ranked.query.sql_with_params()
    placeholders = ", ".join(["%s"] * len(asset_ids))
    sql = (
        f"SELECT asset_id, position FROM ({inner}) ranked "
        f"WHERE asset_id IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, *asset_ids))
        return dict(cursor.fetchall())


def attach_ranks(assets: list[Asset]) -> list[Asset]:
    """Set ``asset.rank`` (None when unranked) on each asset of a page."""
    ranks = ranks_for([asset.pk for asset in assets])
    for asset in assets:
        asset.rank = ranks.get(asset.pk)
    return assets


@dataclass
class TierTotal:
    tier: str
    label: str
    asset_count: int
    market_cap: Decimal
    share: Decimal | None  # fraction of the total market cap


@dataclass
class CategoryTotal:
    slug: str
    name: str
    asset_count: int
    market_cap: Decimal
    share: Decimal | None


@dataclass
class MarketOverview:
    total_market_cap: Decimal
    altcoin_market_cap: Decimal
    bitcoin_dominance: Decimal | None
    ethereum_dominance: Decimal | None
    asset_count: int
    ranked_count: int
    as_of: datetime | None
    tiers: list[TierTotal] = field(default_factory=list)


def market_overview() -> MarketOverview:
    """Return total and altcoin market cap, BTC/ETH dominance and totals per tier.

    One aggregate query with conditional sums, whatever the number of assets.
    """
    zero = Decimal(0)
    tier_filters = tier_conditions()
    aggregates = {
        "total": metrics.total_market_cap_sum(),
        "count": Count("pk"),
        "bitcoin": Sum("market_cap", filter=Q(slug="bitcoin", market_cap__gt=0)),
        "ethereum": Sum("market_cap", filter=Q(slug="ethereum", market_cap__gt=0)),
        "as_of": Max("last_updated"),
    }
    for tier, condition in tier_filters.items():
        aggregates[f"{tier}_cap"] = Sum("market_cap", filter=condition)
        aggregates[f"{tier}_count"] = Count("pk", filter=condition)
    row = Asset.objects.order_by().aggregate(**aggregates)
    total = row["total"] or zero
    # Unranked assets have no usable cap: they are counted, never summed.
    tiers = [
        TierTotal(
            tier=tier.value,
            label=tier.label,
            asset_count=row[f"{tier}_count"],
            market_cap=(row[f"{tier}_cap"] or zero) if tier != Tier.UNRANKED else zero,
            share=metrics.dominance(row[f"{tier}_cap"], total),
        )
        for tier in tier_filters
    ]
    return MarketOverview(
        total_market_cap=total,
        altcoin_market_cap=metrics.altcoin_market_cap(total, row["bitcoin"]),
        bitcoin_dominance=metrics.dominance(row["bitcoin"], total),
        ethereum_dominance=metrics.dominance(row["ethereum"], total),
        asset_count=row["count"],
        ranked_count=sum(t.asset_count for t in tiers if t.tier != Tier.UNRANKED),
        as_of=row["as_of"],
        tiers=tiers,
    )


def category_totals(total_market_cap: Decimal) -> list[CategoryTotal]:
    """Return market cap and asset count per category, largest first, in one query."""
    rows = (
        Category.objects.annotate(
            cap=metrics.total_market_cap_sum("assets__market_cap"),
            asset_count=Count("assets"),
        )
        .order_by(F("cap").desc(nulls_last=True), "name")
        .values("slug", "name", "cap", "asset_count")
    )
    return [
        CategoryTotal(
            slug=row["slug"],
            name=row["name"],
            asset_count=row["asset_count"],
            market_cap=row["cap"] or Decimal(0),
            share=metrics.dominance(row["cap"], total_market_cap),
        )
        for row in rows
    ]


def total_market_cap() -> Decimal | None:
    """Return the total market cap of all ranked assets, in one query."""
    return Asset.objects.order_by().aggregate(total=metrics.total_market_cap_sum())[
        "total"
    ]


@dataclass
class Share:
    symbol: str
    share: Decimal | None  # fraction of the total market cap


@dataclass
class MarketSummary:
    overview: MarketOverview
    dominance: list[Share]  # the top assets, then "others"
    categories: list[CategoryTotal]


def market_summary(*, top: int = 10) -> MarketSummary:
    """Return the market's totals, tiers, top-``top`` dominance and categories.

    The one read behind the market page and the market API: three queries, or
    two with ``top=0`` (the page shows BTC and ETH dominance from the overview).
    """
    overview = market_overview()
    total = overview.total_market_cap
    dominance = []
    if top:
        caps = [(symbol.upper(), cap) for symbol, cap in top_caps(top)]
        dominance = [Share(*pair) for pair in metrics.top_dominance(caps, total)]
    return MarketSummary(overview, dominance, category_totals(total))


def figures_for(asset: Asset, total_market_cap: Decimal | None) -> metrics.AssetFigures:
    """Return an asset's metrics from its stored price, supplies and volume."""
    return metrics.asset_figures(
        price=asset.price,
        circulating_supply=asset.circulating_supply,
        total_supply=asset.total_supply,
        max_supply=asset.max_supply,
        volume_24h=asset.volume_24h,
        total_market_cap=total_market_cap,
    )


@dataclass
class TierChange:
    taken_at: datetime
    from_tier: str
    to_tier: str
    market_cap: Decimal | None


def tier_changes(asset: Asset) -> list[TierChange]:
    """Return each time the asset's snapshots moved it to another tier, in one query.

    The tier of every snapshot comes from its market cap with the current
    thresholds; LAG compares it with the snapshot before.
    """
    rows = (
        asset.snapshots.annotate(
            tier=tier_case(),
            previous=Window(Lag(tier_case()), order_by=[F("taken_at").asc()]),
        )
        .filter(previous__isnull=False)
        .exclude(tier=F("previous"))
        .order_by("taken_at")
        .values_list("taken_at", "previous", "tier", "market_cap")
    )
    return [TierChange(*row) for row in rows]


def unlock_schedule(
    asset: Asset, unlocks: Iterable[SupplyUnlock]
) -> list[tuple[SupplyUnlock, metrics.UnlockProjection]]:
    """Pair each unlock with its projected circulating supply, cap and tier.

    Unlocks are ordered as metrics.project_unlocks applies them (date, then
    amount), so each pair belongs together even when two share a date.
    """
    ordered = sorted(unlocks, key=lambda u: (u.date, u.amount))
    projections = metrics.project_unlocks(
        asset.price, asset.circulating_supply, [(u.date, u.amount) for u in ordered]
    )
    return list(zip(ordered, projections, strict=True))
