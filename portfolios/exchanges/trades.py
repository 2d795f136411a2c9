"""Ledger rows from one trade or move: the valuation rules of resolve's docstring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from capsite.text import shown
from portfolios.exchanges.legs import INTEGER_DIGITS, STEP, USD, Leg, Move, Trade
from portfolios.imports import RowError
from portfolios.models import Transaction
from valuations.models import Asset

ZERO = Decimal(0)
Kind = Transaction.Kind
Prices = dict[tuple[int, date], Decimal]


@dataclass
class _Coin:
    """One coin of a trade, its legs merged: total quantity and the first leg."""

    quantity: Decimal
    leg: Leg


@dataclass
class Out:
    """What one entry makes: rows with their lines, errors and skipped rows."""

    rows: list[tuple[int, dict[str, Any]]]
    errors: list[RowError]
    skipped: list[RowError]


def legs(entry: Trade | Move) -> list[Leg]:
    """Every coin amount an entry names: its assets are looked up from these."""
    if isinstance(entry, Move):
        return [entry.leg]
    return [*entry.given, *entry.received, *entry.fees]


def _merge(parts: list[Leg]) -> dict[str, _Coin]:
    coins: dict[str, _Coin] = {}
    for leg in parts:
        if leg.symbol in coins:
            coins[leg.symbol].quantity += leg.quantity
        else:
            coins[leg.symbol] = _Coin(leg.quantity, leg)
    return coins


def row(
    kind: str,
    asset: Asset,
    quantity: Decimal,
    unit_price: Decimal,
    fee: Decimal,
    entry: Trade | Move,
    note: str,
) -> dict[str, Any]:
    """A row for record_transactions, amounts rounded to the ledger's 18 places."""
    return {
        "asset": asset,
        "kind": kind,
        "quantity": quantity.quantize(STEP, rounding=ROUND_HALF_EVEN),
        "unit_price": unit_price.quantize(STEP, rounding=ROUND_HALF_EVEN),
        "fee": fee.quantize(STEP, rounding=ROUND_HALF_EVEN),
        "executed_at": entry.at,
        "note": note,
    }


def finish(out: Out, line: int, field: str, made: dict[str, Any]) -> None:
    """Add a row to ``out``, or the reason it cannot be one."""
    if made["quantity"] < 0:
        out.errors.append(
            RowError(
                line, field, "The fee is larger than the amount it was taken from."
            )
        )
        return
    if not made["quantity"]:
        out.skipped.append(RowError(line, "quantity", "Quantity rounds to 0."))
        return
    for name in ("quantity", "unit_price", "fee"):
        value = made[name]
        if value and value.adjusted() >= INTEGER_DIGITS:
            out.errors.append(
                RowError(line, name, f"{shown(value)} is too large to store.")
            )
            return
    out.rows.append((line, made))


def no_price(entry: Trade | Move, leg: Leg, symbols: str, what: str) -> RowError:
    return RowError(
        leg.line,
        leg.field,
        f"No market price for {symbols} on {entry.at.date().isoformat()}: "
        f"{what} cannot be valued.",
    )


def move_rows(move: Move, assets: dict[str, Asset], prices: Prices) -> Out:
    """The one row of a transfer, reward, or buy or sell the file prices in USD."""
    out = Out([], [], [])
    leg = move.leg
    asset = assets[leg.symbol]
    if move.kind in Transaction.INFLOWS:
        quantity = leg.quantity - move.coin_fee
    else:
        quantity = leg.quantity + move.coin_fee
    price = move.unit_price
    # Buys and sells carry their own price, even 0; transfers and rewards without
    # one are worth the market price of their day.
    if price is None or (not price and move.kind not in (Kind.BUY, Kind.SELL)):
        price = prices.get((asset.pk, move.at.date()))
        if price is None:
            out.errors.append(no_price(move, leg, leg.symbol, "it"))
            return out
    fee = move.usd_fee + move.coin_fee * price
    finish(
        out,
        move.line,
        leg.field,
        row(move.kind, asset, quantity, price, fee, move, move.note),
    )
    return out


