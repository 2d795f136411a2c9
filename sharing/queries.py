"""Share-link reads: the link behind a token, and what its page and API show.

What a shared page shows is decided here once, for the page and the API
alike: the figures come from portfolios.analysis; amounts are left out
(None) unless the owner chose to show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from portfolios import analysis
from portfolios.models import Portfolio
from sharing.models import ShareLink, hash_token
from valuations import tiermix

# A token is 32 characters; anything much longer is not worth hashing.
MAX_TOKEN_LENGTH = 100


def active_link(token: str) -> ShareLink | None:
    """The unrevoked link with this token, its portfolio read in the same query."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return (
        ShareLink.objects.active()
        .select_related("portfolio")
        .filter(token_hash=hash_token(token))
        .first()
    )


def active_link_of(portfolio: Portfolio) -> ShareLink | None:
    """The portfolio's unrevoked link, if it has one."""
    return ShareLink.objects.active().filter(portfolio=portfolio).first()


@dataclass
class SharedHolding:
    asset: str
    name: str
    symbol: str
    tier: str
    bucket: str
    weight: Decimal  # percent of the portfolio's value, 0–100
    # Amounts: None unless the owner shows them.
    quantity: Decimal | None
    price: Decimal | None
    value: Decimal | None
    cost_basis: Decimal | None
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal | None


@dataclass
class SharedBucket:
    bucket: str
    weight: Decimal
    target: Decimal
    drift: Decimal  # percentage points
    outside_band: bool
    value: Decimal | None


@dataclass
class SharedPortfolio:
    name: str
    show_amounts: bool
    tolerance: Decimal
    mix_weights: dict[str, Decimal]
    target_weights: dict[str, Decimal]
    buckets: list[SharedBucket]
    diversification: tiermix.Diversification
    holdings: list[SharedHolding]
    total_value: Decimal | None
    total_cost: Decimal | None
    unrealized_pnl: Decimal | None
    realized_pnl: Decimal | None


def shared_portfolio(link: ShareLink, *, today: date) -> SharedPortfolio:
    """What the link shows: the portfolio's analysis, amounts only if chosen.

    One holdings query (portfolios.analysis.analyse), whatever the holdings.
    """
    result = analysis.analyse(link.portfolio, today=today)
    shown = link.show_amounts

    def amount(value: Decimal | None) -> Decimal | None:
        return value if shown else None

    held = result.holdings
    return SharedPortfolio(
        name=link.portfolio.name,
        show_amounts=shown,
        tolerance=link.portfolio.tolerance,
        mix_weights=result.mix.weights,
        target_weights=result.target.weights(),
        buckets=[
            SharedBucket(
                bucket=d.bucket,
                weight=d.weight,
                target=d.target,
                drift=d.drift,
                outside_band=d.outside_band,
                value=amount(d.value),
            )
            for d in result.drift
        ],
        diversification=result.diversification,
        holdings=[
            SharedHolding(
                asset=row.asset_slug,
                name=row.asset_name,
                symbol=row.symbol,
                tier=row.tier,
                bucket=row.bucket,
                weight=row.weight,
                quantity=amount(row.quantity),
                price=amount(row.price),
                value=amount(row.value),
                cost_basis=amount(row.cost_basis),
                unrealized_pnl=amount(row.unrealized_pnl),
                realized_pnl=amount(row.realized_pnl),
            )
            for row in held.rows
        ],
        total_value=amount(held.total_value),
        total_cost=amount(held.total_cost),
        unrealized_pnl=amount(held.unrealized_pnl),
        realized_pnl=amount(held.realized_pnl),
    )
