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
from portfolios.rebalancing import RebalancePlan, rebalance_plan, trade_quantity
from portfolios.risk import RiskFlag, RiskInput, risk_flags
from portfolios.targets import BucketDrift, Target, drift
from valuations import tiermix
from valuations.choices import Bucket
from valuations.models import Asset


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


@dataclass(frozen=True)
class TradeLine:
    """A suggested trade as the page lists it: which asset, how many dollars
    (+ buy, − sell, as the plan gives them) and how many tokens at today's price."""

    asset: str
    name: str
    symbol: str
    bucket: str
    is_candidate: bool
    amount: Decimal
    price: Decimal | None
    quantity: Decimal | None


def trade_lines(analysis: Analysis, plan: RebalancePlan) -> list[TradeLine]:
    """Return the plan's trades with each asset's name, symbol, price and quantity.

    Held assets come from the holdings already read; suggested ones (not held)
    from one query, made only when the plan names some. Round the plan first
    (rebalancing.in_cents) for quantities that match the amounts shown.
    """
    known = {
        row.asset_slug: (row.asset_name, row.symbol, row.price)
        for row in analysis.holdings.rows
    }
    wanted = {trade.asset for trade in plan.trades} - known.keys()
    if wanted:
        for slug, name, symbol, price in Asset.objects.filter(
            slug__in=wanted
        ).values_list("slug", "name", "symbol", "price"):
            known[slug] = (name, symbol, price)
    lines = []
    for trade in plan.trades:
        name, symbol, price = known.get(trade.asset, (trade.asset, "", None))
        lines.append(
            TradeLine(
                asset=trade.asset,
                name=name,
                symbol=symbol,
                bucket=trade.bucket,
                is_candidate=trade.is_candidate,
                amount=trade.amount,
                price=price,
                quantity=trade_quantity(trade.amount, price),
            )
        )
    return lines
