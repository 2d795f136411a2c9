"""A three-day, four-asset market for the market-history tests (valuations.history).

Hand-computed figures, in $B (caps are price × circulating supply):

| day    | BTC   | ETH   | SOL (mid)     | TINY (small) | covered total |
|--------|-------|-------|---------------|--------------|---------------|
| 1 Mar  | 1,200 | 390   | 9.5           | 0.5          | 1,600         |
| 2 Mar  | 1,000 | 240   | 10 (→ large)  | no snapshot  | 1,250         |
| 3 Mar  | none  | 240   | none          | no price     | 240           |

On 2 Mar Bitcoin has two snapshots (1,200 at 08:00, 1,000 at 20:00): the
day's last one counts. Today's total (the assets' current caps) is 1,250:
BTC 1,000, ETH 240, SOL 10, TINY none (no price today). What each day covers
of it is today's cap of the assets it covers: 1 and 2 Mar cover BTC, ETH and
SOL (1,250, 100 %; TINY has no cap today), 3 Mar only ETH (240, 19.2 %).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tests.factories import AssetFactory, MarketSnapshotFactory
from valuations.models import Asset

D = Decimal
DAYS = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
BILLION = D("1e9")


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def build_market() -> dict[str, Asset]:
    """The assets (current price: the last snapshot's) and their snapshots."""
    coins = {
        "bitcoin": ("btc", "50000", "20000000"),
        "ethereum": ("eth", "2000", "120000000"),
        "solana": ("sol", "25", "400000000"),
        "tiny": ("tiny", None, "1000000000"),
    }
    assets = {
        slug: AssetFactory(
            slug=slug,
            symbol=symbol,
            name=slug.title(),
            price=D(price) if price else None,
            circulating_supply=D(supply),
        )
        for slug, (symbol, price, supply) in coins.items()
    }
    snapshots = [
        ("bitcoin", DAYS[0], 12, "60000"),
        ("ethereum", DAYS[0], 12, "3250"),
        ("solana", DAYS[0], 12, "23.75"),
        ("tiny", DAYS[0], 12, "0.5"),
        ("bitcoin", DAYS[1], 20, "50000"),  # created first: order is by time
        ("bitcoin", DAYS[1], 8, "60000"),
        ("ethereum", DAYS[1], 12, "2000"),
        ("solana", DAYS[1], 12, "25"),
        ("ethereum", DAYS[2], 12, "2000"),
        ("tiny", DAYS[2], 12, None),
    ]
    for slug, day, hour, price in snapshots:
        asset = assets[slug]
        MarketSnapshotFactory(
            asset=asset,
            taken_at=_at(day, hour),
            price=D(price) if price else None,
            circulating_supply=asset.circulating_supply,
        )
    return assets
