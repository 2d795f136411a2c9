"""What the exchange readers produce before any database read: trades, moves, and
the cell parsers they share (numbers, times, notes)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from capsite.text import shown, unstorable_character
from portfolios.amounts import time_error
from portfolios.imports import RowError
from valuations.fields import DECIMAL_PLACES, MAX_DIGITS

MAX_ROWS = 50_000
# What a ledger column holds: 22 digits before the point, 18 after.
INTEGER_DIGITS = MAX_DIGITS - DECIMAL_PLACES
STEP = Decimal(1).scaleb(-DECIMAL_PLACES)
USD = "USD"
# Currencies an exchange may quote in that are not coins: only USD is cash here,
# the others need exchange rates capsite does not have.
FIAT = frozenset(
    "USD EUR GBP AUD CAD CHF JPY CNY HKD SGD NZD KRW INR IDR PHP THB VND MYR TRY "
    "RUB UAH PLN CZK HUF RON BGN SEK NOK DKK ISK BRL ARS MXN CLP COP PEN NGN KES "
    "ZAR EGP AED SAR ILS".split()
)


@dataclass
class ExchangeImport:
    """Ledger rows read from an exchange's file, ready for record_transactions."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)


@dataclass
class Leg:
    """An amount of one coin (or USD) named on one line of a file; always > 0."""

    line: int
    symbol: str  # upper case, as the exchange names it after any code mapping
    quantity: Decimal
    field: str  # the column that named the coin, for errors


@dataclass
class Trade:
    """What one exchange order gave and received, with the fees it took.

    ``given`` quantities exclude fees taken in the given coin; ``received``
    quantities are what was credited before fees taken in the received coin.
    """

    line: int
    at: datetime
    note: str
    given: list[Leg]
    received: list[Leg]
    fees: list[Leg] = field(default_factory=list)
    given_price: Decimal | None = None  # the file's USD price of the given coin


@dataclass
class Move:
    """One file row that becomes one ledger row of ``kind``.

    ``quantity`` is the amount the row states; ``coin_fee`` (same coin) is taken
    from an inflow or added to an outflow. ``unit_price`` None: the market
    price of the day.
    """

    line: int
    at: datetime
    kind: str
    leg: Leg
    note: str
    unit_price: Decimal | None = None
    usd_fee: Decimal = Decimal(0)
    coin_fee: Decimal = Decimal(0)
    coingecko_id: str | None = None  # decides the asset when given (Ghostfolio)


@dataclass
class Parsed:
    """A file read without the database: entries in file order, and what was not."""

    entries: list[Trade | Move] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)


def number(
    raw: object, name: str, line: int, errors: list[RowError], *, money: bool = False
) -> Decimal | None:
    """A file's number as a Decimal rounded to the ledger's 18 places, or None
    (and an error) when it is not a number a ledger column can hold.

    ``money`` cells may carry ``$`` and thousands separators (Coinbase).
    """
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw).strip()
        if money:
            text = text.replace("$", "").replace(",", "").strip()
        if len(text) > 100:
            errors.append(RowError(line, name, f"“{shown(text)}” is not a number."))
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors.append(RowError(line, name, f"“{shown(text)}” is not a number."))
            return None
    if not value.is_finite():
        errors.append(RowError(line, name, f"“{shown(raw)}” is not a number."))
        return None
    if value and value.adjusted() >= INTEGER_DIGITS:
        errors.append(
            RowError(
                line,
                name,
                f"{shown(raw)} is too large (at most {INTEGER_DIGITS} digits "
                "before the point).",
            )
        )
        return None
    return value.quantize(STEP, rounding=ROUND_HALF_EVEN)


def utc_time(
    raw: object, name: str, line: int, errors: list[RowError]
) -> datetime | None:
    """A file's time as an aware UTC datetime; a time with no zone is UTC.

    Times later than now (plus the clock skew) or before 2009 are refused, as
    for every ledger entry.
    """
    text = str(raw).strip()
    if text.endswith(" UTC"):  # Coinbase: 2024-01-20 09:15:02 UTC
        text = text[:-4]
    try:
        when = parse_datetime(text[:64]) if len(text) <= 64 else None
    except (ValueError, OverflowError):  # 2024-02-30, hour 25, +25:00
        when = None
    if when is None:
        errors.append(RowError(line, name, f"“{shown(raw)}” is not a time."))
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
        problem = time_error(when, now=timezone.now())
    except OverflowError:  # a zone that pushes it past year 9999
        problem = "Not a time that can be stored."
    if problem:
        errors.append(RowError(line, name, problem))
        return None
    return when


def symbol(raw: object, name: str, line: int, errors: list[RowError]) -> str | None:
    """A coin's symbol, upper case, or None (and an error) when it cannot be one."""
    text = str(raw).strip()
    if not text:
        errors.append(RowError(line, name, "No coin given."))
        return None
    if problem := unstorable_character(text):
        errors.append(RowError(line, name, problem))
        return None
    if len(text) > 40:
        errors.append(RowError(line, name, f"“{shown(text)}” is not a coin symbol."))
        return None
    return text.upper()


def note(*parts: str) -> str:
    """A ledger note from an exchange's words, cut to the column's 200 characters."""
    text = " ".join(part.strip() for part in parts if part.strip())
    text = shown(text, limit=200)
    return text if len(text) <= 200 else text[:199] + "…"


def csv_rows(text: str, errors: list[RowError]) -> list[tuple[int, list[str]]]:
    """Every CSV record with the file line it ends on (quoted newlines counted).

    A file that stops being CSV part-way (a cell past the csv module's size
    limit) is one error at that line.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            records.append((reader.line_num, record))
            if len(records) > MAX_ROWS + 20:
                break
    except csv.Error as exc:
        errors.append(
            RowError(reader.line_num, "file", f"Cannot be read as CSV: {exc}.")
        )
    return records


def header_index(record: list[str]) -> dict[str, int]:
    """Column name → position, names stripped of spaces and a byte-order mark."""
    return {
        name.strip().lstrip("\ufeff"): position for position, name in enumerate(record)
    }


def too_many(count: int, errors: list[RowError]) -> bool:
    """Refuse a file past MAX_ROWS rows with one error, as the capsite import does."""
    if count > MAX_ROWS:
        errors.append(RowError(1, "file", f"At most {MAX_ROWS:,} rows per file."))
        return True
    return False
