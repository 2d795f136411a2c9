"""Each portfolio's stored daily series: computed when data changes, read by range.

For every UTC day from the first transaction to the newest market data, a
PortfolioDay holds the value per bucket, the external flow, net invested, the
chain-linked growth behind the time-weighted return, and how old the prices
used were (PRODUCT.md, "Performance of a portfolio").

- A ledger write recomputes from the day it touches (``refresh``), in the
  writer's transaction.
- A snapshot write marks the portfolios it affects (``mark_stale``) and they
  are brought up to date after the commit (``refresh_stale``); a read finding
  its portfolio marked brings it up to date first (``ensure_current``).

A recomputation from day D is one streaming pass over the ledger and the
snapshots from D, starting from the stored day before D: no query per day or
per asset. Each step rounds as it is stored, so a pass from any day gives the
same rows as a pass from the first day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Func, IntegerField, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Least

from portfolios import performance
from portfolios.models import Holding, Portfolio, PortfolioDay, Transaction
from portfolios.performance import ONE, QUANTUM, ZERO
from valuations import metrics, tiermix
from valuations.choices import Bucket, Tier
from valuations.models import MarketSnapshot
from valuations.tiermix import BUCKETS

# "From the first day": earlier than any ledger.
EPOCH = date(1970, 1, 1)
ONE_DAY = timedelta(days=1)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def utc_day(when: datetime) -> date:
    """The UTC day of a time: the series' days, and the day a ledger write touches."""
    return when.astimezone(UTC).date()


def market_end() -> date | None:
    """The newest day with market data: the series runs up to it."""
    newest = MarketSnapshot.objects.aggregate(at=Max("taken_at"))["at"]
    return utc_day(newest) if newest else None


# -- writing ---------------------------------------------------------------


def refresh(portfolio: Portfolio, *, since: date | None = None) -> None:
    """Bring the portfolio's series up to date, recomputing from ``since`` on.

    Any day already marked stale is recomputed too. Call it inside the
    transaction that changed the ledger, with the portfolio row locked.
    """
    row = _series_row(portfolio)
    starts = [d for d in (since, row["series_from"]) if d is not None]
    end = market_end()
    if row["series_through"] is None:
        starts.append(EPOCH)
    elif end is not None and row["series_through"] < end:
        starts.append(row["series_through"] + ONE_DAY)
    start = min(starts, default=None)
    if end is not None and start is not None and start <= end:
        first = _first_day(portfolio)
        start = max(start, first or start)
        _write(
            portfolio,
            start,
            end,
            _assemble(portfolio, start, _parts(portfolio, start=start, end=end)),
            first=first,
        )
    else:
        _write(portfolio, start or EPOCH, end, [])


@contextmanager
def revaluing(
    portfolio: Portfolio, *, asset_ids: set[int], since: date
) -> Iterator[None]:
    """Keep the series right across a ledger write to these assets from ``since``.

    When the stored series is current and covers ``since``, only these assets
    are revalued: their part of each day is taken away before the write and
    added back after it, so the cost grows with the days, not the holdings.
    Otherwise the series is recomputed from ``since`` after the write.
    """
    row = _series_row(portfolio)
    end = market_end()
    first = (
        PortfolioDay.objects.filter(portfolio=portfolio)
        .order_by("day")
        .values_list("day", flat=True)
        .first()
    )
    before = None
    if (
        end is not None
        and row["series_from"] is None
        and row["series_through"] == end
        and first is not None
        and first <= since <= end
    ):
        before = _parts(portfolio, start=since, end=end, asset_ids=asset_ids)
    yield
    if before is None or end is None:
        refresh(portfolio, since=since)
        return
    after = _parts(portfolio, start=since, end=end, asset_ids=asset_ids)
    stored = _stored_parts(portfolio, start=since, end=end)
    combined = [
        _swap(kept, out, into)
        for kept, out, into in zip(stored, before, after, strict=True)
    ]
    _write(portfolio, since, end, _assemble(portfolio, since, combined))


def _series_row(portfolio: Portfolio) -> dict[str, Any]:
    return dict(
        Portfolio.objects.values("series_from", "series_through").get(pk=portfolio.pk)
    )


