"""Binance "Transaction History" CSV: one row per balance change.

Rows of trade-leg operations sharing a UTC_Time and User_ID are one trade: a
positive Change was received, a negative one given, Fee rows are its fees.
"""

from __future__ import annotations

from datetime import datetime

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

COLUMNS = ("User_ID", "UTC_Time", "Account", "Operation", "Coin", "Change", "Remark")
TRADE = {
    "buy",
    "sell",
    "transaction buy",
    "transaction spend",
    "transaction sold",
    "transaction revenue",
    "transaction related",
    "small assets exchange bnb",
    "binance convert",
}
FEE = {"fee", "transaction fee"}
REWARD = {
    "staking rewards",
    "simple earn flexible interest",
    "simple earn locked rewards",
    "savings interest",
    "pos savings interest",
    "eth 2.0 staking rewards",
    "distribution",
    "airdrop assets",
}
INTERNAL = {
    "transfer between main and funding wallet",
    "simple earn flexible subscription",
    "simple earn flexible redemption",
    "simple earn locked subscription",
    "simple earn locked redemption",
    "savings purchase",
    "savings principal redemption",
    "staking purchase",
    "staking redemption",
    "main and funding account transfer",
}
Kind = Transaction.Kind
MOVES = {"deposit": Kind.TRANSFER_IN, "withdraw": Kind.TRANSFER_OUT}


def matches(header: list[str]) -> bool:
    """Whether a CSV header is Binance's transaction history."""
    return {"User_ID", "UTC_Time", "Operation", "Coin", "Change"} <= set(header)


def read(text: str) -> Parsed:
    """Trades and moves of a Binance transaction history, without the database."""
    parsed = Parsed()
    records = csv_rows(text, parsed.errors)
    if not records or not matches(list(header_index(records[0][1]))):
        raise ValueError(
            "Not a Binance transaction history: the header must be "
            f"{','.join(COLUMNS)}."
        )
    column = header_index(records[0][1])
    if too_many(len(records) - 1, parsed.errors):
        return parsed
    # Trade legs by (User_ID, UTC_Time), kept in the order their first leg appears.
    trades: dict[tuple[str, datetime], Trade] = {}
    operations: dict[tuple[str, datetime], list[str]] = {}
    broken: set[tuple[str, datetime]] = set()  # trades with a bad leg, reported
    for line, record in records[1:]:
        if not any(cell.strip() for cell in record):
            continue
        cells = {name: _cell(record, at) for name, at in column.items()}
        entry = _entry(line, cells, parsed, broken)
        if isinstance(entry, Move):
            parsed.entries.append(entry)
        elif entry is not None:
            key, operation, leg, is_fee = entry
            if key not in trades:
                trades[key] = Trade(
                    line=line, at=key[1], note="", given=[], received=[]
                )
                operations[key] = []
                parsed.entries.append(trades[key])
            trade = trades[key]
            if is_fee:
                trade.fees.append(leg)
            elif leg.quantity < 0:
                leg.quantity = -leg.quantity
                trade.given.append(leg)
            else:
                trade.received.append(leg)
            if operation not in operations[key]:
                operations[key].append(operation)
    for key, trade in trades.items():
        trade.note = note("Binance:", ", ".join(operations[key]))
    dropped = {id(trades[key]) for key in broken if key in trades}
    parsed.entries = [e for e in parsed.entries if id(e) not in dropped]
    return parsed


def _cell(record: list[str], at: int) -> str:
    return record[at] if at < len(record) else ""


def _entry(
    line: int,
    cells: dict[str, str],
    parsed: Parsed,
    broken: set[tuple[str, datetime]],
) -> Move | tuple[tuple[str, datetime], str, Leg, bool] | None:
    """A move, a trade leg keyed by its trade, or None (skipped or bad row).

    The key of a trade with a bad leg goes into ``broken``: the leg is reported,
    and the rest of its trade is not reported again as lopsided.
    """
    errors: list[RowError] = []
    operation = cells["Operation"].strip()
    key = operation.casefold()
    is_trade = key in TRADE or key in FEE
    internal = key in INTERNAL or key.startswith("transfer between")
    if not (is_trade or internal or key in REWARD or key in MOVES):
        errors.append(
            RowError(line, "Operation", f"Unknown operation “{shown(operation)}”.")
        )
    at = utc_time(cells["UTC_Time"], "UTC_Time", line, errors)
    coin = symbol(cells["Coin"], "Coin", line, errors)
    change = number(cells["Change"], "Change", line, errors)
    trade_key = (cells["User_ID"].strip(), at) if at is not None else None
    if errors:
        parsed.errors.extend(errors)
        if is_trade and trade_key is not None:
            broken.add(trade_key)
        return None
    assert trade_key is not None and at is not None
    assert coin is not None and change is not None
    if internal:
        parsed.skipped.append(
            RowError(line, "Operation", f"Internal move: {shown(operation)}.")
        )
        return None
    if not change:
        parsed.skipped.append(RowError(line, "Change", "Quantity rounds to 0."))
        return None
    leg = Leg(line, coin, change, "Coin")
    if is_trade:
        if key in FEE:
            leg.quantity = abs(change)
        return trade_key, operation, leg, key in FEE
    kind = MOVES.get(key, Kind.REWARD)
    if (change < 0) != (kind == Kind.TRANSFER_OUT):
        sign = "negative" if kind == Kind.TRANSFER_OUT else "positive"
        parsed.errors.append(
            RowError(line, "Change", f"A {shown(operation)} must be {sign}.")
        )
        return None
    leg.quantity = abs(change)
    return Move(line=line, at=at, kind=kind, leg=leg, note=note("Binance:", operation))
