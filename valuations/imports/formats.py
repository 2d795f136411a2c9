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
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from django.core.validators import slug_re
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from capsite.text import shown, text_problem
from valuations import metrics, quality
from valuations.fields import DECIMAL_PLACES, MAX_DIGITS, PRODUCT_MAX_DIGITS
from valuations.models import Provider

MARKET_FIELDS = (
    "price",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "volume_24h",
)
# What the provider published beside them, kept as published (0 is "unknown").
PROVIDER_FIELDS = ("provider_market_cap", "provider_fdv", "provider_rank")
CSV_HEADER = "id,symbol,name,price,circulating_supply,total_supply,max_supply,volume_24h,last_updated"
# Optional CSV columns: the provider's own figures.
CSV_OPTIONAL = PROVIDER_FIELDS
# What the database stores: numbers are rounded to DECIMAL_PLACES as PostgreSQL
# would (so a re-import compares equal), and larger ones cannot be stored.
_QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)
_WIDE = Context(prec=MAX_DIGITS + 10)
_INTEGER_DIGITS = MAX_DIGITS - DECIMAL_PLACES
_PRODUCT_DIGITS = PRODUCT_MAX_DIGITS - DECIMAL_PLACES
# Longest id, slug, symbol and name an Asset or ProviderId can hold.
_MAX_LENGTHS = {"id": 200, "slug": 200, "symbol": 40, "name": 200}
# A rank is a PositiveIntegerField: at most this on every database.
_MAX_RANK = 2_147_483_647


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
    provider_market_cap: Decimal | None = None
    provider_fdv: Decimal | None = None
    provider_rank: int | None = None
    # A max or total supply of 0 beside a positive circulating supply, read as
    # unknown (PRODUCT.md, data quality).
    supply_unknown: bool = False

    def values(self) -> dict[str, Decimal | int | None]:
        """Every stored value of a snapshot: market fields and provider figures."""
        return {
            field: getattr(self, field) for field in (*MARKET_FIELDS, *PROVIDER_FIELDS)
        }


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
    except RecursionError as exc:
        raise FormatError("Not a listings file: JSON nested too deeply.") from exc