def _first_day(portfolio: Portfolio) -> date | None:
    first_at = Transaction.objects.filter(portfolio=portfolio).aggregate(
        at=Min("executed_at")
    )["at"]
    return utc_day(first_at) if first_at else None


def _write(
    portfolio: Portfolio,
    start: date,
    end: date | None,
    days: list[PortfolioDay],
    *,
    first: date | None = None,
) -> None:
    """Replace the stored days from ``start`` on; keep only first ledger day…end.

    ``first`` is the ledger's first day when the caller has just read it.
    """
    stored = PortfolioDay.objects.filter(portfolio=portfolio)
    first = first or _first_day(portfolio)
    if first is None or end is None or first > end:
        stored.delete()
        through = None
    else:
        stored.filter(Q(day__lt=first) | Q(day__gte=start) | Q(day__gt=end)).delete()
        PortfolioDay.objects.bulk_create(
            [d for d in days if d.day >= first], batch_size=1000
        )
        through = end
    Portfolio.objects.filter(pk=portfolio.pk).update(
        series_through=through, series_from=None, version=F("version") + 1
    )
    portfolio.series_through, portfolio.series_from = through, None
    portfolio.version += 1


def ensure_current(portfolio: Portfolio) -> None:
    """Recompute a portfolio a market write marked stale; free when it is current."""
    if portfolio.series_from is None:
        return
    with transaction.atomic():
        Portfolio.objects.select_for_update().filter(pk=portfolio.pk).first()
        refresh(portfolio)


def mark_stale(*, asset_ids: Iterable[int], since: date | None) -> None:
    """Mark for recomputation what changed snapshots of these assets affect.

    Portfolios that traded one of them, from ``since`` (None: from the start);
    every other portfolio whose series stops before the new newest market day,
    from its last day (its holdings are carried forward to the new day).
    """
    since = since or EPOCH
    Portfolio.objects.filter(
        pk__in=Holding.objects.filter(asset_id__in=list(asset_ids)).values(
            "portfolio_id"
        )
    ).update(series_from=Least(Coalesce("series_from", since), since))
    end = market_end()
    if end is None:
        return
    behind = Q(series_through__lt=end) | Q(series_through__isnull=True)
    Portfolio.objects.filter(behind, series_from__isnull=True).filter(
        pk__in=Transaction.objects.values("portfolio_id")
    ).update(series_from=Coalesce("series_through", EPOCH))


def refresh_stale() -> int:
    """Recompute every portfolio marked stale, each in its own transaction."""
    pks = list(
        Portfolio.objects.filter(series_from__isnull=False).values_list("pk", flat=True)
    )
    for pk in pks:
        with transaction.atomic():
            portfolio = Portfolio.objects.select_for_update().filter(pk=pk).first()
            if portfolio is not None and portfolio.series_from is not None:
                refresh(portfolio)
    return len(pks)


def on_snapshots_changed(
    *, asset_ids: list[int], since: date | None, **kwargs: Any
) -> None:
    """Receiver of valuations.signals.snapshots_changed."""
    mark_stale(asset_ids=asset_ids, since=since)
    transaction.on_commit(refresh_stale)


@dataclass
class _Parts:
    """What some holdings add to one day: value per bucket, flow, carried prices.

    Each holding's value and each trade's flow is rounded as stored before it
    is added, so parts add and subtract exactly.
    """

    buckets: dict[str, Decimal]
    flow: Decimal = ZERO
    income: Decimal = ZERO  # rewards received that day, at their value
    # Holdings valued at a price from an earlier day: asset id → days since.
    carried: dict[str, int] = field(default_factory=dict)


def _swap(kept: _Parts, out: _Parts, into: _Parts) -> _Parts:
    """A stored day with some holdings' old part replaced by their new one."""
    carried = {k: v for k, v in kept.carried.items() if k not in out.carried}
    carried.update(into.carried)
    return _Parts(
        buckets={
            b: kept.buckets[b] - out.buckets[b] + into.buckets[b] for b in BUCKETS
        },
        flow=kept.flow - out.flow + into.flow,
        income=kept.income - out.income + into.income,
        carried=carried,
    )


