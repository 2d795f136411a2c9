"""A portfolio's benchmarks (PRODUCT.md): the same range's return of Bitcoin, the
cap-weighted market and the portfolio's own target mix rebalanced monthly.

Read from the stored daily index levels (valuations.indices), so each costs a
couple of indexed queries whatever the size of the market or the ledger.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any

from portfolios import series
from portfolios.models import Portfolio
from valuations import indices
from valuations.models import MarketIndexDay

ZERO = Decimal(0)
QUANTUM = Decimal("1e-18")


def for_portfolio(
    portfolio: Portfolio, *, start: date, end: date, opening: bool
) -> list[dict[str, Any]]:
    """Bitcoin, the market and the target mix over the days ``start``…``end``.

    With ``opening`` (the range opens on a value above 0), the portfolio's TWR
    counts ``start``'s own return, measured from the day before's close: so do
    the benchmarks. Returns are in percent, like the TWR.
    """
    if opening:
        start -= timedelta(days=1)
    target = portfolio.target
    weights = {
        "large": target.large,
        "mid": target.mid,
        "small": target.small,
        "stable": target.stable,
    }
    return [
        asdict(benchmark)
        for benchmark in (
            indices.price_return(start, end),
            indices.market_return(start, end),
            indices.target_mix_return(start, end, weights),
        )
    ]


def same_money_in_bitcoin(
    days: list[series.Day], *, opening_value: Decimal
) -> list[Decimal | None]:
    """What the portfolio's money would be worth each day had it gone into Bitcoin.

    The value the range opens with and every day's external flow buy (or sell)
    Bitcoin at that day's price; each day is those units at its price. None for
    the days before any Bitcoin price is stored. One query, the stored prices.
    """
    if not days:
        return []
    start, end = days[0].date - timedelta(days=1), days[-1].date
    prices = dict(
        MarketIndexDay.objects.filter(
            day__gte=start, day__lte=end, bitcoin_price__isnull=False
        ).values_list("day", "bitcoin_price")
    )
    line: list[Decimal | None] = []
    units = ZERO
    pending = opening_value  # money waiting for a first Bitcoin price
    price = prices.get(start)
    with localcontext() as ctx:
        ctx.prec = 60
        for day in days:
            price = prices.get(day.date, price)
            pending += day.flow
            if price is None or price <= 0:
                line.append(None)
                continue
            units += pending / price
            pending = ZERO
            line.append((units * price).quantize(QUANTUM))
    return line
