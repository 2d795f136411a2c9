"""Market reads that rank or aggregate across assets, in a fixed number of queries."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import (
    F,
    QuerySet,
)
from django.db.models.expressions import Window
from django.db.models.functions import Lag
from django.utils import timezone

from valuations import metrics, quality
from valuations.choices import QualityFlag, Tier
from valuations.metrics import tier_case
from valuations.models import (
    Asset,
    AssetRank,
    MarketSnapshot,
    MarketState,
    SupplyUnlock,
)
from valuations.state import current_state, state_key

# Public sort keys of the market table and the expression each sorts by.
SORTS = {
    "rank": "market_cap",
    "price": "price",
    "market_cap": "market_cap",
    "fdv": "fdv_sort",
    "volume_24h": "volume_24h",
    "volume_to_market_cap": "turnover_sort",
}


def asset_table(
    *,
    tier: str = "",
    category: str = "",
    search: str = "",
    sort: str = "rank",
    min_market_cap: Decimal | None = None,
    max_market_cap: Decimal | None = None,
    flag: str = "",
    now: datetime | None = None,
) -> QuerySet[Asset]:
    """Return assets filtered and sorted for the market table and the API.

    ``sort`` is a key of SORTS, ``-`` in front for descending; rank ascending is
    market cap descending. Unknown values are always last.
    """
    queryset = Asset.objects.with_rank()
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
    if flag:
        return order_assets(flagged(queryset, flag, now or timezone.now()), sort)
    return order_assets(queryset, sort)


def flagged(queryset: QuerySet[Asset], flag: str, now: datetime) -> QuerySet[Asset]:
    """Assets carrying a data-quality flag (PRODUCT.md); none for an unknown one."""
    condition = quality.flag_condition(flag, now)
    return queryset.none() if condition is None else queryset.filter(condition)


def order_assets(queryset: QuerySet[Asset], sort: str) -> QuerySet[Asset]:
    """Order assets by a SORTS key (``-`` for descending), unknown values last."""
    if sort == "-rank":
        # The stored rank, last first; unranked assets (zero caps too) after them.
        # PostgreSQL serves this from asset_rank_desc_idx.
        return queryset.order_by(
            F("rank").desc(nulls_last=True),
            metrics.cap_order().asc(nulls_last=True),
            F("slug").desc(),
        )
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key == "rank":
        descending = not descending
    name = SORTS.get(key, "market_cap")
    column = metrics.cap_order(name) if name == "market_cap" else F(name)
    if descending:
        return queryset.order_by(column.desc(nulls_last=True), "slug")
    # Ascending is the exact reverse of descending among known values: ties
    # too, so the page that was last becomes first.
    return queryset.order_by(column.asc(nulls_last=True), F("slug").desc())


def table_count(
    queryset: QuerySet[Asset], state: MarketState, filters: dict[str, str]
) -> int:
    """Return how many assets a filtered table holds without counting a million
    rows per request: the stored state knows the whole market and each tier;
    any other filter is counted once per market version, in the shared cache."""
    filters = {key: value for key, value in filters.items() if value}
    if not filters:
        return state.asset_count
    if filters.get("flag") == QualityFlag.STALE:
        return queryset.count()  # moves with the clock, not with the version
    if set(filters) == {"tier"} and filters["tier"] in state.tiers:
        count: int = state.tiers[filters["tier"]]["asset_count"]
        return count
    digest = hashlib.sha256(repr(sorted(filters.items())).encode()).hexdigest()
    key = f"asset-count:{state_key(state)}:{digest}"
    return int(cache.get_or_set(key, queryset.count, timeout=3600) or 0)


def ranks_for(asset_ids: list[int]) -> dict[int, int]:
    """Return each given asset's stored global rank (ranked assets only)."""
    if not asset_ids:
        return {}
    rows = AssetRank.objects.filter(asset_id__in=asset_ids)
    return dict(rows.values_list("asset_id", "position"))


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