def _stored_parts(portfolio: Portfolio, *, start: date, end: date) -> list[_Parts]:
    rows = (
        PortfolioDay.objects.filter(portfolio=portfolio, day__gte=start, day__lte=end)
        .order_by("day")
        .values_list("flow", "income", "carried", *BUCKETS)
    )
    return [
        _Parts(dict(zip(BUCKETS, values, strict=True)), flow, income, carried)
        for flow, income, carried, *values in rows
    ]


@dataclass
class _Asset:
    """One traded asset as the pass walks the days."""

    quantity: Decimal
    stable: bool
    price: Decimal | None = None
    priced_on: date | None = None
    from_market: bool = False  # priced by a snapshot, not only by a trade
    bucket: str = Bucket.UNRANKED


class _UtcDayNumber(Func):
    """SQL: the UTC day of a timestamp as days since 1970-01-01, an integer.

    Cheaper to read than a timestamp: the pass reads one per snapshot.
    """

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            # The stored text's date part: julianday() of the full time rounds
            # to the millisecond, so 23:59:59.9999 would fall on the next day.
            template=(
                "CAST(julianday(substr(%(expressions)s, 1, 10)) - 2440587.5 AS INTEGER)"
            ),
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((%(expressions)s AT TIME ZONE 'UTC')::date - DATE '1970-01-01')",
            **extra,
        )


def _opening(
    portfolio: Portfolio, start: date, asset_ids: set[int] | None
) -> dict[int, _Asset]:
    """Each traded asset's quantity, price and bucket as day ``start`` begins.

    One query. The quantity read is the holding (the ledger's end); the pass
    takes back what was traded from ``start`` on. The price is the last
    snapshot's before ``start``, or, for an asset no snapshot prices yet, its
    last trade's.
    """
    from portfolios.queries import is_stablecoin

    begin = _midnight(start)
    snapshot = MarketSnapshot.objects.filter(
        asset=OuterRef("asset_id"), taken_at__lt=begin, price__isnull=False
    ).order_by("-taken_at")
    trade = Transaction.objects.filter(
        portfolio=portfolio, asset=OuterRef("asset_id"), executed_at__lt=begin
    ).order_by("-executed_at", "-pk")
    holdings = Holding.objects.filter(portfolio=portfolio)
    if asset_ids is not None:
        holdings = holdings.filter(asset_id__in=asset_ids)
    rows = holdings.annotate(
        stable=is_stablecoin(),
        snap_price=Subquery(snapshot.values("price")[:1]),
        snap_cap=Subquery(snapshot.values("market_cap")[:1]),
        snap_at=Subquery(snapshot.values("taken_at")[:1]),
        trade_price=Subquery(trade.values("unit_price")[:1]),
        trade_at=Subquery(trade.values("executed_at")[:1]),
    ).values_list(
        "asset_id",
        "quantity",
        "stable",
        "snap_price",
        "snap_cap",
        "snap_at",
        "trade_price",
        "trade_at",
    )
    assets = {}
    for asset_id, quantity, stable, price, cap, at, trade_price, trade_at in rows:
        # No snapshot yet, no cap: unranked, unless a stablecoin.
        asset = _Asset(
            quantity, stable, bucket=tiermix.bucket_for(Tier.UNRANKED, stable)
        )
        if price is not None:
            asset.price, asset.priced_on, asset.from_market = price, utc_day(at), True
            asset.bucket = tiermix.bucket_for(metrics.tier_for(cap), stable)
        elif trade_price is not None:
            asset.price, asset.priced_on = trade_price, utc_day(trade_at)
        assets[asset_id] = asset
    return assets


def _signed(kind: str, quantity: Decimal) -> Decimal:
    return quantity if kind in Transaction.INFLOWS else -quantity


