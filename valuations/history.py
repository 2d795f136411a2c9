"""Market history per UTC day: covered cap, dominance, flippening ratio, tier shares.

PRODUCT.md, "Volatility and market history". The per-day caps are computed
when snapshots change (``refresh_market_history``, on the snapshots_changed
signal) and stored in MarketHistoryDay; a read takes a page of those rows and
divides within each row, so its cost does not grow with the assets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import TruncDate

from valuations import metrics, timecharts
from valuations.choices import Tier
from valuations.locks import serialise_in_transaction
from valuations.models import Asset, MarketHistoryDay, MarketSnapshot
from valuations.rows import exact
from valuations.templatetags.capsite_format import ratio, usd_compact
from valuations.tiermix import EXACT, QUOTIENT

BITCOIN = "bitcoin"
ETHEREUM = "ethereum"
# The tiers a covered cap falls in: a covered asset has a positive cap.
TIERS: tuple[str, ...] = (Tier.LARGE, Tier.MID, Tier.SMALL)
ZERO = Decimal(0)
HUNDRED = Decimal(100)
INSERT_BATCH = 1000
SNAPSHOT_CHUNK = 2000
# The market page charts this many days at most (the API serves them all).
CHART_DAYS = 365


# --- Write side ------------------------------------------------------------


def refresh_market_history(since: date | None = None) -> int:
    """Recompute the stored MarketHistoryDay rows from ``since`` (every day when
    None) to the last snapshot day; returns the number of days written.

    Each day stands alone (no chain), so days before ``since`` stay as they
    are. Queries: a fixed handful plus one insert per INSERT_BATCH days; the
    snapshots are streamed once in time order, never read per day or asset.
    """
    with transaction.atomic():
        serialise_in_transaction("capsite:market-history-days")
        ids = dict(
            Asset.objects.filter(slug__in=[BITCOIN, ETHEREUM]).values_list("slug", "pk")
        )
        snapshots = MarketSnapshot.objects.all()
        replaced = MarketHistoryDay.objects.all()
        if since is not None:
            start = datetime.combine(since, time.min, tzinfo=UTC)
            snapshots = snapshots.filter(taken_at__gte=start)
            replaced = replaced.filter(day__gte=since)
        rows = [
            _history_day(day, caps, ids.get(BITCOIN), ids.get(ETHEREUM))
            for day, caps in _caps_per_day(snapshots)
        ]
        replaced.delete()
        MarketHistoryDay.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        store_coverage(since)
    return len(rows)


def store_coverage(since: date | None = None) -> None:
    """Store, per day from ``since`` (every day when None), today's total cap
    of the assets with a positive-cap snapshot that day: the numerator of the
    day's ``covered_share``. Today's caps move on every write of prices or
    supplies, so refresh_market_state calls this for every day then.

    Two queries and one batched update: the (asset, day) pairs are summed in
    the database, never read per day or asset.
    """
    pairs = MarketSnapshot.objects.filter(
        market_cap__gt=0, asset__market_cap__gt=0
    ).annotate(day=TruncDate("taken_at", tzinfo=UTC))
    days = MarketHistoryDay.objects.all()
    if since is not None:
        pairs = pairs.filter(
            taken_at__gte=datetime.combine(since, time.min, tzinfo=UTC)
        )
        days = days.filter(day__gte=since)
    inner, params = (
        pairs.values("day", "asset_id", cap=F("asset__market_cap"))
        .distinct()
        .order_by()
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.day, SUM(p.cap) FROM ({inner}) p GROUP BY p.day", params
        )
        covered = {_as_date(day): _as_decimal(cap) for day, cap in cursor.fetchall()}
    rows = list(days.only("pk", "day"))
    for row in rows:
        row.covered_today_cap = covered.get(row.day, ZERO)
    MarketHistoryDay.objects.bulk_update(
        rows, ["covered_today_cap"], batch_size=INSERT_BATCH
    )


def _as_date(value: date | str) -> date:
    """A day from the aggregate: PostgreSQL gives a date, SQLite its text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _as_decimal(value: Decimal | float | int | None) -> Decimal:
    """A sum from the aggregate: PostgreSQL keeps NUMERIC, SQLite may not."""
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def on_snapshots_changed(
    *, asset_ids: list[int], since: date | None, **kwargs: Any
) -> None:
    """Receiver of valuations.signals.snapshots_changed: refresh once committed.

    Robust, as the benchmark indices: a failed refresh is logged and leaves
    the history as it was (``manage.py refresh_market_history`` rebuilds it).
    """
    if asset_ids:
        transaction.on_commit(partial(refresh_market_history, since=since), robust=True)


