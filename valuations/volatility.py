"""Volatility of each asset and of each tier's index, stored when snapshots change.

PRODUCT.md, Volatility and market history: over a window of N days (30, 90,
365), the sample standard deviation of daily log returns ln(Pₜ ÷ Pₜ₋₁) × √365,
as a percentage; null with fewer than N ÷ 2 daily returns. Every window ends on
the market's last snapshot day (UTC), so "the last 30 days" means the same days
for every asset and every tier.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.db.models import Max

from valuations.choices import Tier
from valuations.models import (
    AssetVolatility,
    MarketIndexDay,
    MarketSnapshot,
    TierVolatility,
)

WINDOWS: tuple[int, ...] = (30, 90, 365)
TIERS: tuple[Tier, ...] = (Tier.LARGE, Tier.MID, Tier.SMALL)
DAYS_A_YEAR = 365
QUANTUM = Decimal("1e-8")
ONE_DAY = timedelta(days=1)
SNAPSHOT_CHUNK = 5000
# Past this many assets a refresh reads the whole window and skips the others:
# one sequential scan beats an IN list of thousands of ids.
IN_LIST_LIMIT = 2000


# --- Pure metrics ------------------------------------------------------------


def daily_log_returns(
    prices: Mapping[date, Decimal], *, end: date, days: int
) -> list[float]:
    """ln(Pₜ ÷ Pₜ₋₁) for every day t in (end − days, end] with a positive price
    on t and on the day before; a day without a price gives no return.

    Binary floating point (about 16 significant digits): a statistic, not an
    amount, and served to 1e-8 percent, far above that error.
    """
    returns = []
    for n in range(days):
        day = end - ONE_DAY * n
        today, before = prices.get(day), prices.get(day - ONE_DAY)
        if today is None or before is None or today <= 0 or before <= 0:
            continue
        # ln(a ÷ b) as ln a − ln b: exactly 0 for an unchanged price.
        returns.append(math.log(today) - math.log(before))
    return returns


def annualised_volatility(returns: Sequence[float], days: int) -> Decimal | None:
    """Sample standard deviation of ``returns`` × √365, in percent, to 1e-8.

    None with fewer than ``days`` ÷ 2 returns (PRODUCT.md), or fewer than two,
    where a sample deviation has no meaning.
    """
    n = len(returns)
    if n < days / 2 or n < 2:
        return None
    mean = math.fsum(returns) / n
    variance = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    percent = math.sqrt(variance * DAYS_A_YEAR) * 100
    return Decimal(repr(percent)).quantize(QUANTUM)


def volatilities(
    prices: Mapping[date, Decimal], *, end: date
) -> dict[int, Decimal | None]:
    """Each window's volatility (WINDOWS) of one daily price series ending on ``end``."""
    return {
        days: annualised_volatility(daily_log_returns(prices, end=end, days=days), days)
        for days in WINDOWS
    }


# --- Write side: assets ---------------------------------------------------------


def market_end_day() -> date | None:
    """The UTC day of the market's last snapshot: where every window ends."""
    last = MarketSnapshot.objects.aggregate(last=Max("taken_at"))["last"]
    return last.astimezone(UTC).date() if last is not None else None


def _daily_prices(
    first: date, asset_ids: Collection[int] | None
) -> Iterable[tuple[int, dict[date, Decimal]]]:
    """Yield each asset's last positive price of every UTC day from ``first`` on.

    One query, streamed in (asset, time) order: the day's last snapshot wins,
    as in valuations.indices.
    """
    snapshots = MarketSnapshot.objects.filter(
        price__gt=0, taken_at__gte=datetime.combine(first, time.min, tzinfo=UTC)
    )
    wanted = None if asset_ids is None else set(asset_ids)
    if wanted is not None and len(wanted) <= IN_LIST_LIMIT:
        snapshots = snapshots.filter(asset_id__in=list(wanted))
    current: int | None = None
    prices: dict[date, Decimal] = {}
    for asset_id, taken_at, price in (
        snapshots.order_by("asset_id", "taken_at")
        .values_list("asset_id", "taken_at", "price")
        .iterator(chunk_size=SNAPSHOT_CHUNK)
    ):
        if wanted is not None and asset_id not in wanted:
            continue
        if asset_id != current:
            if current is not None:
                yield current, prices
            current, prices = asset_id, {}
        prices[taken_at.astimezone(UTC).date()] = price
    if current is not None:
        yield current, prices


def _asset_rows(end: date, asset_ids: Collection[int] | None) -> list[AssetVolatility]:
    first = end - ONE_DAY * max(WINDOWS)
    rows = []
    for asset_id, prices in _daily_prices(first, asset_ids):
        found = volatilities(prices, end=end)
        rows.append(
            AssetVolatility(
                asset_id=asset_id,
                volatility_30d=found[30],
                volatility_90d=found[90],
                volatility_365d=found[365],
                as_of=end,
            )
        )
    return rows


