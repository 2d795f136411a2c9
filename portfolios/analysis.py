"""A portfolio's analytics: tier mix, diversification, drift, risk and rebalancing.

One module composes the database reads (portfolios.queries) with the pure
rules (valuations.tiermix, portfolios.targets, .rebalancing, .risk), so the
pages and the API show the same numbers from the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portfolios import queries
from portfolios.models import Portfolio
from portfolios.rebalancing import RebalancePlan, rebalance_plan
from portfolios.risk import RiskFlag, RiskInput, risk_flags
from portfolios.targets import BucketDrift, Target, drift
from valuations import tiermix
from valuations.choices import Bucket


@dataclass
class Analysis:
    portfolio: Portfolio
    holdings: queries.Holdings
    positions: list[tiermix.Position]
    mix: tiermix.TierMix
    diversification: tiermix.Diversification
    target: Target
    drift: list[BucketDrift]
    flags: list[RiskFlag]


def analyse(portfolio: Portfolio, *, today: date) -> Analysis:
    """Return every figure of the portfolio page, from one holdings query."""
    held = queries.holdings(portfolio, today=today)
    positions = [
        tiermix.Position(
            asset=row.asset_slug,
            value=row.value,
            tier=row.tier,
            is_stablecoin=row.is_stablecoin,
            name=row.asset_name,
            symbol=row.symbol,
        )
        for row in held.rows
    ]
    mix = tiermix.tier_mix(positions)
    target = portfolio.target
    flags = risk_flags(
        [
            RiskInput(
                asset=row.asset_slug,
                name=row.asset_name,
                weight=row.weight,
                volume_24h=row.volume_24h,
                market_cap=row.figures.market_cap,
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
        diversification=tiermix.diversification(positions),
        target=target,
        drift=drift(mix, target, portfolio.tolerance),
        flags=flags,
    )


def rebalance(analysis: Analysis, *, mode: str, cash: Decimal) -> RebalancePlan:
    """Return the rebalancing plan; empty buckets get their largest assets named.

    Raises ValidationError keyed by ``mode`` or ``cash`` on bad input.
    """
    empty = [
        bucket
        for bucket in (Bucket.LARGE, Bucket.MID, Bucket.SMALL, Bucket.STABLE)
        if analysis.mix.values[bucket] == 0 and analysis.target.weight(bucket) > 0
    ]
    candidates = queries.largest_in_buckets([str(b) for b in empty]) if empty else {}
    return rebalance_plan(
        analysis.positions, analysis.target, mode, cash=cash, candidates=candidates
    )
