"""Coinbase transaction history CSV: a few preamble lines, then one row per
transaction with its USD spot price, subtotal, total and fees.

Buys and sells are recorded at the spot price (the subtotal ÷ quantity when no
spot price is given) with the fees as the row's fee. A Convert's coin received
is read from its Notes ("Converted 0.5 ETH to 1,000.25 USDC").
"""

from __future__ import annotations

import re
from decimal import Decimal

from capsite.text import shown
from portfolios.exchanges.legs import (
    Leg,
    Move,
    Parsed,
    Trade,
    csv_rows,
    header_index,
    note,
    number,
    symbol,
    too_many,
    utc_time,
)
from portfolios.imports import RowError
from portfolios.models import Transaction

REQUIRED = {"Timestamp", "Transaction Type", "Asset", "Quantity Transacted"}
# Older exports say "Spot Price …", newer ones "Price …".
PRICE_CURRENCY = ("Spot Price Currency", "Price Currency")
PRICE = ("Spot Price at Transaction", "Price at Transaction")
TOTAL = "Total (inclusive of fees and/or spread)"
FEES = "Fees and/or Spread"
Kind = Transaction.Kind
TRADES = {
    "buy": Kind.BUY,
    "advanced trade buy": Kind.BUY,
    "sell": Kind.SELL,
    "advanced trade sell": Kind.SELL,
}
MOVES = {
    "send": Kind.TRANSFER_OUT,
    "receive": Kind.TRANSFER_IN,
    "deposit": Kind.TRANSFER_IN,
    "withdrawal": Kind.TRANSFER_OUT,
    "rewards income": Kind.REWARD,
    "staking income": Kind.REWARD,
    "learning reward": Kind.REWARD,
    "inflation reward": Kind.REWARD,
    "coinbase earn": Kind.REWARD,
}
# Moves between a user's own Coinbase wallets.
INTERNAL = {
    "pro deposit",
    "pro withdrawal",
    "exchange deposit",
    "exchange withdrawal",
    "retail staking transfer",
    "retail unstaking transfer",
}
CONVERTED = re.compile(
    r"Converted\s+([\d.,]+)\s+(\S+)\s+to\s+([\d.,]+)\s+(\S+)", re.IGNORECASE
)
PREAMBLE_LINES = 20


def header_line(records: list[tuple[int, list[str]]]) -> int | None:
    """The position of the header among the first records, None if there is none."""
    for position, (_, record) in enumerate(records[:PREAMBLE_LINES]):
        if REQUIRED <= set(header_index(record)):
            return position
    return None


def read(text: str) -> Parsed:
    """Trades and moves of a Coinbase transaction history, without the database.

    Positions are file lines, the preamble counted.
    """
    parsed = Parsed()
    records = csv_rows(text, parsed.errors)
    start = header_line(records)
    if start is None:
        raise ValueError(
            "Not a Coinbase transaction history: no header with "
            + ", ".join(sorted(REQUIRED))
            + " in its first lines."
        )
    column = header_index(records[start][1])
    if too_many(len(records) - start - 1, parsed.errors):
        return parsed
    for line, record in records[start + 1 :]:
        if not any(cell.strip() for cell in record):
            continue
        cells = {
            name: record[at] if at < len(record) else "" for name, at in column.items()
        }
        _row(line, cells, parsed)
    return parsed


def _first(cells: dict[str, str], names: tuple[str, ...]) -> tuple[str, str]:
    """(column name, value) of the first of ``names`` the file has."""
    for name in names:
        if name in cells:
            return name, cells[name]
    return names[0], ""


def _row(line: int, cells: dict[str, str], parsed: Parsed) -> None:
    errors: list[RowError] = []
    kind_text = cells["Transaction Type"].strip()
    kind = kind_text.casefold()
    if (
        kind not in TRADES
        and kind not in MOVES
        and kind not in INTERNAL
        and kind != "convert"
    ):
        errors.append(
            RowError(line, "Transaction Type", f"Unknown type “{shown(kind_text)}”.")
        )
    at = utc_time(cells["Timestamp"], "Timestamp", line, errors)
    coin = symbol(cells["Asset"], "Asset", line, errors)
    quantity = number(cells["Quantity Transacted"], "Quantity Transacted", line, errors)
    currency_name, currency = _first(cells, PRICE_CURRENCY)
    currency = currency.strip().upper()
    if currency and currency != "USD":
        errors.append(
            RowError(
                line,
                currency_name,
                f"Prices in {shown(currency)}: only USD is supported yet "
                "(no exchange rates are known).",
            )
        )
    price_name, price_text = _first(cells, PRICE)
    price = _money(price_text, price_name, line, errors)
    fees = _money(cells.get(FEES, ""), FEES, line, errors)
    subtotal = _money(cells.get("Subtotal", ""), "Subtotal", line, errors)
    if errors:
        parsed.errors.extend(errors)
        return
    assert at is not None and coin is not None and quantity is not None
    quantity = abs(quantity)  # newer exports sign sells and sends
    what = note("Coinbase:", kind_text)
    if kind in INTERNAL:
        parsed.skipped.append(
            RowError(line, "Transaction Type", f"Internal move: {shown(kind_text)}.")
        )
        return
    if not quantity:
        parsed.skipped.append(
            RowError(line, "Quantity Transacted", "Quantity rounds to 0.")
        )
        return
    leg = Leg(line, coin, quantity, "Asset")
    usd_fee = abs(fees or Decimal(0))
    if kind == "convert":
        received = _converted(cells.get("Notes", ""), line, parsed.errors)
        if received is not None:
            parsed.entries.append(
                Trade(
                    line=line,
                    at=at,
                    note=what,
                    given=[leg],
                    received=[received],
                    fees=[Leg(line, "USD", usd_fee, FEES)] if usd_fee else [],
                    given_price=price or None,
                )
            )
        return
    if kind in TRADES:
        unit_price = price
        if not unit_price and subtotal:
            unit_price = abs(subtotal) / quantity
        if unit_price is None:
            parsed.errors.append(
                RowError(line, price_name, "No price: a buy or sell needs one.")
            )
            return
        parsed.entries.append(
            Move(
                line=line,
                at=at,
                kind=TRADES[kind],
                leg=leg,
                note=what,
                unit_price=abs(unit_price),
                usd_fee=usd_fee,
            )
        )
        return
    parsed.entries.append(
        Move(
            line=line,
            at=at,
            kind=MOVES[kind],
            leg=leg,
            note=what,
            unit_price=abs(price) if price else None,
            usd_fee=usd_fee,
        )
    )


def _money(raw: str, name: str, line: int, errors: list[RowError]) -> Decimal | None:
    """A money cell ("$42,000.00"), None when empty."""
    if not raw.strip():
        return None
    return number(raw, name, line, errors, money=True)


def _converted(notes: str, line: int, errors: list[RowError]) -> Leg | None:
    """The coin a Convert received, from its Notes."""
    found = CONVERTED.search(notes[:500])
    if found is None:
        errors.append(
            RowError(
                line,
                "Notes",
                "A Convert's Notes must say “Converted 0.5 ETH to 1,000.25 USDC”.",
            )
        )
        return None
    bad: list[RowError] = []
    quantity = number(found.group(3), "Notes", line, bad, money=True)
    coin = symbol(found.group(4), "Notes", line, bad)
    if bad or quantity is None or coin is None:
        errors.extend(bad)
        return None
    if not quantity:
        errors.append(RowError(line, "Notes", "A Convert that received nothing."))
        return None
    return Leg(line, coin, quantity, "Notes")
