"""A portfolio's analytics: tier mix, diversification, drift, risk and rebalancing.

One module composes the database reads (portfolios.queries) with the pure
figures (valuations.diversification), so the pages and the API show the same
numbers from the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portfolios import queries
from portfolios.models import Portfolio
from valuations import diversification as dv


@dataclass
class Analysis:
    portfolio: Portfolio
    holdings: queries.Holdings
    positions: list[dv.Position]
    mix: dv.TierMix
    diversification: dv.Diversification
    target: dv.Target
    drift: list[dv.BucketDrift]
    flags: list[dv.RiskFlag]


def target_of(portfolio: Portfolio) -> dv.Target:
    return dv.Target(
        large=portfolio.target_large,
        mid=portfolio.target_mid,
        small=portfolio.target_small,
        stable=portfolio.target_stable,
    )


def analyse(portfolio: Portfolio, *, today: date) -> Analysis:
    """Return every figure of the portfolio page, from one holdings query."""
    held = queries.holdings(portfolio, today=today)
    positions = [
        dv.Position(
            asset=row.asset_slug,
            value=row.value,
            tier=row.tier,
            is_stablecoin=row.is_stablecoin,
            name=row.asset_name,
            symbol=row.symbol,
        )
        for row in held.rows
    ]
    mix = dv.tier_mix(positions)
    target = target_of(portfolio)
    flags = dv.risk_flags(
        [
            dv.RiskInput(
                asset=row.asset_slug,
                name=row.asset_name,
                weight=row.weight,
                liquidity=row.figures.liquidity,
                dilution_ratio=row.figures.dilution_ratio,
                next_unlock_date=row.next_unlock_date,
                next_unlock_amount=row.next_unlock_amount,
            )
            for row in held.rows
        ],
        today,
    )
    return Analysis(
        portfolio=portfolio,
        holdings=held,
        positions=positions,
        mix=mix,
        diversification=dv.diversification(positions),
        target=target,
        drift=dv.drift(mix, target, portfolio.tolerance),
        flags=flags,
    )


def rebalance(analysis: Analysis, *, mode: str, cash: Decimal) -> dv.RebalancePlan:
    """Return the rebalancing plan; empty buckets get their largest assets named.

    Raises ValidationError keyed by ``mode`` or ``cash`` on bad input.
    """
    empty = [
        bucket
        for bucket in (
            dv.Bucket.LARGE,
            dv.Bucket.MID,
            dv.Bucket.SMALL,
            dv.Bucket.STABLE,
        )
        if analysis.mix.values[bucket] == 0 and analysis.target.weight(bucket) > 0
    ]
    candidates = queries.largest_in_buckets([str(b) for b in empty]) if empty else {}
    return dv.rebalance_plan(
        analysis.positions, analysis.target, mode, cash=cash, candidates=candidates
    )
