"""Parse market-data files into rows, and apply rows to assets and snapshots in bulk."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from valuations.models import Asset, Category, MarketSnapshot

DATA_DIR = Path(__file__).resolve().parent / "data"
BUNDLED_MARKETS = DATA_DIR / "coins_markets_usd_100_2026-04-30.json"
BUNDLED_HISTORY = DATA_DIR / "history_15coins_daily_2023-03-20_to_2026-04-30.csv"
BUNDLED_CATEGORIES = DATA_DIR / "categories.json"

MARKET_FIELDS = [
    "price",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "volume_24h",
]


@dataclass(frozen=True)
class MarketRow:
    """One asset's market data at one time, as read from a file."""

    slug: str
    symbol: str
    name: str
    taken_at: datetime
    price: Decimal | None
    circulating_supply: Decimal | None
    total_supply: Decimal | None
    max_supply: Decimal | None
    volume_24h: Decimal | None


def _decimal(value: object, field: str, position: str) -> Decimal | None:
    if value is None or value == "":
        return None
    # Report the value as the file has it: a JSON number arrives as a Decimal.
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(
            {field: f"{position}: {text!r} is not a number."}
        ) from exc
    if not number.is_finite() or number < 0:
        raise ValidationError({field: f"{position}: {text!r} must be zero or more."})
    return number


def _time(value: object, position: str) -> datetime:
    parsed = parse_datetime(str(value or ""))
    if parsed is None:
        raise ValidationError({"last_updated": f"{position}: {value!r} is not a time."})
    return parsed


def _row(raw: dict, *, position: str, keys: dict[str, str]) -> MarketRow:
    slug = str(raw.get(keys["slug"]) or "").strip()
    if not slug:
        raise ValidationError({"id": f"{position}: missing id."})
    values = {
        field: _decimal(raw.get(keys[field]), field, position)
        for field in MARKET_FIELDS
    }
    circulating, maximum = values["circulating_supply"], values["max_supply"]
    if circulating is not None and maximum is not None and circulating > maximum:
        raise ValidationError(
            {
                "circulating_supply": f"{position}: {circulating} exceeds max supply {maximum}."  # noqa: E501
            }
        )
    return MarketRow(
        slug=slug,
        symbol=str(raw.get(keys["symbol"]) or "").strip(),
        name=str(raw.get(keys["name"]) or slug).strip(),
        taken_at=_time(raw.get(keys["taken_at"]), position),
        **values,
    )


COINGECKO_KEYS = {
    "slug": "id",
    "symbol": "symbol",
    "name": "name",
    "taken_at": "last_updated",
    "price": "current_price",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "volume_24h": "total_volume",
}
HISTORY_KEYS = {
    "slug": "coin_id",
    "symbol": "symbol",
    "name": "name",
    "taken_at": "snapshot_last_updated",
    "price": "price_usd",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "volume_24h": "total_volume_usd",
}


def parse_coingecko_markets(path: Path) -> list[MarketRow]:
    """Read a CoinGecko ``coins/markets`` JSON array, keeping numbers exact."""
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh, parse_float=Decimal, parse_int=Decimal)
    return [
        _row(raw, position=f"item {i}", keys=COINGECKO_KEYS)
        for i, raw in enumerate(data, 1)
    ]


def parse_history_csv(path: Path) -> list[MarketRow]:
    """Read the daily history CSV (one row per coin and day)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            _row(raw, position=f"line {i}", keys=HISTORY_KEYS)
            for i, raw in enumerate(csv.DictReader(fh), 2)
        ]


@transaction.atomic
def apply_market_rows(rows: list[MarketRow], *, source: str) -> dict[str, int]:
    """Upsert each asset's current values from its newest row, and one snapshot per row.

    An older row never overwrites newer current values (it only adds history).
    Runs a fixed number of bulk statements whatever the row count; returns the
    number of assets updated and snapshots written.
    """
    latest: dict[str, MarketRow] = {}
    for row in rows:
        if row.slug not in latest or row.taken_at > latest[row.slug].taken_at:
            latest[row.slug] = row
    known = dict(
        Asset.objects.filter(slug__in=latest).values_list("slug", "last_updated")
    )
    current = [
        Asset(
            slug=row.slug,
            symbol=row.symbol,
            name=row.name,
            source=source,
            last_updated=row.taken_at,
            **{field: getattr(row, field) for field in MARKET_FIELDS},
        )
        for row in latest.values()
        if known.get(row.slug) is None or known[row.slug] <= row.taken_at
    ]
    Asset.objects.bulk_create(
        current,
        update_conflicts=True,
        unique_fields=["slug"],
        update_fields=["symbol", "name", "source", "last_updated", *MARKET_FIELDS],
        batch_size=500,
    )
    ids = dict(Asset.objects.filter(slug__in=latest).values_list("slug", "pk"))
    snapshots = [
        MarketSnapshot(
            asset_id=ids[row.slug],
            taken_at=row.taken_at,
            **{field: getattr(row, field) for field in MARKET_FIELDS},
        )
        for row in rows
    ]
    MarketSnapshot.objects.bulk_create(
        snapshots,
        update_conflicts=True,
        unique_fields=["asset", "taken_at"],
        update_fields=MARKET_FIELDS,
        batch_size=500,
    )
    return {"assets": len(current), "snapshots": len(snapshots)}


@transaction.atomic
def apply_category_mapping(path: Path) -> int:
    """Create a mapping file's categories and set each listed asset's categories."""
    with path.open(encoding="utf-8") as fh:
        mapping = json.load(fh)
    for item in mapping["categories"]:
        Category.objects.update_or_create(
            slug=item["slug"],
            defaults={"name": item["name"], "is_stablecoin": item["is_stablecoin"]},
        )
    categories = dict(Category.objects.values_list("slug", "pk"))
    assets = dict(
        Asset.objects.filter(slug__in=mapping["assets"]).values_list("slug", "pk")
    )
    through = Asset.categories.through
    through.objects.filter(asset_id__in=assets.values()).delete()
    through.objects.bulk_create(
        [
            through(asset_id=assets[slug], category_id=categories[cat])
            for slug, cats in mapping["assets"].items()
            if slug in assets
            for cat in cats
        ]
    )
    return len(assets)


def load_bundled_market_data() -> dict[str, int]:
    """Load the bundled CoinGecko snapshot, its daily history and the category mapping.

    Idempotent: a second run finds every row in place and writes no duplicates.
    """
    history = apply_market_rows(parse_history_csv(BUNDLED_HISTORY), source="coingecko")
    latest = apply_market_rows(
        parse_coingecko_markets(BUNDLED_MARKETS), source="coingecko"
    )
    mapped = apply_category_mapping(BUNDLED_CATEGORIES)
    return {
        "assets": latest["assets"],
        "snapshots": history["snapshots"] + latest["snapshots"],
        "categorised": mapped,
    }