def _caps_per_day(
    snapshots: Any,
) -> Iterator[tuple[date, dict[int, Decimal | None]]]:
    """Each UTC day with snapshots and every asset's cap at its last snapshot
    of that day (None: no price or supply). One query, streamed in time order."""
    day: date | None = None
    caps: dict[int, Decimal | None] = {}
    for asset_id, taken_at, cap in (
        snapshots.order_by("taken_at", "asset_id")
        .values_list("asset_id", "taken_at", "market_cap")
        .iterator(chunk_size=SNAPSHOT_CHUNK)
    ):
        taken_on = taken_at.astimezone(UTC).date()
        if taken_on != day:
            if day is not None:
                yield day, caps
            day, caps = taken_on, {}
        caps[asset_id] = cap  # ordered by time: the day's last snapshot wins
    if day is not None:
        yield day, caps


def _history_day(
    day: date,
    caps: dict[int, Decimal | None],
    bitcoin_id: int | None,
    ethereum_id: int | None,
) -> MarketHistoryDay:
    """The stored row of one day: sums over the assets with a positive cap."""
    total = ZERO
    per_tier = dict.fromkeys(TIERS, ZERO)
    count = 0
    for cap in caps.values():
        if cap is None or cap <= 0:
            continue
        count += 1
        total = EXACT.add(total, cap)
        tier = metrics.tier_for(cap)  # that day's cap, that day's tier
        per_tier[tier] = EXACT.add(per_tier[tier], cap)

    def covered(asset_id: int | None) -> Decimal | None:
        cap = caps.get(asset_id) if asset_id is not None else None
        return cap if cap is not None and cap > 0 else None

    return MarketHistoryDay(
        day=day,
        market_cap=total,
        asset_count=count,
        bitcoin_market_cap=covered(bitcoin_id),
        ethereum_market_cap=covered(ethereum_id),
        large_market_cap=per_tier[Tier.LARGE],
        mid_market_cap=per_tier[Tier.MID],
        small_market_cap=per_tier[Tier.SMALL],
    )


# --- Read side -------------------------------------------------------------


@dataclass(frozen=True)
class HistoryPoint:
    """One day as served: caps in USD, shares in percent (0–100), the ratio
    as a plain quotient. None where the divisor is unknown or zero."""

    date: date
    market_cap: Decimal
    asset_count: int
    covered_share: Decimal | None
    bitcoin_dominance: Decimal | None
    ethereum_dominance: Decimal | None
    flippening_ratio: Decimal | None
    tiers: dict[str, Decimal | None]


