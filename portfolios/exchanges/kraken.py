"""Kraken ledger CSV: one row per balance change, trade legs sharing a refid.

``fee`` is in the row's own asset: taken on top of a negative amount and out of
a positive one. A ``transfer`` with no subtype is how Kraken credits airdrops and
forks, so it is a reward; with a subtype it moves coins between Kraken's wallets.
"""

from __future__ import annotations

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

COLUMNS = (
    "txid",
    "refid",
    "time",
    "type",
    "subtype",
    "aclass",
    "asset",
    "amount",
    "fee",
    "balance",
)
REQUIRED = {"txid", "refid", "time", "type", "asset", "amount", "fee"}
TRADE = {"trade", "spend", "receive"}
# Kraken's own codes for what everyone else calls by its ticker.
CODES = {
    "XXBT": "BTC",
    "XBT": "BTC",
    "XETH": "ETH",
    "ETH2": "ETH",
    "XXDG": "DOGE",
    "XDG": "DOGE",
    "XLTC": "LTC",
    "XXRP": "XRP",
    "XXLM": "XLM",
    "XETC": "ETC",
    "XZEC": "ZEC",
    "XXMR": "XMR",
    "XREP": "REP",
    "XMLN": "MLN",
    "ZUSD": "USD",
    "ZEUR": "EUR",
    "ZGBP": "GBP",
    "ZCAD": "CAD",
    "ZJPY": "JPY",
    "ZAUD": "AUD",
}
# Staked (.S), opt-in rewards (.M), flexible (.F), bonded (.B, .P) and held
# (.HOLD) balances of a coin are still that coin.
SUFFIXES = {"S", "M", "F", "B", "P", "HOLD"}
Kind = Transaction.Kind


def matches(header: list[str]) -> bool:
    """Whether a CSV header is a Kraken ledger."""
    return REQUIRED <= set(header)


def ticker(code: str) -> str:
    """The usual ticker for a Kraken asset code: XXBT → BTC, ETH2.S → ETH."""
    base, dot, suffix = code.rpartition(".")
    if dot and suffix in SUFFIXES:
        code = base
    return CODES.get(code, code)


def read(text: str) -> Parsed:
    """Trades and moves of a Kraken ledger export, without the database."""
    parsed = Parsed()
    records = csv_rows(text, parsed.errors)
    if not records or not matches(list(header_index(records[0][1]))):
        raise ValueError(
            "Not a Kraken ledger: the header must be "
            + ",".join(f'"{name}"' for name in COLUMNS)
            + "."
        )
    column = header_index(records[0][1])
    if too_many(len(records) - 1, parsed.errors):
        return parsed
    trades: dict[str, Trade] = {}
    broken: set[str] = set()  # refids of trades with a bad leg, already reported
    for line, record in records[1:]:
        if not any(cell.strip() for cell in record):
            continue
        cells = {
            name: record[at] if at < len(record) else "" for name, at in column.items()
        }
        if not cells["txid"].strip():
            parsed.skipped.append(
                RowError(line, "txid", "No txid: Kraken's pending duplicate of a row.")
            )
            continue
        _row(line, cells, parsed, trades, broken)
    dropped = {id(trades[refid]) for refid in broken if refid in trades}
    parsed.entries = [e for e in parsed.entries if id(e) not in dropped]
    return parsed


def _row(
    line: int,
    cells: dict[str, str],
    parsed: Parsed,
    trades: dict[str, Trade],
    broken: set[str],
) -> None:
    errors: list[RowError] = []
    kind = cells["type"].strip().casefold()
    subtype = cells.get("subtype", "").strip().casefold()
    refid = cells["refid"].strip()
    if kind not in TRADE | {
        "deposit",
        "withdrawal",
        "staking",
        "earn",
        "transfer",
        "dividend",
    }:
        errors.append(RowError(line, "type", f"Unknown type “{shown(cells['type'])}”."))
    at = utc_time(cells["time"], "time", line, errors)
    code = symbol(cells["asset"], "asset", line, errors)
    amount = number(cells["amount"], "amount", line, errors)
    fee = number(cells["fee"] or "0", "fee", line, errors)
    if fee is not None and fee < 0:
        errors.append(RowError(line, "fee", "A fee cannot be negative."))
    if errors:
        parsed.errors.extend(errors)
        if kind in TRADE:
            broken.add(refid)
        return
    assert (
        at is not None and code is not None and amount is not None and fee is not None
    )
    coin = ticker(code)
    what = note("Kraken:", " ".join(filter(None, [kind, subtype])))
    if kind in TRADE:
        trade = trades.get(refid)
        if trade is None:
            trade = trades[refid] = Trade(
                line=line, at=at, note=what, given=[], received=[]
            )
            parsed.entries.append(trade)
        if amount < 0:
            trade.given.append(Leg(line, coin, -amount, "asset"))
        elif amount > 0:
            trade.received.append(Leg(line, coin, amount, "asset"))
        if fee:
            trade.fees.append(Leg(line, coin, fee, "asset"))
        return
    if (kind == "earn" and subtype != "reward") or (kind == "transfer" and subtype):
        parsed.skipped.append(RowError(line, "type", f"Internal move: {what}."))
        return
    if not amount:
        parsed.skipped.append(RowError(line, "amount", "Quantity rounds to 0."))
        return
    move_kind = {"deposit": Kind.TRANSFER_IN, "withdrawal": Kind.TRANSFER_OUT}.get(
        kind, Kind.REWARD
    )
    if (amount < 0) != (move_kind == Kind.TRANSFER_OUT):
        sign = "negative" if move_kind == Kind.TRANSFER_OUT else "positive"
        parsed.errors.append(RowError(line, "amount", f"A {kind} must be {sign}."))
        return
    if kind == "transfer":
        what = note("Kraken: transfer (airdrop or fork)")
    parsed.entries.append(
        Move(
            line=line,
            at=at,
            kind=move_kind,
            leg=Leg(line, coin, abs(amount), "asset"),
            note=what,
            coin_fee=fee,
        )
    )