def _parts(
    portfolio: Portfolio, *, start: date, end: date, asset_ids: set[int] | None = None
) -> list[_Parts]:
    """What the traded assets (or only ``asset_ids``) add to each day start…end.

    Three reads (the opening state, the ledger from ``start``, the snapshots
    from ``start`` to ``end``), then one pass over the days. A day's price is
    the asset's last snapshot of the day or before it; before any snapshot,
    the asset's last trade price stands in.
    """
    assets = _opening(portfolio, start, asset_ids)
    ledger = Transaction.objects.filter(
        portfolio=portfolio, executed_at__gte=_midnight(start)
    )
    snapshots = MarketSnapshot.objects.filter(
        asset_id__in=list(assets),
        taken_at__gte=_midnight(start),
        taken_at__lt=_midnight(end + ONE_DAY),
        price__isnull=False,
    )
    if asset_ids is not None:
        ledger = ledger.filter(asset_id__in=asset_ids)
    trades: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for asset_id, kind, quantity, unit_price, fee, traded_on in (
        ledger.annotate(day=_UtcDayNumber("executed_at"))
        .order_by("executed_at", "pk")
        .values_list("asset_id", "kind", "quantity", "unit_price", "fee", "day")
    ):
        # The holding is the ledger's end: take back what was traded from start.
        assets[asset_id].quantity -= _signed(kind, quantity)
        trades[traded_on].append((asset_id, kind, quantity, unit_price, fee))
    prices: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in (
        snapshots.annotate(day=_UtcDayNumber("taken_at"), tier=metrics.tier_case())
        .order_by("taken_at")
        .values_list("day", "asset_id", "price", "tier")
        .iterator(chunk_size=10_000)
    ):
        prices[row[0]].append(row[1:])

    held = {a for a, asset in assets.items() if asset.quantity > 0}
    days = []
    number = (start - EPOCH).days
    day = start
    with localcontext() as ctx:
        ctx.prec = 60
        while day <= end:
            for asset_id, price, tier in prices.get(number, ()):
                asset = assets[asset_id]
                asset.price, asset.priced_on, asset.from_market = price, day, True
                asset.bucket = tiermix.bucket_for(tier, asset.stable)
            parts = _Parts(dict.fromkeys(BUCKETS, ZERO))
            for asset_id, kind, quantity, unit_price, fee in trades.get(number, ()):
                asset = assets[asset_id]
                if not asset.from_market:
                    # No market price yet: the trade's price stands in for one.
                    asset.price, asset.priced_on = unit_price, day
                market_price = asset.price if asset.from_market else None
                parts.flow += performance.external_flow(
                    kind, quantity, unit_price, fee, market_price
                ).quantize(QUANTUM)
                parts.income += performance.income(kind, quantity, unit_price).quantize(
                    QUANTUM
                )
                asset.quantity += _signed(kind, quantity)
                if asset.quantity > 0:
                    held.add(asset_id)
                else:
                    held.discard(asset_id)
            for asset_id in held:
                asset = assets[asset_id]
                if asset.price is None or asset.priced_on is None:
                    continue
                parts.buckets[asset.bucket] += (asset.quantity * asset.price).quantize(
                    QUANTUM
                )
                if asset.priced_on != day:
                    parts.carried[str(asset_id)] = (day - asset.priced_on).days
            days.append(parts)
            day += ONE_DAY
            number += 1
    return days


def _assemble(
    portfolio: Portfolio, start: date, days: list[_Parts]
) -> list[PortfolioDay]:
    """Stored rows for start…: totals, net invested and growth chained on from
    the stored day before ``start``."""
    before = (
        PortfolioDay.objects.filter(portfolio=portfolio, day=start - ONE_DAY)
        .values_list("value", "net_invested", "growth")
        .first()
    )
    value, net_invested, growth = before or (ZERO, ZERO, ONE)
    stale_after = settings.CAPSITE_PRICE_STALE_DAYS
    rows = []
    day = start
    for parts in days:
        previous, value = value, sum(parts.buckets.values(), ZERO)
        growth = performance.chain(growth, value, parts.flow, previous)
        net_invested += parts.flow
        ages = parts.carried.values()
        rows.append(
            PortfolioDay(
                portfolio=portfolio,
                day=day,
                value=value,
                flow=parts.flow,
                income=parts.income,
                net_invested=net_invested,
                growth=growth,
                carried=parts.carried,
                price_age=max(ages, default=0),
                stale_holdings=sum(age > stale_after for age in ages),
                **parts.buckets,
            )
        )
        day += ONE_DAY
    return rows


