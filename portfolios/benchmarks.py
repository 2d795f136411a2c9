"""A portfolio's benchmarks (PRODUCT.md): the same range's return of Bitcoin, the
cap-weighted market and the portfolio's own target mix rebalanced monthly.

Read from the stored daily index levels (valuations.indices), so each costs a
couple of indexed queries whatever the size of the market or the ledger.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from portfolios.models import Portfolio
from valuations import indices


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
