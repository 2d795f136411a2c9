"""Stored daily benchmark indices (market, tier buckets, Bitcoin) and their returns."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Context, Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Q, QuerySet, Subquery

from valuations.choices import Bucket
from valuations.locks import serialise_in_transaction
from valuations.metrics import tier_for
from valuations.models import Asset, MarketIndexDay, MarketSnapshot
from valuations.tiermix import EXACT, QUOTIENT, bucket_for

BITCOIN = "bitcoin"
# The buckets that get an index; unranked assets have no cap to weight by.
INDEX_BUCKETS: tuple[Bucket, ...] = (
    Bucket.LARGE,
    Bucket.MID,
    Bucket.SMALL,
    Bucket.STABLE,
)
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
ONE_DAY = timedelta(days=1)
# A level keeps 15 significant digits (and at most the column's 18 decimals):
# SQLite reads decimals back through a float, which returns 15 digits exactly.
# The chain continues from the stored level, so a refresh from any day then
# equals a rebuild from the first on both databases.
LEVEL_DIGITS = Context(prec=15)
LEVEL_QUANTUM = Decimal("1e-18")
# Returns are served in percent, to the quantum of a portfolio's TWR.
PERCENT_QUANTUM = Decimal("1e-8")
INSERT_BATCH = 1000
SNAPSHOT_CHUNK = 2000


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's return over a date range, in percent, and what it rests on.

    ``twr`` is None when the stored indices cannot give it (no day on or before
    the start, a zero level). ``coverage`` names the stored days used and how
    many assets the index covered.
    """

    name: str
    twr: Decimal | None
    coverage: dict[str, Any]


@dataclass(frozen=True)
class _Quote:
    """An asset's last snapshot of a UTC day: price, cap and the bucket it sets."""

    price: Decimal
    cap: Decimal | None
    bucket: Bucket | None  # None: no positive price and cap, so no weight


# --- Write side ------------------------------------------------------------


def refresh_indices(since: date | None = None) -> int:
    """Recompute the stored MarketIndexDay rows from ``since`` to the last snapshot day.

    None recomputes from the first snapshot day. Returns the number of days
    written. Queries: a fixed handful plus one insert per INSERT_BATCH days;
    the snapshots are streamed once, ordered by time, never read per day or
    per asset.
    """
    with transaction.atomic():
        serialise_in_transaction("capsite:market-index-days")
        anchor = None
        if since is not None:
            anchor = (
                MarketIndexDay.objects.filter(day__lt=since).order_by("-day").first()
            )
        stable_ids = set(
            Asset.objects.filter(categories__is_stablecoin=True).values_list(
                "pk", flat=True
            )
        )
        bitcoin_id = (
            Asset.objects.filter(slug=BITCOIN).values_list("pk", flat=True).first()
        )
        rows = _index_days(
            _snapshot_days(anchor.day if anchor else None, stable_ids),
            anchor=anchor,
            bitcoin_id=bitcoin_id,
        )
        if rows is None:
            # No snapshot left on or after the anchor: the history now ends
            # earlier than the stored rows, so rebuild from the first day.
            anchor = None
            days = _snapshot_days(None, stable_ids)
            rows = _index_days(days, anchor=None, bitcoin_id=bitcoin_id) or []
        replaced = MarketIndexDay.objects.all()
        if anchor is not None:
            replaced = replaced.filter(day__gt=anchor.day)
        replaced.delete()
        MarketIndexDay.objects.bulk_create(rows, batch_size=INSERT_BATCH)
    return len(rows)


def on_snapshots_changed(
    *, asset_ids: list[int], since: date | None, **kwargs: Any
) -> None:
    """Receiver of valuations.signals.snapshots_changed: refresh once committed.

    Robust: a failed refresh is logged and leaves the indices as they were
    (``manage.py refresh_indices`` rebuilds them); it never fails the write
    that was already committed.
    """
    if asset_ids:
        transaction.on_commit(partial(refresh_indices, since=since), robust=True)


def _snapshot_days(
    first: date | None, stable_ids: set[int]
) -> Iterator[tuple[date, dict[int, _Quote]]]:
    """Yield each UTC day with snapshots from ``first`` on, with every asset's
    last priced snapshot of that day. One query, streamed in time order."""
    snapshots = MarketSnapshot.objects.filter(price__isnull=False)
    if first is not None:
        snapshots = snapshots.filter(
            taken_at__gte=datetime.combine(first, time.min, tzinfo=UTC)
        )
    day: date | None = None
    quotes: dict[int, _Quote] = {}
    for asset_id, taken_at, price, cap in (
        snapshots.order_by("taken_at")
        .values_list("asset_id", "taken_at", "price", "market_cap")
        .iterator(chunk_size=SNAPSHOT_CHUNK)
    ):
        taken_on = taken_at.astimezone(UTC).date()
        if taken_on != day:
            if day is not None:
                yield day, quotes
            day, quotes = taken_on, {}
        bucket = None
        if price > 0 and cap is not None and cap > 0:
            bucket = bucket_for(tier_for(cap), asset_id in stable_ids)
        # Ordered by time: the day's last snapshot wins (queries.prices_on).
        quotes[asset_id] = _Quote(price, cap, bucket)
    if day is not None:
        yield day, quotes