# -- reading ---------------------------------------------------------------


@dataclass
class Day:
    """One day of the series as history shows it."""

    date: date
    value: Decimal
    net_invested: Decimal
    flow: Decimal
    weights: dict[str, Decimal]  # bucket → percent of the value
    price_age: int  # days: 0 when every holding was priced that day
    stale_holdings: int  # holdings valued at a price older than the stale limit


HISTORY_COLUMNS = (
    "day",
    "value",
    "net_invested",
    "flow",
    "price_age",
    "stale_holdings",
    *BUCKETS,
)


def history(
    portfolio: Portfolio, *, start: date | None = None, end: date | None = None
) -> list[Day]:
    """The stored days from ``start`` to ``end`` (both optional), oldest first."""
    ensure_current(portfolio)
    rows = PortfolioDay.objects.filter(portfolio=portfolio)
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lte=end)
    points = []
    for row in rows.order_by("day").values_list(*HISTORY_COLUMNS):
        day, value, net_invested, flow, age, stale, *values = row
        mix = tiermix.bucket_weights(dict(zip(BUCKETS, values, strict=True)))
        points.append(Day(day, value, net_invested, flow, mix.weights, age, stale))
    return points


@dataclass
class Performance:
    """A portfolio's performance over a range of days (PRODUCT.md).

    ``value_start`` is the value the range opens with (the day before
    ``start`` closed with it); flows are those of the days in the range.
    """

    start: date
    end: date
    value_start: Decimal
    value_end: Decimal
    net_invested: Decimal  # to date, at the end of the range
    net_flows: Decimal  # within the range
    profit: Decimal  # value_end − value_start − net_flows
    twr: Decimal | None  # percent
    mwr: Decimal | None  # percent a year
    income: Decimal = ZERO  # rewards received within the range, at their value
    income_by_year: dict[int, Decimal] = field(default_factory=dict)


def current_through(portfolio: Portfolio) -> date | None:
    """The series' last day once it is up to date; None when it has no days."""
    ensure_current(portfolio)
    return portfolio.series_through


def performance_between(
    portfolio: Portfolio, *, start: date | None = None, end: date | None = None
) -> Performance | None:
    """Value, flows, profit, TWR and MWR over ``start``…``end``, from stored days.

    The range is clipped to the series; None when nothing of it is stored. One
    query: the day before the range, its last day, and the days with a flow.
    """
    ensure_current(portfolio)
    through = portfolio.series_through
    if through is None:
        return None
    end = min(end or through, through)
    opening = (start or EPOCH) - ONE_DAY
    rows = list(
        PortfolioDay.objects.filter(portfolio=portfolio, day__gte=opening, day__lte=end)
        .filter(Q(day=opening) | Q(day=end) | ~Q(flow=0) | ~Q(income=0))
        .order_by("day")
        .values_list("day", "value", "flow", "net_invested", "growth", "income")
    )
    if not rows or rows[-1][0] != end:
        return None
    if rows[0][0] == opening:
        _, value_start, _, _, growth_start, _ = rows.pop(0)
        first_day = opening + ONE_DAY
    else:
        # The range opens before the series: from its first day, a day with a
        # flow (the first transaction's).
        value_start, growth_start = ZERO, ONE
        first_day = rows[0][0]
    _, value_end, _, net_invested, growth_end, _ = rows[-1]
    flows = [(day, flow) for day, _, flow, _, _, _ in rows if flow]
    income_by_year: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for day, *_, earned in rows:
        if earned:
            income_by_year[day.year] += earned
    net_flows = sum((flow for _, flow in flows), ZERO)
    opening_flow = [(first_day - ONE_DAY, value_start)] if value_start else []
    return Performance(
        start=first_day,
        end=end,
        value_start=value_start,
        value_end=value_end,
        net_invested=net_invested,
        net_flows=net_flows,
        profit=performance.profit(value_end - value_start, net_flows),
        twr=performance.time_weighted_return(growth_start, growth_end),
        mwr=performance.money_weighted_return(
            opening_flow + flows, end=end, value_end=value_end
        ),
        income=sum(income_by_year.values(), ZERO),
        income_by_year=dict(income_by_year),
    )
