"""Market-data file formats: detect them and parse every row, collecting row errors.

Parsing never stops at a bad row: each problem becomes a RowError with the row's
position (``item 3`` in JSON, ``line 5`` in CSV), the field and the reason.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.validators import slug_re
from django.utils.dateparse import parse_datetime

from valuations import metrics
from valuations.fields import DECIMAL_PLACES, MAX_DIGITS
from valuations.models import Provider

MARKET_FIELDS = (
    "price",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "volume_24h",
)
CSV_HEADER = "id,symbol,name,price,circulating_supply,total_supply,max_supply,volume_24h,last_updated"
# What the database stores: numbers are rounded to DECIMAL_PLACES as PostgreSQL
# would (so a re-import compares equal), and larger ones cannot be stored.
_QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)
_INTEGER_DIGITS = MAX_DIGITS - DECIMAL_PLACES
# Longest id, symbol and name an Asset can hold.
_MAX_LENGTHS = {"id": 200, "symbol": 40, "name": 200}


class Format:
    COINGECKO = "coingecko"
    COINMARKETCAP = "coinmarketcap"
    CSV = "csv"
    HISTORY = "history"

    ALL = (COINGECKO, COINMARKETCAP, CSV, HISTORY)


@dataclass(frozen=True)
class MarketRow:
    """One asset's market data at one time, as read from a file."""

    position: str
    provider: str
    external_id: str  # the provider's id: a CoinGecko id, a CoinMarketCap number…
    slug_hint: str  # the provider's slug, used to match a CoinMarketCap coin
    symbol: str
    name: str
    taken_at: datetime
    price: Decimal | None
    circulating_supply: Decimal | None
    total_supply: Decimal | None
    max_supply: Decimal | None
    volume_24h: Decimal | None

    def values(self) -> dict[str, Decimal | None]:
        return {field: getattr(self, field) for field in MARKET_FIELDS}


@dataclass(frozen=True)
class RowError:
    position: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.field}: {self.message}"


class FormatError(ValueError):
    """The file as a whole cannot be read (not JSON, unknown columns, …)."""


