"""Market-data files: the bundled loader, row validation, newest values win."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.factories import AssetFactory
from valuations import queries
from valuations.imports import (
    MarketRow,
    apply_market_rows,
    load_bundled_market_data,
    parse_coingecko_markets,
    parse_history_csv,
)
from valuations.models import Asset, Category, MarketSnapshot, Tier

D = Decimal

# 16,965 history rows + 100 current rows; the history's last day for its 15
# coins is the very snapshot of the current file, so 15 pairs coincide.
BUNDLED_SNAPSHOTS = 17050


def _counts() -> dict[str, int]:
    return {
        "assets": Asset.objects.count(),
        "snapshots": MarketSnapshot.objects.count(),
        "categories": Category.objects.count(),
        "asset_categories": Asset.categories.through.objects.count(),
    }


@pytest.mark.django_db
def test_bundled_market_data_loads_the_top_100_and_reloads_without_duplicates():
    first = load_bundled_market_data()
    loaded = _counts()

    assert first["assets"] == 100
    assert first["categorised"] == 100
    assert loaded == {
        "assets": 100,
        "snapshots": BUNDLED_SNAPSHOTS,
        "categories": 12,
        "asset_categories": 137,
    }
    bitcoin = Asset.objects.get(slug="bitcoin")
    assert queries.ranks_for([bitcoin.pk]) == {bitcoin.pk: 1}
    assert bitcoin.price == D("76134")
    assert bitcoin.circulating_supply == D("20022396")
    assert bitcoin.max_supply == D("21000000")
    assert bitcoin.market_cap == D("1524385097064")
    assert sorted(bitcoin.categories.values_list("slug", flat=True)) == [
        "layer-1",
        "payments",
    ]
    assert Asset.objects.get(slug="tether").categories.get().is_stablecoin
    assert bitcoin.snapshots.earliest().taken_at == datetime(
        2023, 3, 20, 0, 2, 17, 864000, tzinfo=UTC
    )

    load_bundled_market_data()

    assert _counts() == loaded


@pytest.mark.django_db
def test_bundled_market_has_12_large_55_mid_and_33_small_caps():
    load_bundled_market_data()

    overview = queries.market_overview()

    counts = {t.tier: t.asset_count for t in overview.tiers}
    assert counts == {Tier.LARGE: 12, Tier.MID: 55, Tier.SMALL: 33, Tier.UNRANKED: 0}
    # Whole dollars: SQLite sums through floats (15 significant digits).
    assert overview.total_market_cap.quantize(D("1")) == D("2565683773444")


COINGECKO_ROW = {
    "id": "bitcoin",
    "symbol": "btc",
    "name": "Bitcoin",
    "current_price": 76134,
    "circulating_supply": 20022396.0,
    "total_supply": 20022396.0,
    "max_supply": 21000000.0,
    "total_volume": 43249932397,
    "last_updated": "2026-04-30T02:29:06.506Z",
}


def _write_markets(tmp_path, *items: dict):
    path = tmp_path / "markets.json"
    path.write_text(json.dumps(list(items)), encoding="utf-8")
    return path


def test_coingecko_rows_keep_numbers_exact(tmp_path):
    row = {**COINGECKO_ROW, "current_price": 0.000000000123456789}
    path = tmp_path / "markets.json"
    # Written by hand: json.dumps would print the float as 1.23456789e-10.
    path.write_text(
        json.dumps([row]).replace("1.23456789e-10", "0.000000000123456789"),
        encoding="utf-8",
    )

    (parsed,) = parse_coingecko_markets(path)

    assert parsed.price == D("0.000000000123456789")
    assert parsed.circulating_supply == D("20022396.0")
    assert parsed.volume_24h == D("43249932397")
    assert parsed.taken_at == datetime(2026, 4, 30, 2, 29, 6, 506000, tzinfo=UTC)


def test_missing_numbers_are_read_as_unknown(tmp_path):
    row = {**COINGECKO_ROW, "max_supply": None, "total_volume": ""}

    (parsed,) = parse_coingecko_markets(_write_markets(tmp_path, row))

    assert parsed.max_supply is None
    assert parsed.volume_24h is None


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"current_price": -5}, "price", "item 2: '-5' must be zero or more."),
        ({"current_price": "abc"}, "price", "item 2: 'abc' is not a number."),
        ({"total_volume": "NaN"}, "volume_24h", "item 2: 'NaN' must be zero"),
        ({"id": ""}, "id", "item 2: missing id."),
        ({"id": None}, "id", "item 2: missing id."),
        (
            {"circulating_supply": 30000000},
            "circulating_supply",
            "item 2: 30000000 exceeds max supply 21000000.0.",
        ),
        ({"last_updated": "yesterday"}, "last_updated", "'yesterday' is not a time"),
        ({"last_updated": None}, "last_updated", "item 2: None is not a time."),
    ],
    ids=[
        "negative",
        "not-a-number",
        "nan",
        "empty-id",
        "no-id",
        "above-max",
        "bad-time",
        "no-time",
    ],
)
def test_bad_row_is_rejected_naming_the_field_and_the_row(
    tmp_path, change, field, reason
):
    good = {**COINGECKO_ROW, "id": "ethereum"}
    path = _write_markets(tmp_path, good, {**COINGECKO_ROW, **change})

    with pytest.raises(ValidationError) as excinfo:
        parse_coingecko_markets(path)

    assert list(excinfo.value.message_dict) == [field]
    assert reason in excinfo.value.message_dict[field][0]


def test_bad_history_line_is_reported_with_its_line_number(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "coin_id,symbol,name,snapshot_last_updated,price_usd,circulating_supply,"
        "total_supply,max_supply,total_volume_usd\n"
        "bitcoin,btc,Bitcoin,2023-03-20T00:02:17.864Z,28137,19322368.0,"
        "21000000.0,21000000.0,46405541088\n"
        "bitcoin,btc,Bitcoin,2023-03-21T00:02:17.864Z,-1,19322368.0,"
        "21000000.0,21000000.0,46405541088\n",
        encoding="utf-8",
    )

    with pytest.raises(ValidationError) as excinfo:
        parse_history_csv(path)

    assert excinfo.value.message_dict == {
        "price": ["line 3: '-1' must be zero or more."]
    }


def _row(taken_at: datetime, price: str, **changes) -> MarketRow:
    row = MarketRow(
        slug="solana",
        symbol="sol",
        name="Solana",
        taken_at=taken_at,
        price=D(price),
        circulating_supply=D("575000000"),
        total_supply=D("620000000"),
        max_supply=None,
        volume_24h=D("3000000000"),
    )
    return replace(row, **changes)


NEWER = datetime(2026, 4, 30, 2, 0, tzinfo=UTC)
OLDER = datetime(2026, 4, 29, 2, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_an_older_row_adds_history_but_never_overwrites_newer_values():
    apply_market_rows([_row(NEWER, "150")], source="coingecko")

    result = apply_market_rows(
        [_row(OLDER, "140", name="Old Name")], source="coinmarketcap"
    )

    asset = Asset.objects.get(slug="solana")
    assert (asset.price, asset.name, asset.source, asset.last_updated) == (
        D("150"),
        "Solana",
        "coingecko",
        NEWER,
    )
    assert result == {"assets": 0, "snapshots": 1}
    assert list(asset.snapshots.values_list("taken_at", "price")) == [
        (OLDER, D("140")),
        (NEWER, D("150")),
    ]


@pytest.mark.django_db
def test_the_newest_row_of_a_file_sets_current_values_whatever_the_order():
    apply_market_rows([_row(NEWER, "150"), _row(OLDER, "140")], source="coingecko")

    asset = Asset.objects.get(slug="solana")
    assert asset.price == D("150")
    assert asset.market_cap == D("86250000000")
    assert asset.snapshots.count() == 2


@pytest.mark.django_db
def test_a_newer_row_updates_an_existing_asset():
    AssetFactory(slug="solana", price=D("99"), last_updated=OLDER, max_supply=None)

    result = apply_market_rows([_row(NEWER, "150")], source="coingecko")

    asset = Asset.objects.get(slug="solana")
    assert result == {"assets": 1, "snapshots": 1}
    assert (asset.price, asset.circulating_supply, asset.last_updated) == (
        D("150"),
        D("575000000"),
        NEWER,
    )


@pytest.mark.django_db
def test_reapplying_a_row_corrects_its_snapshot_instead_of_duplicating_it():
    apply_market_rows([_row(NEWER, "150")], source="coingecko")

    apply_market_rows([_row(NEWER, "151")], source="coingecko")

    snapshot = MarketSnapshot.objects.get()
    assert snapshot.price == D("151")
    assert Asset.objects.get().price == D("151")
