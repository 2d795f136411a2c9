"""Stale market data is flagged on pages and in the API; tier changes are listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import AssetFactory, MarketSnapshotFactory
from valuations import metrics, queries

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "stale"),
    [
        (timedelta(minutes=59), False),
        (timedelta(hours=1), False),  # exactly the limit is still fresh
        (timedelta(hours=1, seconds=1), True),
    ],
)
def test_data_older_than_the_limit_is_stale(age, stale):
    assert metrics.is_stale(NOW - age, NOW) is stale


def test_data_with_no_update_time_is_stale():
    assert metrics.is_stale(None, NOW) is True


def test_the_limit_is_a_setting(settings):
    settings.CAPSITE_STALE_AFTER = 60
    assert metrics.is_stale(NOW - timedelta(minutes=2), NOW) is True


@time_machine.travel(NOW, tick=False)
def test_market_and_asset_pages_warn_about_stale_data_only_when_stale(client):
    AssetFactory(slug="fresh-coin", last_updated=NOW - timedelta(minutes=5))
    old = AssetFactory(slug="old-coin", last_updated=NOW - timedelta(days=2))

    market = client.get(reverse("valuations:market")).content.decode()
    assert "Stale data" not in market  # the newest update is 5 minutes old

    page = client.get(old.get_absolute_url()).content.decode()
    assert "Stale data: last updated 2\xa0days ago" in page
    fresh = client.get(reverse("valuations:asset-detail", args=["fresh-coin"]))
    assert "Stale data" not in fresh.content.decode()


@time_machine.travel(NOW, tick=False)
def test_api_flags_stale_assets_and_market():
    AssetFactory(slug="old-coin", last_updated=NOW - timedelta(days=2))
    api = APIClient()

    market = api.get("/api/v1/market/").json()
    asset = api.get("/api/v1/assets/old-coin/").json()

    assert market["stale"] is True
    assert asset["stale"] is True
    assert asset["last_updated"] == "2026-04-29T12:00:00Z"


def test_tier_changes_lists_each_move_between_tiers_in_time_order():
    asset = AssetFactory(
        slug="mover", price=Decimal("1"), circulating_supply=Decimal("1")
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Caps: $0.5B small, $2B mid, $3B mid, $12B large, $0.8B small.
    for day, price in enumerate(["0.5", "2", "3", "12", "0.8"]):
        MarketSnapshotFactory(
            asset=asset,
            taken_at=start + timedelta(days=day),
            price=Decimal(price),
            circulating_supply=Decimal("1000000000"),
            max_supply=None,
        )

    changes = queries.tier_changes(asset)

    assert [(c.taken_at.day, c.from_tier, c.to_tier) for c in changes] == [
        (2, "small", "mid"),
        (4, "mid", "large"),
        (5, "large", "small"),
    ]
    assert changes[1].market_cap == Decimal("12000000000")


def test_asset_page_shows_its_tier_changes(client):
    asset = AssetFactory(slug="mover")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day, price in enumerate(["0.5", "2"]):
        MarketSnapshotFactory(
            asset=asset,
            taken_at=start + timedelta(days=day),
            price=Decimal(price),
            circulating_supply=Decimal("1000000000"),
            max_supply=None,
        )

    page = client.get(asset.get_absolute_url()).content.decode()

    assert "1 change across 2 snapshots" in page
    assert "2 Jan 2026" in page
