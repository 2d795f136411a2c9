"""Market state computed when market data changes, so reads never scan the assets.

``refresh_market_state`` is the one service every write path calls in its own
transaction (imports, the live refresh, admin edits, unlock and category
changes). It stores each asset's tier, turnover band and rank, and one
MarketState row with the totals the market summary shows and a version that
every write bumps. Reads take that row by primary key (``current_state``).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber, TruncMinute
from django.utils import timezone

from valuations import history, metrics, peers
from valuations.choices import Tier
from valuations.models import Asset, AssetRank, Category, MarketState

STATE_PK = 1
TOP = 10
# Times at which assets turn stale, kept to the minute; past this many distinct
# times they are kept to coarser steps so the row stays small.
MAX_STALE_TURNS = 240


def _ranked_positions() -> tuple[str, list[Any]]:
    """SQL (with params) of every ranked asset's id and position in RANK_ORDER."""
    ranked = (
        Asset.objects.filter(metrics.RANKED)
        .order_by()
        .values(
            asset_id=F("pk"),
            position=Window(RowNumber(), order_by=list(metrics.RANK_ORDER)),
        )
    )
    sql, params = ranked.query.sql_with_params()
    return sql, list(params)


def _differs() -> str:
    """The null-safe "not equal" of this database."""
    return "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"


def _store_ranks() -> None:
    """Write every ranked asset's position into AssetRank, writing only changes.

    The ROW_NUMBER window runs once over the ranked assets; positions that moved
    are updated, new ranked assets inserted, and assets that lost their cap lose
    their row. The table is narrow, so a new large cap that moves every rank
    below it rewrites small rows, not whole assets with all their indexes.
    """
    ranks = AssetRank._meta.db_table
    assets = Asset._meta.db_table
    inner, params = _ranked_positions()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {ranks} WHERE asset_id IN (SELECT id FROM {assets} "
            "WHERE market_cap IS NULL OR market_cap <= 0)"
        )
        if connection.vendor == "postgresql":
            # One pass: a hash join finds the moved positions, and the insert
            # sees the rows as they were before this statement.
            cursor.execute(
                f"WITH ranked AS MATERIALIZED ({inner}), moved AS ("
                f"UPDATE {ranks} SET position = ranked.position FROM ranked "
                f"WHERE {ranks}.asset_id = ranked.asset_id "
                f"AND {ranks}.position <> ranked.position) "
                f"INSERT INTO {ranks} (asset_id, position) "
                "SELECT ranked.asset_id, ranked.position FROM ranked "
                f"LEFT JOIN {ranks} AS kept ON kept.asset_id = ranked.asset_id "
                "WHERE kept.asset_id IS NULL",
                params,
            )
        else:
            # WHERE true: SQLite needs it to parse ON CONFLICT after a SELECT.
            cursor.execute(
                f"INSERT INTO {ranks} (asset_id, position) "
                f"SELECT asset_id, position FROM ({inner}) AS ranked WHERE true "
                "ON CONFLICT (asset_id) DO UPDATE SET position = excluded.position "
                f"WHERE {ranks}.position IS NOT excluded.position",
                params,
            )


def _store_figures(assets: QuerySet[Asset]) -> None:
    """Store the tier and turnover band of the given assets where they changed.

    One ``UPDATE … FROM`` that writes only rows whose stored values differ, so a
    refresh after a small change rewrites a few rows, not the market.
    """
    table = Asset._meta.db_table
    computed = assets.order_by().values(
        asset_id=F("pk"),
        new_tier=metrics.tier_case(),
        new_band=metrics.turnover_band_case(),
    )
    inner, params = computed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET tier = figures.new_tier, liquidity = figures.new_band "
            f"FROM ({inner}) AS figures WHERE {table}.id = figures.asset_id AND "
            f"({table}.tier {_differs()} figures.new_tier OR "
            f"{table}.liquidity {_differs()} figures.new_band)",
            params,
        )


def _stale_turns(now: datetime) -> list[str]:
    """Return the future times (ISO) at which assets turn stale, so a conditional
    GET notices staleness without reading assets. Exact while there are few;
    past MAX_STALE_TURNS distinct times, rounded up to coarser steps."""
    stale_after = timedelta(seconds=settings.CAPSITE_STALE_AFTER)
    fresh = Asset.objects.filter(last_updated__gt=now - stale_after).order_by()
    times: list[datetime] = [
        t
        for t in fresh.values_list("last_updated", flat=True).distinct()[
            : MAX_STALE_TURNS + 1
        ]
        if t is not None
    ]
    if len(times) > MAX_STALE_TURNS:
        minutes = fresh.annotate(minute=TruncMinute("last_updated"))
        times = [
            m + timedelta(minutes=1)
            for m in minutes.values_list("minute", flat=True).distinct()
            if m is not None
        ]
    turns = sorted({when + stale_after for when in times})
    step = 1
    while len(turns) > MAX_STALE_TURNS:
        step *= 10
        turns = sorted({_ceil_minutes(t, step) for t in turns})
    return [t.isoformat() for t in turns]


def _ceil_minutes(when: datetime, step: int) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=when.tzinfo)
    minutes = math.ceil((when - epoch).total_seconds() / 60 / step) * step
    return epoch + timedelta(minutes=minutes)


def _totals() -> dict[str, Any]:
    """Aggregate the whole market in one query: totals, counts, tiers, as_of."""
    aggregates: dict[str, Any] = {
        "total": metrics.total_market_cap_sum(),
        "count": Count("pk"),
        "bitcoin": metrics.total_market_cap_sum(filter_q=Q(slug="bitcoin")),
        "ethereum": metrics.total_market_cap_sum(filter_q=Q(slug="ethereum")),
        "as_of": Max("last_updated"),
    }
    for tier in Tier:
        aggregates[f"{tier}_cap"] = metrics.total_market_cap_sum(filter_q=Q(tier=tier))
        aggregates[f"{tier}_count"] = Count("pk", filter=Q(tier=tier))
    return Asset.objects.order_by().aggregate(**aggregates)