def _decimal(text: str | None) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def market_overview(state: MarketState | None = None) -> MarketOverview:
    """Return total and altcoin market cap, BTC/ETH dominance and totals per tier.

    Read from the stored market state (one primary-key read, or none when the
    caller has the state already), whatever the number of assets.
    """
    state = state or current_state()
    total = state.total_market_cap
    tiers = []
    for tier in Tier:
        stored = state.tiers.get(tier, {})
        cap = _decimal(stored.get("market_cap"))
        # Unranked assets have no usable cap: they are counted, never summed.
        tiers.append(
            TierTotal(
                tier=tier.value,
                label=tier.label,
                asset_count=stored.get("asset_count", 0),
                market_cap=cap if tier != Tier.UNRANKED else Decimal(0),
                share=metrics.dominance(cap, total),
            )
        )
    return MarketOverview(
        total_market_cap=total,
        altcoin_market_cap=metrics.altcoin_market_cap(total, state.bitcoin_market_cap),
        bitcoin_dominance=metrics.dominance(state.bitcoin_market_cap, total),
        ethereum_dominance=metrics.dominance(state.ethereum_market_cap, total),
        asset_count=state.asset_count,
        ranked_count=sum(t.asset_count for t in tiers if t.tier != Tier.UNRANKED),
        as_of=state.as_of,
        tiers=tiers,
    )


def category_totals(
    total_market_cap: Decimal | None = None, *, state: MarketState | None = None
) -> list[CategoryTotal]:
    """Return market cap and asset count per category, largest first, as stored.

    Shares are of ``total_market_cap``, the state's own total when not given.
    """
    state = state or current_state()
    total = state.total_market_cap if total_market_cap is None else total_market_cap
    return [
        CategoryTotal(
            slug=row["slug"],
            name=row["name"],
            asset_count=row["asset_count"],
            market_cap=_decimal(row["market_cap"]),
            share=metrics.dominance(_decimal(row["market_cap"]), total),
        )
        for row in state.categories
    ]


def total_market_cap() -> Decimal:
    """Return the total market cap of all ranked assets, as stored."""
    return current_state().total_market_cap


@dataclass
class Share:
    symbol: str
    share: Decimal | None  # fraction of the total market cap


@dataclass
class MarketSummary:
    version: int
    overview: MarketOverview
    dominance: list[Share]  # the ten largest assets, then "others"
    categories: list[CategoryTotal]


def market_summary(state: MarketState | None = None) -> MarketSummary:
    """Return the market's totals, tiers, top-ten dominance and categories.

    The one read behind the market page and the market API: the stored state
    row, shaped once per version and kept in the shared cache, so app servers
    share it and no read aggregates over the assets.
    """
    state = state or current_state()
    key = f"market-summary:{state_key(state)}"
    summary: MarketSummary | None = cache.get(key)
    if summary is None:
        top = [(row["symbol"].upper(), Decimal(row["market_cap"])) for row in state.top]
        summary = MarketSummary(
            version=state.version,
            overview=market_overview(state),
            dominance=[
                Share(*pair)
                for pair in metrics.top_dominance(top, state.total_market_cap)
            ],
            categories=category_totals(state=state),
        )
        cache.set(key, summary, timeout=3600)
    return summary


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


def prices_on(wanted: set[tuple[int, date]]) -> dict[tuple[int, date], Decimal]:
    """Each asset's market price on each UTC day asked: its last snapshot of that
    day. Pairs without a snapshot that day are absent. One query.

    For valuing what a ledger records without a price (a reward, one leg of a
    crypto-to-crypto trade) at the market price of its day.
    """
    if not wanted:
        return {}
    days = [day for _, day in wanted]
    start = datetime.combine(min(days), time.min, tzinfo=UTC)
    end = datetime.combine(max(days) + timedelta(days=1), time.min, tzinfo=UTC)
    found: dict[tuple[int, date], Decimal] = {}
    for asset_id, taken_at, price in (
        MarketSnapshot.objects.filter(
            asset_id__in={asset_id for asset_id, _ in wanted},
            taken_at__gte=start,
            taken_at__lt=end,
            price__isnull=False,
        )
        .order_by("taken_at")
        .values_list("asset_id", "taken_at", "price")
    ):
        key = (asset_id, taken_at.astimezone(UTC).date())
        if key in wanted:
            found[key] = price  # ordered by time: the day's last one wins
    return found
