"""Ghostfolio JSON export: its crypto activities become ledger rows.

Crypto is what Ghostfolio prices from CoinGecko (the symbol is a CoinGecko id)
or a Yahoo crypto pair (BTCUSD, BTC-USD). INTEREST and DIVIDEND on a coin are a
reward of ``quantity`` coins at ``unitPrice`` (the market price when it is 0).
Positions are 1-based activity numbers.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from capsite.text import shown, unstorable_character
from portfolios.exchanges.legs import (
    Leg,
    Move,
    Parsed,
    note,
    number,
    symbol,
    too_many,
    utc_time,
)
from portfolios.imports import RowError
from portfolios.models import Transaction

Kind = Transaction.Kind
KINDS = {
    "BUY": Kind.BUY,
    "SELL": Kind.SELL,
    "INTEREST": Kind.REWARD,
    "DIVIDEND": Kind.REWARD,
}
NOT_IMPORTED = {"FEE", "ITEM", "LIABILITY"}
# Yahoo quotes a coin against a currency: BTC-USD, or BTCUSD as Ghostfolio stores it.
YAHOO_PAIR = re.compile(r"^([A-Z0-9]{2,15})-?(USD|EUR|GBP|CHF|JPY|CAD|AUD)$")


def loads(text: str) -> dict[str, Any] | None:
    """The export as a dict when ``text`` is a Ghostfolio export, else None."""
    if not text.lstrip("\ufeff \t\r\n").startswith("{"):
        return None
    try:
        # Decimals throughout: 0.1 stays 0.1, and a 5,000-digit integer is no error.
        data = json.loads(text.lstrip("\ufeff"), parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError):
        return None
    if isinstance(data, dict) and isinstance(data.get("activities"), list):
        return data
    return None


def read(text: str) -> Parsed:
    """The crypto activities of a Ghostfolio export, without the database."""
    data = loads(text)
    if data is None:
        raise ValueError(
            "Not a Ghostfolio export: a JSON object with an “activities” list."
        )
    parsed = Parsed()
    activities = data["activities"]
    if too_many(len(activities), parsed.errors):
        return parsed
    for position, activity in enumerate(activities, 1):
        if not isinstance(activity, dict):
            parsed.errors.append(RowError(position, "activity", "Not an object."))
            continue
        _activity(position, activity, parsed)
    return parsed


def _text(activity: dict[str, Any], name: str) -> str:
    value = activity.get(name)
    return value.strip() if isinstance(value, str) else ""


def _activity(position: int, activity: dict[str, Any], parsed: Parsed) -> None:
    kind = _text(activity, "type").upper()
    source = _text(activity, "dataSource").upper()
    raw_symbol = _text(activity, "symbol")
    if problem := unstorable_character(raw_symbol):
        parsed.errors.append(RowError(position, "symbol", problem))
        return
    if kind in NOT_IMPORTED:
        parsed.skipped.append(
            RowError(position, "type", f"{kind} activities are not imported.")
        )
        return
    coingecko_id: str | None = None
    pair = YAHOO_PAIR.match(raw_symbol.upper()) if source == "YAHOO" else None
    if source == "COINGECKO" and raw_symbol:
        coingecko_id = raw_symbol
    elif pair is None:
        what = f"{source or 'no dataSource'} {raw_symbol or 'no symbol'}"
        parsed.skipped.append(
            RowError(position, "symbol", f"Not a crypto asset ({shown(what)}).")
        )
        return
    errors: list[RowError] = []
    if kind not in KINDS:
        errors.append(RowError(position, "type", f"Unknown type “{shown(kind)}”."))
    currency = _text(activity, "currency").upper()
    quoted = pair.group(2) if pair is not None else "USD"
    if currency != "USD" or quoted != "USD":
        shown_currency = currency if currency != "USD" else quoted
        errors.append(
            RowError(
                position,
                "currency",
                f"Prices in {shown(shown_currency or 'no currency')}: "
                "only USD is supported yet (no exchange rates are known).",
            )
        )
    at = utc_time(activity.get("date", ""), "date", position, errors)
    quantity = number(activity.get("quantity"), "quantity", position, errors)
    unit_price = number(activity.get("unitPrice"), "unitPrice", position, errors)
    fee = number(activity.get("fee", 0), "fee", position, errors)
    for name, value in (
        ("quantity", quantity),
        ("unitPrice", unit_price),
        ("fee", fee),
    ):
        if value is not None and value < 0:
            errors.append(RowError(position, name, "Cannot be negative."))
    coin = (
        symbol(pair.group(1), "symbol", position, errors)
        if pair is not None
        else raw_symbol.upper()
    )
    if len(raw_symbol) > 200:
        errors.append(RowError(position, "symbol", "Longer than 200 characters."))
    if errors:
        parsed.errors.extend(errors)
        return
    assert at is not None and quantity is not None and unit_price is not None
    assert fee is not None and coin is not None
    if not quantity:
        parsed.skipped.append(RowError(position, "quantity", "Quantity rounds to 0."))
        return
    comment = _text(activity, "comment")
    parsed.entries.append(
        Move(
            line=position,
            at=at,
            kind=KINDS[kind],
            leg=Leg(position, coin, quantity, "symbol"),
            note=note(f"Ghostfolio: {kind}", comment),
            # A reward at 0 is worth the market price of its day.
            unit_price=unit_price if unit_price or kind in ("BUY", "SELL") else None,
            usd_fee=fee,
            coingecko_id=coingecko_id,
        )
    )