def _index_days(
    days: Iterator[tuple[date, dict[int, _Quote]]],
    *,
    anchor: MarketIndexDay | None,
    bitcoin_id: int | None,
) -> list[MarketIndexDay] | None:
    """Chain the levels over the streamed days after ``anchor`` (every day from
    the first one when None), gap days included. None when the stream is empty
    and there is an anchor to continue from."""
    levels: dict[str, Decimal | None] = {"market": None}
    levels.update((str(bucket), None) for bucket in INDEX_BUCKETS)
    previous: date | None = None
    before: dict[int, _Quote] = {}
    if anchor is not None:
        levels = {key: getattr(anchor, key) for key in levels}
        previous = anchor.day
    rows: list[MarketIndexDay] = []
    streamed = False
    for day, quotes in days:
        streamed = True
        if previous is not None and day <= previous:
            before = quotes  # the anchor's own day: the base of the next return
            continue
        if previous is not None:
            gap = (day - previous).days
            rows.extend(_carried(previous + ONE_DAY * n, levels) for n in range(1, gap))
            if gap > 1:
                before = {}
        rows.append(_next_day(day, before, quotes, levels, bitcoin_id))
        previous, before = day, quotes
    if anchor is not None and not streamed:
        return None
    return rows


def _next_day(
    day: date,
    before: dict[int, _Quote],
    quotes: dict[int, _Quote],
    levels: dict[str, Decimal | None],
    bitcoin_id: int | None,
) -> MarketIndexDay:
    """The row of ``day``: ``levels`` (updated in place) times each index's
    cap-weighted growth from ``before`` (the day before's quotes)."""
    grown: dict[str, Decimal] = {}
    caps: dict[str, Decimal] = {}
    counts = {key: 0 for key in levels}
    for asset_id, quote in quotes.items():
        base = before.get(asset_id)
        if base is None or base.bucket is None or base.cap is None:
            continue
        # What the previous day's cap grew to: cap × pₜ ÷ pₜ₋₁.
        value = QUOTIENT.divide(EXACT.multiply(base.cap, quote.price), base.price)
        for key in ("market", base.bucket):
            grown[key] = EXACT.add(grown.get(key, ZERO), value)
            caps[key] = EXACT.add(caps.get(key, ZERO), base.cap)
            counts[key] += 1
    for key, level in levels.items():
        if key in caps and level is not None:
            growth = QUOTIENT.divide(grown[key], caps[key])
            grown_level = LEVEL_DIGITS.multiply(level, growth)
            levels[key] = grown_level.quantize(LEVEL_QUANTUM, context=EXACT)
    # An index starts at 1 on the first day it has a member.
    if levels["market"] is None:
        levels["market"] = ONE
    for quote in quotes.values():
        if quote.bucket is not None and levels[quote.bucket] is None:
            levels[quote.bucket] = ONE
    bitcoin = quotes.get(bitcoin_id) if bitcoin_id is not None else None
    return MarketIndexDay(
        day=day,
        **levels,
        bitcoin_price=bitcoin.price if bitcoin else None,
        assets=counts["market"],
        coverage={str(bucket): counts[bucket] for bucket in INDEX_BUCKETS},
    )


def _carried(day: date, levels: dict[str, Decimal | None]) -> MarketIndexDay:
    """A day without snapshots: every level as the day before, nothing covered."""
    return MarketIndexDay(
        day=day,
        **levels,
        bitcoin_price=None,
        assets=0,
        coverage={str(bucket): 0 for bucket in INDEX_BUCKETS},
    )


# --- Read side -------------------------------------------------------------


def price_return(start: date, end: date) -> Benchmark:
    """Bitcoin's price return from ``start`` to ``end``, in percent.

    Each end takes the nearest stored day on or before it with a Bitcoin
    price. One query.
    """
    _check_range(start, end)
    rows = _rows_on_or_before([start, end], priced=True)
    first, last = rows[start], rows[end]
    twr = None
    if first is not None and last is not None:
        twr = _percent(_ratio(last.bitcoin_price, first.bitcoin_price))
    return Benchmark(
        name="Bitcoin",
        twr=twr,
        coverage={"from": _day_of(first), "to": _day_of(last), "assets": 1},
    )


def market_return(start: date, end: date) -> Benchmark:
    """The cap-weighted market index's return from ``start`` to ``end``, in percent.

    Each end takes the nearest stored day on or before it. Coverage gives the
    fewest and most assets the index used on a day between them. Two queries.
    """
    _check_range(start, end)
    rows = _rows_on_or_before([start, end])
    first, last = rows[start], rows[end]
    coverage: dict[str, Any] = {"from": _day_of(first), "to": _day_of(last)}
    if first is None or last is None:
        return Benchmark(name="Market", twr=None, coverage=coverage)
    used = MarketIndexDay.objects.filter(day__gt=first.day, day__lte=last.day)
    span = used.aggregate(fewest=Min("assets"), most=Max("assets"))
    coverage["days"] = (last.day - first.day).days
    coverage["assets"] = {"min": span["fewest"] or 0, "max": span["most"] or 0}
    return Benchmark(
        name="Market",
        twr=_percent(_ratio(last.market, first.market)),
        coverage=coverage,
    )


