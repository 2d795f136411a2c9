"""Database guarantees of the valuation models: constraints, caps, precision."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    SupplyUnlockFactory,
)
from valuations.models import Asset
from valuations.queries import market_overview
from valuations.state import refresh_market_state

D = Decimal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "values",
    [
        {"price": D("-0.01")},
        {"circulating_supply": D("-1")},
        {"total_supply": D("-1")},
        {"max_supply": D("-1")},
        {"volume_24h": D("-1")},
    ],
    ids=["price", "circulating", "total", "max", "volume"],
)
def test_database_refuses_impossible_asset_values(values):
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetFactory(**values)


@pytest.mark.parametrize(
    ("circulating", "max_supply"),
    [(D("21000000"), D("21000000")), (D("120000000"), None), (None, D("21000000"))],
    ids=["all-out", "no-max", "circulating-unknown"],
)
def test_circulating_up_to_max_supply_or_without_one_is_accepted(
    circulating, max_supply
):
    asset = AssetFactory(circulating_supply=circulating, max_supply=max_supply)

    assert Asset.objects.filter(pk=asset.pk).exists()


@pytest.mark.parametrize("amount", [D("0"), D("-100")])
def test_an_unlock_must_release_a_positive_amount(amount):
    asset = AssetFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        SupplyUnlockFactory(asset=asset, amount=amount)


def test_one_snapshot_per_asset_and_time():
    taken_at = datetime(2026, 4, 30, 2, 29, tzinfo=UTC)
    snapshot = MarketSnapshotFactory(taken_at=taken_at)
    MarketSnapshotFactory(taken_at=taken_at)  # another asset at the same time

    with pytest.raises(IntegrityError), transaction.atomic():
        MarketSnapshotFactory(asset=snapshot.asset, taken_at=taken_at)


def test_snapshot_price_cannot_be_negative():
    with pytest.raises(IntegrityError), transaction.atomic():
        MarketSnapshotFactory(price=D("-1"))


@pytest.mark.parametrize(
    ("price", "circulating", "cap"),
    [
        (D("40"), D("500000"), D("20000000")),
        (D("25761"), D("19482197"), D("501880876917")),
        (D("20"), D("50000000"), D("1000000000")),
        (D("1"), D("0"), D("0")),
        (None, D("500000"), None),
        (D("40"), None, None),
    ],
)
def test_stored_market_cap_is_price_times_circulating(price, circulating, cap):
    asset = AssetFactory(price=price, circulating_supply=circulating, max_supply=None)
    asset.refresh_from_db()

    assert asset.market_cap == cap
    assert (
        MarketSnapshotFactory(
            asset=asset, price=price, circulating_supply=circulating, max_supply=None
        ).market_cap
        == cap
    )


def test_stored_market_cap_follows_a_price_update():
    asset = AssetFactory(price=D("40"), circulating_supply=D("500000"))

    Asset.objects.filter(pk=asset.pk).update(price=D("2000"))
    refresh_market_state()  # as every write path does
    asset.refresh_from_db()

    assert asset.market_cap == D("1000000000")


def test_asset_and_snapshot_read_as_symbol_and_time():
    asset = AssetFactory(symbol="btc", name="Bitcoin", slug="bitcoin")
    snapshot = MarketSnapshotFactory(
        asset=asset, taken_at=datetime(2026, 4, 30, 2, 29, tzinfo=UTC)
    )

    assert str(asset) == "Bitcoin (BTC)"
    assert str(snapshot) == "BTC at 2026-04-30 02:29"
    assert str(CategoryFactory(name="Layer 1")) == "Layer 1"


@pytest.mark.parametrize(
    ("values", "flags"),
    [
        # A provider's rounding leftover: 0.19 FLOW above 1.48 billion.
        (
            {
                "circulating_supply": D("1483676655"),
                "max_supply": D("1483676654.81373"),
                "total_supply": D("1483676654.81373"),
            },
            "",
        ),
        # 0.01 % above the max is still rounding; a hair more is not.
        ({"circulating_supply": D("1000100"), "max_supply": D("1000000")}, ""),
        (
            {"circulating_supply": D("1000101"), "max_supply": D("1000000")},
            "supply_above_max",
        ),
        (
            {
                "circulating_supply": D("1000101"),
                "total_supply": D("1000000"),
                "max_supply": None,
            },
            "supply_above_max",
        ),
        ({"volume_24h": None}, "no_volume"),
        ({"volume_24h": D("0")}, "no_volume"),
        # Price 2 × 1,000,000 = $2M; published 2.04M is 2 % off, 2.05M more.
        ({"provider_market_cap": D("2040000")}, ""),
        ({"provider_market_cap": D("2040001")}, "cap_mismatch"),
        ({"provider_market_cap": D("1959999")}, "cap_mismatch"),
        ({"provider_market_cap": D("0")}, ""),  # 0 is the provider's "unknown"
        ({"provider_market_cap": D("5"), "circulating_supply": D("0")}, "cap_mismatch"),
    ],
)
def test_an_asset_is_stored_with_the_flags_its_values_earn(values, flags):
    asset = AssetFactory(**values)

    asset.refresh_from_db()
    assert asset.quality_flags == flags


def test_an_edit_keeps_supply_unknown_while_the_supply_is_still_unknown():
    asset = AssetFactory(max_supply=None, total_supply=None)
    Asset.objects.filter(pk=asset.pk).update(quality_flags="supply_unknown")
    asset.refresh_from_db()

    asset.volume_24h = D("0")
    asset.save()
    assert asset.quality_flags == "supply_unknown no_volume"

    asset.max_supply = D("21000000")
    asset.total_supply = D("21000000")
    asset.save()
    assert asset.quality_flags == "no_volume"


PRICE = D("0.000000000123456789")
SUPPLY = D("1234567890123456.123456789012345678")


@pytest.mark.postgres
def test_postgresql_keeps_18_decimals_and_supplies_past_10_to_the_15():
    asset = AssetFactory(
        price=PRICE,
        circulating_supply=SUPPLY,
        total_supply=SUPPLY,
        max_supply=D("9999999999999999999999.999999999999999999"),
        volume_24h=D("0.000000000000000001"),
    )
    asset.refresh_from_db()

    assert asset.price == PRICE
    assert asset.circulating_supply == SUPPLY
    assert asset.total_supply == SUPPLY
    assert asset.max_supply == D("9999999999999999999999.999999999999999999")
    assert asset.volume_24h == D("0.000000000000000001")
    # The exact product is 152415.787517146706584362751714678763907942; the
    # column keeps 18 decimals.
    assert asset.market_cap == D("152415.787517146706584363")


@pytest.mark.postgres
def test_postgresql_sums_market_caps_exactly():
    AssetFactory(price=PRICE, circulating_supply=SUPPLY, max_supply=None)
    AssetFactory(
        price=D("76134.000000000000000001"),
        circulating_supply=D("20022396.123456789012345678"),
        max_supply=None,
    )

    # 152415.787517146706584363 + 1524385106463.259174665945871248
    assert market_overview().total_market_cap == D("1524385258879.046691812652455611")


@pytest.mark.sqlite
def test_sqlite_keeps_15_significant_digits():
    asset = AssetFactory(
        price=D("0.123456789012345678"),
        circulating_supply=SUPPLY,
        total_supply=D("20022396.123456789012345678"),
        max_supply=None,
    )
    asset.refresh_from_db()

    assert asset.price == D("0.123456789012346")
    assert asset.circulating_supply == D("1234567890123460")
    assert asset.total_supply == D("20022396.1234568")


@pytest.mark.sqlite
def test_sqlite_keeps_prices_with_up_to_15_significant_digits_exact():
    asset = AssetFactory(
        price=PRICE,
        circulating_supply=D("19482197"),
        total_supply=D("20022396.1234567"),
        max_supply=None,
        volume_24h=D("43249932397.5"),
    )
    asset.refresh_from_db()

    assert asset.price == PRICE
    assert asset.circulating_supply == D("19482197")
    assert asset.total_supply == D("20022396.1234567")
    assert asset.volume_24h == D("43249932397.5")