def trade_rows(
    trade: Trade, assets: dict[str, Asset], prices: Prices, exchange: str
) -> Out:
    """The rows of one trade: sells of what was given, a buy of what was received,
    and a sell for nothing of each fee paid in a third coin."""
    out = Out([], [], [])
    given, received, fees = (
        _merge(trade.given),
        _merge(trade.received),
        _merge(trade.fees),
    )
    if problem := _shape_problem(given, received):
        named = legs(trade)
        field = named[0].field if named else "file"
        out.errors.append(RowError(trade.line, field, problem))
        return out
    [(r_symbol, r_coin)] = received.items()
    usd_fee = fees.pop(USD).quantity if USD in fees else ZERO
    r_fee = fees.pop(r_symbol).quantity if r_symbol in fees else ZERO
    g_fees = {
        symbol: fees.pop(symbol).quantity if symbol in fees else ZERO
        for symbol in given
    }
    day = trade.at.date()

    def market(symbol: str) -> Decimal | None:
        return prices.get((assets[symbol].pk, day))

    if USD in given:  # bought with cash
        r_price = given[USD].quantity / r_coin.quantity
        finish(
            out,
            r_coin.leg.line,
            r_coin.leg.field,
            row(
                Kind.BUY,
                assets[r_symbol],
                r_coin.quantity - r_fee,
                r_price,
                usd_fee + r_fee * r_price,
                trade,
                trade.note,
            ),
        )
    elif r_symbol == USD:  # sold for cash
        [(g_symbol, g_coin)] = given.items()
        g_price = r_coin.quantity / g_coin.quantity
        finish(
            out,
            g_coin.leg.line,
            g_coin.leg.field,
            row(
                Kind.SELL,
                assets[g_symbol],
                g_coin.quantity + g_fees[g_symbol],
                g_price,
                usd_fee + g_fees[g_symbol] * g_price,
                trade,
                trade.note,
            ),
        )
    else:
        _crypto_for_crypto(
            out, trade, given, r_symbol, r_coin, g_fees, r_fee, usd_fee, assets, market
        )
    for symbol, coin in fees.items():  # a fee in a third coin: disposed of for nothing
        price = market(symbol)
        if price is None:
            out.errors.append(no_price(trade, coin.leg, symbol, "the fee"))
            continue
        finish(
            out,
            coin.leg.line,
            coin.leg.field,
            row(
                Kind.SELL,
                assets[symbol],
                coin.quantity,
                price,
                coin.quantity * price,
                trade,
                f"{exchange}: fee",
            ),
        )
    return out


def _shape_problem(given: dict[str, _Coin], received: dict[str, _Coin]) -> str | None:
    """Why a trade's legs cannot be one trade; None if they can."""
    if not given:
        return "A trade that gives nothing: a leg is missing."
    if not received:
        return "A trade that receives nothing: a leg is missing."
    if both := sorted(set(given) & set(received)):
        return f"{', '.join(both)} both given and received at once."
    if len(received) > 1:
        return (
            f"Several coins received at once ({', '.join(sorted(received))}): "
            "cannot tell the trades apart."
        )
    if USD in given and len(given) > 1:
        return "USD and coins given at once: cannot tell the trades apart."
    if USD in received and len(given) > 1:
        return "Several coins sold for USD at once: cannot tell the trades apart."
    return None


def _crypto_for_crypto(
    out: Out,
    trade: Trade,
    given: dict[str, _Coin],
    r_symbol: str,
    r_coin: _Coin,
    g_fees: dict[str, Decimal],
    r_fee: Decimal,
    usd_fee: Decimal,
    assets: dict[str, Asset],
    market: Callable[[str], Decimal | None],
) -> None:
    """A sell of each coin given and a buy of the coin received, worth the same."""
    g_prices: dict[str, Decimal | None] = {
        symbol: (
            trade.given_price
            if trade.given_price is not None and len(given) == 1
            else market(symbol)
        )
        for symbol in given
    }
    r_price: Decimal | None
    if all(price is not None for price in g_prices.values()):
        value = (
            sum(
                (
                    coin.quantity * (g_prices[symbol] or ZERO)
                    for symbol, coin in given.items()
                ),
                ZERO,
            )
            - usd_fee
        )
        r_price = value / r_coin.quantity
    elif len(given) == 1 and (r_price := market(r_symbol)) is not None:
        [(g_symbol, g_coin)] = given.items()
        value = r_coin.quantity * r_price
        g_prices[g_symbol] = (value + usd_fee) / g_coin.quantity
    else:
        missing = [s for s, price in g_prices.items() if price is None]
        if len(given) == 1:
            missing.append(r_symbol)
        first = given[missing[0]].leg
        out.errors.append(no_price(trade, first, " or ".join(missing), "the trade"))
        return
    if value < 0:
        out.errors.append(
            RowError(trade.line, r_coin.leg.field, "The fees exceed the trade's value.")
        )
        return
    for position, (symbol, coin) in enumerate(given.items()):
        price = g_prices[symbol] or ZERO
        fee = g_fees[symbol] * price + (usd_fee if position == 0 else ZERO)
        finish(
            out,
            coin.leg.line,
            coin.leg.field,
            row(
                Kind.SELL,
                assets[symbol],
                coin.quantity + g_fees[symbol],
                price,
                fee,
                trade,
                trade.note,
            ),
        )
    finish(
        out,
        r_coin.leg.line,
        r_coin.leg.field,
        row(
            Kind.BUY,
            assets[r_symbol],
            r_coin.quantity - r_fee,
            r_price,
            r_fee * r_price,
            trade,
            trade.note,
        ),
    )