def _share(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    """part ÷ whole in percent; None when either is unknown or whole is 0."""
    if part is None or whole is None or whole <= 0:
        return None
    return QUOTIENT.divide(EXACT.multiply(part, HUNDRED), whole)


def history_point(row: MarketHistoryDay, today_total: Decimal | None) -> HistoryPoint:
    """A stored day with its shares: dominance and tier shares of the day's
    covered cap; ``covered_share`` = what the assets covered that day are worth
    today ÷ ``today_total`` (the current total market cap): how much of today's
    market the day speaks for, 0–100."""
    btc, eth = row.bitcoin_market_cap, row.ethereum_market_cap
    flip = None
    if btc is not None and eth is not None and btc > 0:
        flip = QUOTIENT.divide(eth, btc)
    return HistoryPoint(
        date=row.day,
        market_cap=row.market_cap,
        asset_count=row.asset_count,
        covered_share=_share(row.covered_today_cap, today_total),
        bitcoin_dominance=_share(btc, row.market_cap),
        ethereum_dominance=_share(eth, row.market_cap),
        flippening_ratio=flip,
        tiers={
            tier: _share(getattr(row, f"{tier}_market_cap"), row.market_cap)
            for tier in TIERS
        },
    )


# The stored columns a page of the API reads (``.values()``: no model instances).
COLUMNS = (
    "day",
    "market_cap",
    "asset_count",
    "bitcoin_market_cap",
    "ethereum_market_cap",
    *(f"{tier}_market_cap" for tier in TIERS),
    "covered_today_cap",
)


def history_rows(
    records: Iterable[dict[str, Any]], today_total: Decimal | None
) -> list[dict[str, Any]]:
    """API rows for ``.values(*COLUMNS)`` records: history_point's figures in
    MarketHistoryPointSerializer's shape and formats. DRF's field machinery
    costs several times the query on a year of days; tests pin the two equal."""
    rows = []
    for r in records:
        point = history_point(MarketHistoryDay(**r), today_total)
        rows.append(
            {
                "date": point.date.isoformat(),
                "market_cap": exact(point.market_cap),
                "asset_count": point.asset_count,
                "covered_share": exact(point.covered_share),
                "bitcoin_dominance": exact(point.bitcoin_dominance),
                "ethereum_dominance": exact(point.ethereum_dominance),
                "flippening_ratio": exact(point.flippening_ratio),
                "tiers": {tier: exact(share) for tier, share in point.tiers.items()},
            }
        )
    return rows


def recent_days(limit: int = CHART_DAYS) -> list[MarketHistoryDay]:
    """The last ``limit`` stored days, oldest first. One query."""
    return list(MarketHistoryDay.objects.order_by("-day")[:limit])[::-1]


# --- Charts ----------------------------------------------------------------


@dataclass(frozen=True)
class HistoryCharts:
    coverage: timecharts.Chart | None
    dominance: timecharts.Chart | None
    tiers: timecharts.Chart | None


def history_charts(points: Sequence[HistoryPoint]) -> HistoryCharts:
    """The market page's charts: BTC and ETH dominance with the flippening
    ratio (two plots, one time axis), and tier shares as stacked areas.
    Each None under two days with figures."""
    dominated = [p for p in points if p.bitcoin_dominance is not None]
    tiered = [
        (p.date, {t: s or ZERO for t, s in p.tiers.items()})
        for p in points
        if p.asset_count
    ]
    tiers = timecharts.tier_area_chart(tiered, {t: Tier(t).label for t in TIERS})
    if tiers is not None:
        tiers = replace(tiers, caption="Tier shares of the market cap covered each day")
    covered = [p for p in points if p.asset_count]
    return HistoryCharts(
        coverage=_coverage_chart(covered),
        dominance=_dominance_chart(dominated),
        tiers=tiers,
    )


def _percent_text(value: Decimal | None) -> str:
    return "—" if value is None else f"{ratio(value, 1)} %"


def _ratio_text(value: Decimal | None) -> str:
    return "—" if value is None else ratio(value, 4)


def _usd_text(value: Decimal | None) -> str:
    return "—" if value is None else usd_compact(value)


# One plot of a chart: its caption, its lines (key, label in the summary,
# label in the table, values), how a figure and a gridline read.
PlotSpec = tuple[
    str,
    list[tuple[str, str, str, list[Decimal | None]]],
    Callable[[Decimal | None], str],
    Callable[[Decimal, Decimal], str],
]


def _stacked_plots(
    caption: str, note: str, times: Sequence[date], specs: Sequence[PlotSpec]
) -> timecharts.Chart:
    """Plots on one time axis, one above the other, with one data table: a
    row per day, a cell per line. A plot with under two known figures is
    left out."""
    specs = [
        spec
        for spec in specs
        if sum(1 for _, _, _, values in spec[1] for v in values if v is not None) >= 2
    ]
    drawn = []
    for title, series, text, axis in specs:
        lines = [(key, label, values) for key, label, _, values in series]
        plot, axes = timecharts.line_plot(title, times, lines, text, axis)
        drawn.append((plot, axes, series, text))
    rows = []
    for i, when in enumerate(times):
        ys: list[str] = []
        cells: list[str] = []
        for _, axes, series, text in drawn:
            values = [values[i] for _, _, _, values in series]
            ys += timecharts.dot_ys(axes, values)
            cells += [text(v) for v in values]
        rows.append(
            timecharts.Row(
                timecharts.day_label(when),
                drawn[0][1].percent(when),
                " ".join(ys),
                cells,
            )
        )
    return timecharts.Chart(
        caption=caption,
        note=note,
        plots=[plot for plot, _, _, _ in drawn],
        columns=[
            timecharts.Column(key, column, f"key {key}")
            for _, series, _, _ in specs
            for key, _, column, _ in series
        ],
        rows=rows,
    )


def _dominance_chart(points: Sequence[HistoryPoint]) -> timecharts.Chart | None:
    if len(points) < 2:
        return None
    shares: PlotSpec = (
        "Dominance",
        [
            (
                "btc",
                "Bitcoin dominance",
                "BTC dominance",
                [p.bitcoin_dominance for p in points],
            ),
            (
                "eth",
                "Ethereum dominance",
                "ETH dominance",
                [p.ethereum_dominance for p in points],
            ),
        ],
        _percent_text,
        timecharts.axis_percent,
    )
    flips: PlotSpec = (
        "Flippening ratio (ETH ÷ BTC cap)",
        [
            (
                "flip",
                "Flippening ratio",
                "ETH ÷ BTC",
                [p.flippening_ratio for p in points],
            )
        ],
        _ratio_text,
        timecharts.axis_number,
    )
    return _stacked_plots(
        "Dominance and the flippening ratio",
        f"{len(points)} days, within the assets with a snapshot each day",
        [p.date for p in points],
        [shares, flips],
    )


def _coverage_chart(points: Sequence[HistoryPoint]) -> timecharts.Chart | None:
    """The covered assets' total cap each day, and the share of today's total
    those assets make up: how far back the history speaks for the market."""
    if len(points) < 2:
        return None
    caps: PlotSpec = (
        "Market cap of the assets covered",
        [("cap", "Covered market cap", "Covered cap", [p.market_cap for p in points])],
        _usd_text,
        timecharts.axis_usd,
    )
    shares: PlotSpec = (
        "Share of today's total cap they cover",
        [
            (
                "covered",
                "Share of today's total",
                "Of today's total",
                [p.covered_share for p in points],
            )
        ],
        _percent_text,
        timecharts.axis_percent,
    )
    counts = [p.asset_count for p in points]
    fewest, most = min(counts), max(counts)
    return _stacked_plots(
        "Assets covered each day",
        f"{fewest}–{most} assets a day" if fewest < most else f"{most} assets a day",
        [p.date for p in points],
        [caps, shares],
    )