@transaction.atomic
def refresh_asset_volatility(asset_ids: Collection[int] | None = None) -> int:
    """Store the volatility of ``asset_ids`` (None: every asset); return rows written.

    When the market's last day moved, every window moved with it, so every
    asset is recomputed whatever ``asset_ids`` says. An asset without a price
    in the last 365 days has no row (served as null). Queries: a fixed handful
    plus one insert per 1,000 rows.
    """
    end = market_end_day()
    if end is None:
        AssetVolatility.objects.all().delete()
        return 0
    if asset_ids is not None and AssetVolatility.objects.exclude(as_of=end).exists():
        asset_ids = None
    if asset_ids is not None and not AssetVolatility.objects.exists():
        asset_ids = None
    rows = _asset_rows(end, asset_ids)
    replaced = AssetVolatility.objects.all()
    if asset_ids is not None:
        replaced = replaced.filter(asset_id__in=list(asset_ids))
    replaced.delete()
    AssetVolatility.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def rebuild_asset_volatility() -> list[AssetVolatility]:
    """Every asset's volatility recomputed from the snapshots, unsaved: what the
    stored rows must equal."""
    end = market_end_day()
    return [] if end is None else _asset_rows(end, None)


# --- Write side: tiers ------------------------------------------------------------


@dataclass(frozen=True)
class TierFigure:
    """One tier's index volatility over one window and what it rests on."""

    tier: str
    window_days: int
    volatility: Decimal | None
    returns: int
    assets: int
    assets_min: int
    assets_max: int
    start: date | None
    end: date | None


def tier_figures(days: Sequence[MarketIndexDay]) -> list[TierFigure]:
    """Volatility of each tier's stored cap-weighted index (valuations.indices).

    The index already takes each day's return as the cap-weighted mean of its
    assets' returns, weights and membership from the day before; its log
    return is ln(Lₜ ÷ Lₜ₋₁). A day counts only when the tier's index used at
    least one asset that day (a day without snapshots carries the level and is
    not a return). Stablecoins are their own bucket there, so a large-cap
    stablecoin does not dampen the large tier.
    """
    if not days:
        return []
    end = days[-1].day
    figures = []
    for window in WINDOWS:
        for tier in TIERS:
            returns: list[float] = []
            covered: list[int] = []
            for before, row in pairwise(days):
                if (
                    row.day <= end - ONE_DAY * window
                    or (row.day - before.day).days != 1
                ):
                    continue
                count = int(row.coverage.get(str(tier), 0))
                start_level, end_level = getattr(before, tier), getattr(row, tier)
                if count <= 0 or not start_level or not end_level:
                    continue
                returns.append(math.log(end_level) - math.log(start_level))
                covered.append(count)
            figures.append(
                TierFigure(
                    tier=str(tier),
                    window_days=window,
                    volatility=annualised_volatility(returns, window),
                    returns=len(returns),
                    assets=covered[-1] if covered else 0,
                    assets_min=min(covered, default=0),
                    assets_max=max(covered, default=0),
                    start=end - ONE_DAY * (window - 1),
                    end=end,
                )
            )
    return figures


def _index_days() -> list[MarketIndexDay]:
    """The stored index days a 365-day window needs (and the one before), oldest first."""
    latest = list(MarketIndexDay.objects.order_by("-day")[: max(WINDOWS) + 1])
    return latest[::-1]


@transaction.atomic
def refresh_tier_volatility() -> list[TierVolatility]:
    """Store every tier's volatility per window from the stored indices. Four queries."""
    rows = [TierVolatility(**vars(f)) for f in tier_figures(_index_days())]
    TierVolatility.objects.all().delete()
    return TierVolatility.objects.bulk_create(rows)


def rebuild_tier_volatility() -> list[TierFigure]:
    """What the stored tier rows must equal, recomputed from the index days."""
    return tier_figures(_index_days())


# --- The hook ---------------------------------------------------------------------


def refresh_volatility(asset_ids: Collection[int] | None = None) -> None:
    """Store asset and tier volatility. The asset list is cached per market
    version: the snapshots' commit bumps it after this refresh
    (valuations.state.on_snapshots_changed), a direct caller with
    valuations.state.bump_version."""
    with transaction.atomic():
        refresh_asset_volatility(asset_ids)
        refresh_tier_volatility()


def on_snapshots_changed(
    *, asset_ids: list[int], since: date | None, **kwargs: Any
) -> None:
    """Receiver of valuations.signals.snapshots_changed: refresh once committed.

    Connected after valuations.indices, so its callback runs after the index
    refresh it reads. Robust: a failure is logged and the stored figures stay
    as they were (``manage.py refresh_volatility`` rebuilds them).
    """
    if asset_ids:
        transaction.on_commit(partial(refresh_volatility, list(asset_ids)), robust=True)


# --- Read side ---------------------------------------------------------------------


@dataclass(frozen=True)
class VolatilityWindow:
    """One window (30, 90 or 365 days) with each tier's stored figure."""

    days: int
    start: date | None
    end: date | None
    tiers: list[TierVolatility]


def market_volatility() -> list[VolatilityWindow]:
    """Every window's tier figures, large first, as stored. One query of at most
    nine rows, whatever the number of assets."""
    stored = list(TierVolatility.objects.all())
    order = {str(t): n for n, t in enumerate(TIERS)}
    windows = []
    for days in WINDOWS:
        tiers = sorted(
            (row for row in stored if row.window_days == days),
            key=lambda row: order.get(row.tier, len(order)),
        )
        first = tiers[0] if tiers else None
        windows.append(
            VolatilityWindow(
                days=days,
                start=first.start if first else None,
                end=first.end if first else None,
                tiers=tiers,
            )
        )
    return windows