def target_mix_return(start: date, end: date, weights: dict[str, Decimal]) -> Benchmark:
    """A target mix's return from ``start`` to ``end``, in percent, rebalanced to
    ``weights`` (percent per bucket: large, mid, small, stable) on the first day
    of each month.

    Each month's segment returns Σ w_b × (level_b at its end ÷ at its start − 1)
    over the buckets with both levels, weights renormalised over them; segments
    chain-link. None when a segment has no such bucket. One query.
    """
    _check_range(start, end)
    unknown = set(weights) - set(INDEX_BUCKETS)
    if unknown or any(w < 0 for w in weights.values()):
        raise ValueError(f"Weights must be ≥ 0 per {', '.join(INDEX_BUCKETS)}.")
    bounds = _month_bounds(start, end)
    rows = _rows_on_or_before(bounds)
    wanted = {bucket: w for bucket, w in weights.items() if w > 0}
    missing: set[str] = set()
    growth: Decimal | None = ONE
    for opens, closes in zip(bounds, bounds[1:], strict=False):
        segment = _segment_growth(rows[opens], rows[closes], wanted, missing)
        growth = None if growth is None or segment is None else growth * segment
    first, last = rows[start], rows[end]
    if first is None or last is None or not wanted:
        growth = None
    coverage: dict[str, Any] = {
        "from": _day_of(first),
        "to": _day_of(last),
        "segments": len(bounds) - 1,
        "assets": {b: last.coverage.get(b, 0) for b in wanted} if last else {},
        "missing": sorted(missing),
    }
    return Benchmark(
        name="Target mix",
        twr=None if growth is None else _percent(growth),
        coverage=coverage,
    )


def _segment_growth(
    opens: MarketIndexDay | None,
    closes: MarketIndexDay | None,
    weights: dict[str, Decimal],
    missing: set[str],
) -> Decimal | None:
    """1 + one month segment's return at the target weights; None when no
    weighted bucket has a level at both ends. Adds such buckets to ``missing``."""
    if opens is None or closes is None:
        missing.update(weights)
        return None
    parts: dict[str, Decimal] = {}
    for bucket in weights:
        ratio = _ratio(getattr(closes, bucket), getattr(opens, bucket))
        if ratio is None:
            missing.add(bucket)
        else:
            parts[bucket] = ratio
    total = sum((weights[b] for b in parts), ZERO)
    if not parts or total == 0:
        return None
    return sum(
        (QUOTIENT.divide(weights[b] * ratio, total) for b, ratio in parts.items()),
        ZERO,
    )


def _rows_on_or_before(
    days: Sequence[date], *, priced: bool = False
) -> dict[date, MarketIndexDay | None]:
    """Each day's nearest stored row on or before it (with a Bitcoin price when
    ``priced``), in one query.

    Rows are stored for every day from the first to the last, so a day inside
    that range is its own row, and any day after it is the last row: the
    nearest row on or before the earliest and the latest day covers the rest.
    """
    stored: QuerySet[MarketIndexDay] = MarketIndexDay.objects.all()
    if priced:
        stored = stored.filter(bitcoin_price__isnull=False)
    condition = Q(day__in=list(days))
    for edge in (min(days), max(days)):
        nearest = stored.filter(day__lte=edge).order_by("-day").values("day")[:1]
        condition |= Q(day=Subquery(nearest))
    found = list(stored.filter(condition).order_by("day"))
    found_days = [row.day for row in found]
    rows: dict[date, MarketIndexDay | None] = {}
    for day in days:
        at = bisect_right(found_days, day)
        rows[day] = found[at - 1] if at else None
    return rows


def _month_bounds(start: date, end: date) -> list[date]:
    """``start``, the first day of every month after it up to ``end``, and ``end``."""
    bounds = [start]
    month = date(start.year, start.month, 1)
    while True:
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if month >= end:
            break
        bounds.append(month)
    if end > start:
        bounds.append(end)
    return bounds


def _ratio(end: Decimal | None, start: Decimal | None) -> Decimal | None:
    """end ÷ start; None when either is unknown or start is 0."""
    if end is None or start is None or start == 0:
        return None
    return QUOTIENT.divide(end, start)


def _percent(growth: Decimal | None) -> Decimal | None:
    """A growth factor as a return in percent: (g − 1) × 100."""
    if growth is None:
        return None
    return EXACT.multiply(EXACT.subtract(growth, ONE), HUNDRED).quantize(
        PERCENT_QUANTUM, context=EXACT
    )


def _day_of(row: MarketIndexDay | None) -> str | None:
    return row.day.isoformat() if row is not None else None


def _check_range(start: date, end: date) -> None:
    if start > end:
        raise ValueError("The range must not end before it starts.")
