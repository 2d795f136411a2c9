"""CoinGecko coins/markets items for the import tests."""

from __future__ import annotations

from typing import Any


def _coingecko(slug: str, **overrides: Any) -> dict[str, Any]:
    """One coins/markets item; numbers as strings so JSON keeps them exact."""
    return {
        "id": slug,
        "symbol": slug[:3],
        "name": slug.title(),
        "current_price": "2.5",
        "circulating_supply": "1000000",
        "total_supply": "2000000",
        "max_supply": "4000000",
        "total_volume": "500000",
        "last_updated": "2026-04-30T02:00:00.000Z",
        **overrides,
    }