def _category_totals() -> list[dict[str, Any]]:
    rows = (
        Category.objects.annotate(
            cap=metrics.total_market_cap_sum("assets__market_cap"),
            asset_count=Count("assets"),
        )
        .order_by(F("cap").desc(nulls_last=True), "name")
        .values("slug", "name", "cap", "asset_count")
    )
    return [
        {
            "slug": row["slug"],
            "name": row["name"],
            "asset_count": row["asset_count"],
            "market_cap": str(row["cap"] or 0),
        }
        for row in rows
    ]


def _top_caps() -> list[dict[str, str]]:
    rows = (
        Asset.objects.filter(metrics.RANKED)
        .order_by(*metrics.RANK_ORDER)
        .values_list("symbol", "market_cap")[:TOP]
    )
    return [{"symbol": symbol, "market_cap": str(cap)} for symbol, cap in rows]


@transaction.atomic
def refresh_market_state(
    *, asset_ids: Collection[int] | None = None, caps_changed: bool = True
) -> MarketState:
    """Bring stored figures and the market-state row up to date; bump the version.

    ``asset_ids``: the assets whose price, supplies or volume the write changed
    (None: every asset, as after a change of tier thresholds). ``caps_changed``
    False skips the rank recompute (a write that touched only snapshots,
    unlocks or categories). Returns the new state.
    """
    if connection.vendor == "postgresql":
        # Ranking a million assets sorts and hashes a million rows: let this
        # transaction do it in memory rather than in temporary files.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
    # The row lock makes concurrent writers refresh one after the other.
    state = MarketState.objects.select_for_update().filter(pk=STATE_PK).first()
    exists = state is not None
    if state is None:
        state = MarketState(pk=STATE_PK)
    assets = Asset.objects.all()
    if asset_ids is not None:
        assets = assets.filter(pk__in=list(asset_ids))
    if asset_ids is None or asset_ids:
        _store_figures(assets)
    if caps_changed:
        _store_ranks()
        # Today's caps moved: so did what every history day covers of them.
        history.store_coverage()
    now = timezone.now()
    row = _totals()
    state.version += 1
    state.changed_at = now
    if asset_ids is not None and not asset_ids:
        # Snapshots, unlocks or categories changed: the data's own times (as_of)
        # do not move, so Last-Modified follows the write instead.
        state.modified_at = now
    state.total_market_cap = row["total"] or Decimal(0)
    state.bitcoin_market_cap = row["bitcoin"]
    state.ethereum_market_cap = row["ethereum"]
    state.asset_count = row["count"]
    state.as_of = row["as_of"]
    state.tiers = {
        tier: {
            "asset_count": row[f"{tier}_count"],
            "market_cap": str(row[f"{tier}_cap"] or 0),
        }
        for tier in Tier
    }
    state.categories = _category_totals()
    # Each asset's rank and share among its category peers (valuations.peers).
    peers.store_category_peers()
    state.top = _top_caps()
    state.stale_turns = _stale_turns(now)
    # One statement either way, so a write's query count never depends on
    # whether it is the first.
    state.save(force_update=exists, force_insert=not exists)
    return state


def bump_version() -> None:
    """Move the market version on (one statement): every read cached or tagged
    per version (the asset list, ETags, Last-Modified) is built again. For
    writes of stored figures that refresh_market_state does not make: market
    history, volatility."""
    now = timezone.now()
    MarketState.objects.filter(pk=STATE_PK).update(
        version=F("version") + 1, changed_at=now, modified_at=now
    )


def on_snapshots_changed(
    *, asset_ids: list[int], since: date | None, **kwargs: Any
) -> None:
    """Receiver of valuations.signals.snapshots_changed: bump the version once
    committed. Connected after every refresh it covers (valuations.apps), so
    its callback runs after theirs, whichever of them wrote what."""
    if asset_ids:
        transaction.on_commit(bump_version, robust=True)


def current_state() -> MarketState:
    """Return the market-state row (one primary-key read); empty before any write."""
    state = MarketState.objects.filter(pk=STATE_PK).first()
    return state if state is not None else MarketState(pk=STATE_PK)


def state_key(state: MarketState) -> str:
    """Return a key naming this state exactly: its version and when it was made
    (a database built again restarts versions, never the clock)."""
    stamp = state.changed_at.timestamp() if state.changed_at else 0
    return f"{state.version}-{stamp:.6f}"


@dataclass(frozen=True)
class Version:
    """What a conditional GET compares: the state's version and staleness turns.

    Last-Modified is the newest of the data's own time (as_of), the last write
    that changed no asset data, and the last time an asset turned stale.
    """

    tag: str
    last_modified: datetime | None


def version_of(state: MarketState, now: datetime) -> Version:
    """Return the market's version as of ``now``, without reading any asset.

    Assets turning stale change what the market serves, so each stale turn
    passed since the last write counts as a change, dated when it turned.
    """
    turns = [datetime.fromisoformat(t) for t in state.stale_turns]
    # An asset is stale once strictly more than CAPSITE_STALE_AFTER has passed.
    passed = [t for t in turns if t < now]
    moments = [m for m in (state.as_of, state.modified_at) if m is not None]
    if passed:
        moments.append(passed[-1])
    return Version(f"{state_key(state)}.{len(passed)}", max(moments, default=None))