def parse_number(
    value: Any,
    field: str,
    position: str,
    errors: list[RowError],
    *,
    integer_digits: int = _INTEGER_DIGITS,
) -> Decimal | None:
    if value is None or value == "":
        return None
    # A hostile file's megabyte of digits or control characters stays out of reports.
    echo = shown(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        errors.append(RowError(position, field, f"“{echo}” is not a number."))
        return None
    if not number.is_finite():
        errors.append(RowError(position, field, f"“{echo}” is not a number."))
        return None
    if number < 0:
        errors.append(RowError(position, field, f"{echo} is negative."))
        return None
    if number.adjusted() >= integer_digits:
        errors.append(
            RowError(
                position,
                field,
                f"{echo} is too large (at most {integer_digits} digits before the point).",
            )
        )
        return None
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if isinstance(exponent, int) and exponent < -DECIMAL_PLACES:
        # 22 digits before the point and 18 after pass the default 28-digit context.
        number = number.quantize(_QUANTUM, rounding=ROUND_HALF_UP, context=_WIDE)
    return number


def _parse_rank(value: Any, position: str, errors: list[RowError]) -> int | None:
    """A provider's rank: a whole number from 1; 0 or none means unranked."""
    found: list[RowError] = []
    number = parse_number(value, "provider_rank", position, found)
    if (
        not found
        and number is not None
        and (number != number.to_integral_value() or number > _MAX_RANK)
    ):
        found.append(RowError(position, "provider_rank", "Not a whole number rank."))
    errors.extend(found)
    return None if found or not number else int(number)


def _text(
    raw: dict[str, Any],
    name: str,
    keys: dict[str, str],
    get: Callable[[dict[str, Any], str], Any],
    position: str,
    found: list[RowError],
) -> str:
    """A text field, checked for length and characters no database stores."""
    value = get(raw, keys[name]) if name in keys else None
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        found.append(RowError(position, name, "Not a text value."))
        return ""
    text = str(value).strip()
    if problem := text_problem(text, _MAX_LENGTHS[name]):
        found.append(RowError(position, name, problem))
    return text


def _too_large(product: Decimal | None) -> bool:
    return product is not None and product.adjusted() >= _PRODUCT_DIGITS


def _row(
    raw: dict[str, Any],
    *,
    position: str,
    provider: str,
    keys: dict[str, str],
    errors: list[RowError],
    now: datetime,
    get: Callable[[dict[str, Any], str], Any] = lambda raw, key: raw.get(key),
) -> MarketRow | None:
    """Build a row, recording every problem found in it; None when it has any.

    Provider quirks are accepted as PRODUCT.md says: a max or total supply of
    0 beside a positive circulating supply is read as unknown, a circulating
    supply above the max is kept (and flagged when apply stores the row).
    """
    found: list[RowError] = []
    external_id = _text(raw, "id", keys, get, position, found)
    slug_hint = _text(raw, "slug", keys, get, position, found) or external_id
    symbol = _text(raw, "symbol", keys, get, position, found)
    name = _text(raw, "name", keys, get, position, found)
    if any(e.field in ("id", "slug") for e in found):
        pass  # too long or unstorable: said once
    elif not external_id:
        found.append(RowError(position, "id", "Missing id."))
    elif provider != Provider.COINMARKETCAP and not slug_re.match(external_id):
        # The id becomes the asset's slug, which its page's URL is built from.
        found.append(
            RowError(
                position,
                "id",
                f"“{shown(external_id)}” is not an id: use letters, digits, - and _ only.",
            )
        )
    elif slug_hint and not slug_re.match(slug_hint):
        found.append(
            RowError(position, "slug", "Not a slug: use letters, digits, - and _ only.")
        )
    values = {
        f: parse_number(get(raw, keys[f]), f, position, found) for f in MARKET_FIELDS
    }
    provider_values = {
        f: parse_number(
            get(raw, keys[f]) if f in keys else None,
            f,
            position,
            found,
            integer_digits=_PRODUCT_DIGITS,
        )
        for f in ("provider_market_cap", "provider_fdv")
    }
    rank = _parse_rank(
        get(raw, keys["provider_rank"]) if "provider_rank" in keys else None,
        position,
        found,
    )
    if get(raw, keys["price"]) in (None, ""):
        found.append(RowError(position, "price", "Missing price."))
    circulating = values["circulating_supply"]
    supply_unknown = False
    for supply in ("max_supply", "total_supply"):
        if quality.is_supply_unknown(circulating, values[supply]):
            values[supply], supply_unknown = None, True
    price = values["price"]
    fdv_supply = (
        values["max_supply"]
        if values["max_supply"] is not None
        else values["total_supply"]
    )
    for label, amount in (("circulating supply", circulating), ("supply", fdv_supply)):
        if (
            price is not None
            and amount is not None
            and _too_large(metrics.market_cap(price, amount))
        ):
            found.append(
                RowError(position, "price", f"Price × {label} is too large to store.")
            )
            break
    raw_time = get(raw, keys["taken_at"])
    try:
        taken_at = parse_datetime(str(raw_time or "").strip()[:64])
    except (ValueError, OverflowError):  # well formed but impossible: 2024-02-30
        taken_at = None
    shown_time = shown(raw_time)
    if taken_at is None or taken_at.tzinfo is None:
        found.append(
            RowError(
                position, "last_updated", f"“{shown_time}” is not a time with a zone."
            )
        )
    else:
        try:
            problem = metrics.time_problem(taken_at, now)
        except OverflowError:  # a zone that pushes it past year 9999
            problem = "out of range"
        if problem:
            found.append(
                RowError(position, "last_updated", f"“{shown_time}” is {problem}.")
            )
    if found:
        errors.extend(found)
        return None
    assert taken_at is not None  # a missing time is in found
    return MarketRow(
        position=position,
        provider=provider,
        external_id=external_id,
        slug_hint=slug_hint,
        symbol=symbol,
        name=name or external_id,
        taken_at=taken_at,
        **values,
        **provider_values,
        provider_rank=rank,
        supply_unknown=supply_unknown,
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
    "provider_market_cap": "market_cap",
    "provider_fdv": "fully_diluted_valuation",
    "provider_rank": "market_cap_rank",
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
    "provider_market_cap": "quote.USD.market_cap",
    "provider_fdv": "quote.USD.fully_diluted_market_cap",
    "provider_rank": "cmc_rank",
}
CSV_KEYS = {name: name for name in (*CSV_HEADER.split(","), *CSV_OPTIONAL)} | {
    "taken_at": "last_updated"
}
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
    "provider_market_cap": "market_cap_usd",
    "provider_fdv": "fully_diluted_valuation_usd",
    "provider_rank": "market_cap_rank",
}


def _dotted(raw: dict[str, Any], key: str) -> Any:
    value: Any = raw
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parse(
    text: str, fmt: str, *, now: datetime | None = None
) -> tuple[list[MarketRow], list[RowError]]:
    """Parse a whole file of the given format into good rows and row errors."""
    errors: list[RowError] = []
    now = now or timezone.now()
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
                now=now,
                get=_dotted,
            )
            for i, raw in enumerate(items, 1)
        ]
    elif fmt in (Format.CSV, Format.HISTORY):
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        keys = HISTORY_KEYS if fmt == Format.HISTORY else CSV_KEYS
        required = {keys["id"], keys["price"], keys["taken_at"]}
        try:
            missing = required - set(reader.fieldnames or [])
        except csv.Error as exc:
            raise FormatError(f"Line 1 cannot be read as CSV: {exc}.") from exc
        if missing:
            raise FormatError(f"Missing column(s): {', '.join(sorted(missing))}.")
        provider = Provider.COINGECKO if fmt == Format.HISTORY else Provider.CSV
        rows = []
        try:
            for raw in reader:
                # reader.line_num, not a count of rows: blank lines are skipped.
                rows.append(
                    _row(
                        raw,
                        position=f"line {reader.line_num}",
                        provider=provider,
                        keys=keys,
                        errors=errors,
                        now=now,
                    )
                )
        except csv.Error as exc:  # a field past csv.field_size_limit, …
            raise FormatError(
                f"Line {reader.line_num} cannot be read as CSV: {exc}."
            ) from exc
    else:
        raise FormatError(
            f"Unknown format {fmt!r}; use one of {', '.join(Format.ALL)}."
        )
    return [row for row in rows if row is not None], errors
