"""A portfolio of known weights to share, and helpers to share it and fill it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from portfolios import services as ledger
from portfolios.models import Portfolio, Transaction
from sharing import services
from tests.factories import AssetFactory, CategoryFactory
from valuations.models import Asset
from valuations.state import refresh_market_state

D = Decimal
BOUGHT = datetime(2026, 4, 1, 9, tzinfo=UTC)


def _asset(slug: str, price: str, circulating: str, **kwargs: object) -> Asset:
    return AssetFactory(
        slug=slug,
        symbol=slug[:4],
        name=slug.title(),
        price=D(price),
        circulating_supply=D(circulating),
        max_supply=None,
        total_supply=None,
        **kwargs,
    )


@pytest.fixture
def analysed(portfolio: Portfolio) -> Portfolio:
    """$10,000 worth $7,900 at cost. Balanced target 50/30/15/5, ±5 points.

    bitcoin  0.12 × $50,000 = $6,000 (cap $1T: large, 60 %), bought at $40,000
    chainlink 200 × $10     = $2,000 (cap $5B: mid, 20 %),   bought at $8
    thin      500 × $2      = $1,000 (cap $2M: small, 10 %), bought at $1
    tether   1000 × $1      = $1,000 (a $100B stablecoin: stable, 10 %), at $1
    """
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    for slug, price, circulating, quantity, paid, extra in [
        ("bitcoin", "50000", "20000000", "0.12", "40000", {}),
        ("chainlink", "10", "500000000", "200", "8", {}),
        ("thin", "2", "1000000", "500", "1", {}),
        ("tether", "1", "100000000000", "1000", "1", {"categories": [stable]}),
    ]:
        ledger.record_transaction(
            portfolio=portfolio,
            asset=_asset(slug, price, circulating, **extra),
            kind=Transaction.Kind.BUY,
            quantity=D(quantity),
            unit_price=D(paid),
            fee=D(0),
            executed_at=BOUGHT,
        )
    return portfolio


def share(portfolio: Portfolio, *, show_amounts: bool = False) -> str:
    """Make the portfolio's link; return its token."""
    _, token = services.create_share_link(
        portfolio=portfolio, show_amounts=show_amounts
    )
    return token


def fill(portfolio: Portfolio, holdings: int) -> None:
    """Give the portfolio ``holdings`` small caps, each bought once."""
    assets = Asset.objects.bulk_create(AssetFactory.build_batch(holdings))
    refresh_market_state()  # as every write path does
    ledger.record_transactions(
        portfolio=portfolio,
        rows=[
            {
                "asset": asset,
                "kind": Transaction.Kind.BUY,
                "quantity": D("3"),
                "unit_price": D("1.5"),
                "fee": D("0"),
                "executed_at": BOUGHT,
            }
            for asset in assets
        ],
    )
