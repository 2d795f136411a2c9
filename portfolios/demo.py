"""The demo account's `Demo` portfolio: a realistic ledger over real prices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction

from portfolios import services
from portfolios.models import Portfolio, Transaction
from valuations.models import Asset, MarketSnapshot

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # settings.AUTH_USER_MODEL

BUY, SELL = Transaction.Kind.BUY, Transaction.Kind.SELL
TRANSFER_IN = Transaction.Kind.TRANSFER_IN

# (day, asset, kind, quantity): priced at that day's bundled snapshot.
DEMO_LEDGER = [
    (date(2023, 4, 3), "bitcoin", BUY, "0.25"),
    (date(2023, 4, 3), "ethereum", BUY, "3"),
    (date(2023, 4, 3), "tether", BUY, "2500"),
    (date(2023, 6, 15), "chainlink", BUY, "400"),
    (date(2023, 9, 1), "solana", BUY, "60"),
    (date(2023, 10, 20), "cardano", BUY, "4000"),
    (date(2024, 1, 10), "avalanche-2", BUY, "45"),
    (date(2024, 3, 12), "dogecoin", BUY, "9000"),
    (date(2024, 3, 14), "ethereum", SELL, "1"),
    (date(2024, 6, 3), "polkadot", BUY, "250"),
    (date(2024, 8, 5), "bitcoin", BUY, "0.05"),
    (date(2024, 11, 12), "dogecoin", SELL, "5000"),
    (date(2024, 12, 16), "solana", SELL, "20"),
    (date(2025, 2, 3), "litecoin", TRANSFER_IN, "12"),
    (date(2025, 4, 8), "usd-coin", BUY, "3000"),
    (date(2025, 7, 21), "chainlink", SELL, "150"),
    (date(2025, 11, 4), "shiba-inu", BUY, "150000000"),
    (date(2026, 4, 30), "render-token", BUY, "600"),
    (date(2026, 4, 30), "arbitrum", BUY, "5000"),
    (date(2026, 4, 30), "bonk", BUY, "60000000"),
]


@transaction.atomic
def create_demo_portfolio(*, owner: User) -> Portfolio | None:
    """Give ``owner`` a `Demo` portfolio unless one exists; None when it already does.

    Needs the bundled market data: prices come from each day's snapshot.
    """
    if Portfolio.objects.filter(owner=owner, name="Demo").exists():
        return None
    slugs = {slug for _, slug, _, _ in DEMO_LEDGER}
    assets = Asset.objects.in_bulk(slugs, field_name="slug")
    prices = {
        (snapshot.asset.slug, snapshot.taken_at.date()): snapshot
        for snapshot in MarketSnapshot.objects.filter(
            asset__slug__in=slugs
        ).select_related("asset")
    }
    portfolio = services.create_portfolio(
        owner=owner,
        name="Demo",
        description="A sample ledger over real CoinGecko prices, 2023–2026.",
        target_large=Decimal(50),
        target_mid=Decimal(30),
        target_small=Decimal(15),
        target_stable=Decimal(5),
        tolerance=Decimal(5),
    )
    rows = []
    for day, slug, kind, quantity in DEMO_LEDGER:
        snapshot = prices[(slug, day)]
        rows.append(
            {
                "asset": assets[slug],
                "kind": kind,
                "quantity": Decimal(quantity),
                "unit_price": snapshot.price,
                "fee": Decimal("1.50"),
                "executed_at": datetime.combine(
                    day, snapshot.taken_at.time(), tzinfo=UTC
                ),
                "note": "demo",
            }
        )
    services.record_transactions(portfolio=portfolio, rows=rows)
    return portfolio