def detect_format(text: str) -> str:
    """Return the format of a market-data file from its content."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("[", "{")):
        data = _load_json(stripped)
        items = data.get("data") if isinstance(data, dict) else data
        if isinstance(data, dict) and not isinstance(items, list):
            raise FormatError("JSON object without a `data` list: not a listings file.")
        first = items[0] if items else {}
        if isinstance(first, dict) and "quote" in first:
            return Format.COINMARKETCAP
        if isinstance(first, dict) and "current_price" in first:
            return Format.COINGECKO
        raise FormatError("JSON rows have neither `current_price` nor `quote`.")
    header = (
        {name.strip() for name in stripped.splitlines()[0].split(",")}
        if stripped
        else set()
    )
    if {"coin_id", "price_usd"} <= header:
        return Format.HISTORY
    if {"id", "price"} <= header:
        return Format.CSV
    raise FormatError(f"Unknown file format; a CSV needs the header {CSV_HEADER}")


def _load_json(text: str) -> Any:
    try:
        # Floats as Decimal: 6.25e-06 stays exactly 0.00000625.
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as exc:
        raise FormatError(f"Not valid JSON: {exc.msg} at line {exc.lineno}.") from exc


def parse_number(
    value: Any, field: str, position: str, errors: list[RowError]
) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        errors.append(RowError(position, field, f"“{value}” is not a number."))
        return None
    if not number.is_finite():
        errors.append(RowError(position, field, f"“{value}” is not a number."))
        return None
    if number < 0:
        errors.append(RowError(position, field, f"{value} is negative."))
        return None
    if number.adjusted() >= _INTEGER_DIGITS:
        errors.append(
            RowError(
                position,
                field,
                f"{value} is too large (at most {_INTEGER_DIGITS} digits before the point).",
            )
        )
        return None
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if isinstance(exponent, int) and exponent < -DECIMAL_PLACES:
        number = number.quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    return number


def _row(
    raw: dict[str, Any],
    *,
    position: str,
    provider: str,
    keys: dict[str, str],
    errors: list[RowError],
    get: Callable[[dict[str, Any], str], Any] = lambda raw, key: raw.get(key),
) -> MarketRow | None:
    """Build a row, recording every problem found in it; None when it has any."""
    found: list[RowError] = []
    external_id = str(get(raw, keys["id"]) or "").strip()
    if not external_id:
        found.append(RowError(position, "id", "Missing id."))
    elif provider != Provider.COINMARKETCAP and not slug_re.match(external_id):
        # The id becomes the asset's slug, which its page's URL is built from.
        found.append(
            RowError(
                position,
                "id",
                f"“{external_id}” is not an id: use letters, digits, - and _ only.",
            )
        )
    for name, limit in _MAX_LENGTHS.items():
        text = str(get(raw, keys[name]) or "").strip()
        if len(text) > limit:
            found.append(RowError(position, name, f"Longer than {limit} characters."))
    values = {
        f: parse_number(get(raw, keys[f]), f, position, found) for f in MARKET_FIELDS
    }
    if get(raw, keys["price"]) in (None, ""):
        found.append(RowError(position, "price", "Missing price."))
    circulating, maximum = values["circulating_supply"], values["max_supply"]
    if not metrics.circulating_within_max(circulating, maximum):
        found.append(
            RowError(
                position,
                "circulating_supply",
                f"Circulating supply {circulating} exceeds max supply {maximum}.",
            )
        )
    raw_time = get(raw, keys["taken_at"])
    try:
        taken_at = parse_datetime(str(raw_time or "").strip())
    except ValueError:  # well formed but impossible: 2024-02-30, 25:00
        taken_at = None
    if taken_at is None or taken_at.tzinfo is None:
        found.append(
            RowError(
                position, "last_updated", f"“{raw_time}” is not a time with a zone."
            )
        )
    if found:
        errors.extend(found)
        return None
    assert taken_at is not None  # a missing time is in found
    return MarketRow(
        position=position,
        provider=provider,
        external_id=external_id,
        slug_hint=str(get(raw, keys.get("slug", keys["id"])) or external_id).strip(),
        symbol=str(get(raw, keys["symbol"]) or "").strip(),
        name=str(get(raw, keys["name"]) or external_id).strip(),
        taken_at=taken_at,
        **values,
    )


COINGECKO_KEYS = {
    "id": "id",
    "symbol": "symbol",
    "name": "name",
    "taken_at": "last_updated",
    "price": "current_price",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "volume_24h": "total_volume",
}
CMC_KEYS = {
    "id": "id",
    "slug": "slug",
    "symbol": "symbol",
    "name": "name",
    "taken_at": "last_updated",
    "price": "quote.USD.price",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "volume_24h": "quote.USD.volume_24h",
}
CSV_KEYS = {name: name for name in CSV_HEADER.split(",")} | {"taken_at": "last_updated"}
HISTORY_KEYS = {
    "id": "coin_id",
    "symbol": "symbol",
    "name": "name",
    "taken_at": "snapshot_last_updated",
    "price": "price_usd",
    "circulating_supply": "circulating_supply",
    "total_supply": "total_supply",
    "max_supply": "max_supply",
    "volume_24h": "total_volume_usd",
}


def _dotted(raw: dict[str, Any], key: str) -> Any:
    value: Any = raw
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parse(text: str, fmt: str) -> tuple[list[MarketRow], list[RowError]]:
    """Parse a whole file of the given format into good rows and row errors."""
    errors: list[RowError] = []
    if fmt in (Format.COINGECKO, Format.COINMARKETCAP):
        data = _load_json(text.lstrip("\ufeff"))
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise FormatError("Expected a JSON array of coins (or a `data` array).")
        cmc = fmt == Format.COINMARKETCAP
        rows = [
            _row(
                raw if isinstance(raw, dict) else {},
                position=f"item {i}",
                provider=Provider.COINMARKETCAP if cmc else Provider.COINGECKO,
                keys=CMC_KEYS if cmc else COINGECKO_KEYS,
                errors=errors,
                get=_dotted,
            )
            for i, raw in enumerate(items, 1)
        ]
    elif fmt in (Format.CSV, Format.HISTORY):
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        keys = HISTORY_KEYS if fmt == Format.HISTORY else CSV_KEYS
        required = {keys["id"], keys["price"], keys["taken_at"]}
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise FormatError(f"Missing column(s): {', '.join(sorted(missing))}.")
        provider = Provider.COINGECKO if fmt == Format.HISTORY else Provider.CSV
        # reader.line_num, not a count of rows: blank lines are skipped.
        rows = [
            _row(
                raw,
                position=f"line {reader.line_num}",
                provider=provider,
                keys=keys,
                errors=errors,
            )
            for raw in reader
        ]
    else:
        raise FormatError(
            f"Unknown format {fmt!r}; use one of {', '.join(Format.ALL)}."
        )
    return [row for row in rows if row is not None], errors
