"""Fixtures and helpers shared by the API tests: a small market and query counting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AssetFactory, CategoryFactory

MISSING_ID = 999_999


def queries_for(call: Callable[[], object]) -> int:
    """Return how many queries ``call`` runs; it must answer 200."""
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def assert_same_404(theirs, missing) -> None:
    """Another user's object answers exactly like one that does not exist."""
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


NOW = datetime(2026, 4, 30, 3, 30, tzinfo=UTC)


@pytest.fixture
def market(db, settings, time_machine) -> dict[str, object]:
    """Four assets, one per tier, with a total market cap of exactly $20B.

    The clock stands at 03:30 on the day of the data, which stays fresh for a day.

    bitcoin 1898 × 10M = $18.98B (large, 94.9 %), beta 20 × 50M = $1B (mid, the
    boundary, 5 %), alpha 40 × 500k = $20M (small, 0.1 %), delta has no price
    (unranked).
    """
    time_machine.move_to(NOW, tick=False)
    settings.CAPSITE_STALE_AFTER = 24 * 3600
    defi = CategoryFactory(slug="defi", name="DeFi")
    layer1 = CategoryFactory(slug="layer-1", name="Layer 1")
    CategoryFactory(slug="stablecoins", name="Stablecoins", is_stablecoin=True)
    assets = {
        "bitcoin": AssetFactory(
            slug="bitcoin",
            symbol="btc",
            name="Bitcoin",
            price=Decimal("1898"),
            circulating_supply=Decimal("10000000"),
            total_supply=None,
            max_supply=None,
            volume_24h=Decimal("189800000"),
            last_updated=datetime(2026, 4, 30, 3, 0, tzinfo=UTC),
            categories=[layer1],
        ),
        "beta": AssetFactory(
            slug="beta",
            symbol="bet",
            name="Beta",
            price=Decimal("20"),
            circulating_supply=Decimal("50000000"),
            total_supply=Decimal("60000000"),
            max_supply=None,
            volume_24h=Decimal("2000000000"),
        ),
        "alpha": AssetFactory(
            slug="alpha",
            symbol="alp",
            name="Alpha",
            price=Decimal("40"),
            circulating_supply=Decimal("500000"),
            total_supply=Decimal("800000"),
            max_supply=Decimal("1000000"),
            volume_24h=Decimal("4000000"),
            categories=[defi],
        ),
        "delta": AssetFactory(
            slug="delta",
            symbol="dlt",
            name="Delta",
            price=None,
            circulating_supply=Decimal("1000"),
            total_supply=None,
            max_supply=None,
            volume_24h=None,
        ),
    }
    return assets
