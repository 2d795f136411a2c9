"""Turn the exchange readers' trades and moves into ledger rows: find each coin's
asset, and value what the file does not price at that UTC day's market price.

The rules, in one place:

- **USD is cash.** A trade against USD is a ``buy`` (or ``sell``) whose unit
  price is the USD exchanged ÷ the coin's quantity before fees; a USD fee is the
  row's fee. Moves of USD change nothing and are skipped. Any other currency is
  an error: no exchange rates are known.
- **Crypto for crypto** is a ``sell`` of each coin given and a ``buy`` of the
  coin received, at the same time. Each coin given is priced by the file (a
  Coinbase convert's spot price) or its market price that day; the value
  exchanged is X = Σ quantity given × its price − USD fee, and the received
  coin's unit price is X ÷ quantity received. When a given coin has no price
  (one coin given only), the received coin's market price prices X instead, and
  the given coin's price is (X + USD fee) ÷ quantity given. Neither: an error.
- **Fees** are valued at the trade's own prices. A fee in the coin given is
  added to the sell's quantity (the exchange debited it) and its value is the
  sell's fee; a fee in the coin received is taken from the buy's quantity (it
  was never credited) and its value is the buy's fee; a USD fee is the first
  sell's fee (crypto for crypto) or the row's fee (against USD). So the sells'
  proceeds equal the buy's cost: a trade moves no money in or out, and the fee
  lowers the gain or raises the cost as a tax report expects. A fee in a third
  coin (Binance's BNB) is a separate ``sell`` of that coin at its market price
  with a fee of its whole value: proceeds 0, a disposal for nothing.
- **Transfers and rewards** are valued at the file's USD price when it gives
  one, else at the day's market price (an error when there is none); a fee in
  the same coin is taken from an inflow or added to an outflow, and its value
  is the row's fee.
- A row whose quantity rounds to 0 at 18 places is skipped, with the reason.

Database reads are a fixed number of queries whatever the number of rows: the
assets by symbol, by CoinGecko id (two, Ghostfolio only), and one prices_on.
"""

from __future__ import annotations

from datetime import date
from decimal import localcontext

from django.db.models.functions import Upper

from capsite.text import shown
from portfolios.exchanges.legs import (
    FIAT,
    USD,
    ExchangeImport,
    Leg,
    Move,
    Parsed,
    Trade,
)
from portfolios.exchanges.trades import Out, legs, move_rows, trade_rows
from portfolios.imports import RowError
from valuations.models import Asset, Provider, ProviderId
from valuations.queries import prices_on

# Chunks of an IN (...) list: SQLite caps the parameters of one statement. Only a
# file naming more than this many distinct coins costs a second query.
CHUNK = 900


def resolve(parsed: Parsed, *, exchange: str) -> ExchangeImport:
    """Ledger rows for every entry of ``parsed``, with every error and skip.

    ``exchange`` names the source in notes ("Binance: fee").
    """
    result = ExchangeImport(errors=list(parsed.errors), skipped=list(parsed.skipped))
    symbols: set[str] = set()
    ids: set[str] = set()
    for entry in parsed.entries:
        if isinstance(entry, Move) and entry.coingecko_id is not None:
            ids.add(entry.coingecko_id)
        else:
            symbols |= {leg.symbol for leg in legs(entry) if leg.symbol not in FIAT}
    by_symbol = _assets_by_symbol(symbols)
    by_id = _assets_by_coingecko_id(ids)

    ready: list[tuple[Trade | Move, dict[str, Asset]]] = []
    wanted: set[tuple[int, date]] = set()
    for entry in parsed.entries:
        errors: list[RowError] = []
        assets: dict[str, Asset] = {}
        if isinstance(entry, Move) and entry.leg.symbol == USD:
            result.skipped.append(
                RowError(
                    entry.line,
                    entry.leg.field,
                    "USD is cash, not an asset: moving it changes nothing.",
                )
            )
            continue
        seen: set[str] = set()  # a coin is looked up, and reported, once a trade
        for leg in legs(entry):
            if leg.symbol in seen or leg.symbol == USD:
                continue
            seen.add(leg.symbol)
            if isinstance(entry, Move) and entry.coingecko_id is not None:
                asset = by_id.get(entry.coingecko_id)
                if asset is None:
                    errors.append(
                        RowError(
                            leg.line,
                            leg.field,
                            f"No asset with CoinGecko id {shown(entry.coingecko_id)}.",
                        )
                    )
            else:
                asset = _asset_for(leg, by_symbol, errors)
            if asset is not None:
                assets[leg.symbol] = asset
                wanted.add((asset.pk, entry.at.date()))
        if errors:
            result.errors.extend(errors)
        else:
            ready.append((entry, assets))

    prices = prices_on(wanted)
    for entry, assets in ready:
        try:
            # Enough digits for 22 + 18 digit quantities times prices, exactly.
            with localcontext(prec=80):
                if isinstance(entry, Trade):
                    out = trade_rows(entry, assets, prices, exchange)
                else:
                    out = move_rows(entry, assets, prices)
        except ArithmeticError as exc:  # a guard: inputs are bounded beforehand
            out = Out(
                [], [RowError(entry.line, "file", f"Cannot be valued: {exc}")], []
            )
        result.errors.extend(out.errors)
        result.skipped.extend(out.skipped)
        if not out.errors:
            for line, row in out.rows:
                result.lines.append(line)
                result.rows.append(row)
    # Read in two passes (file, then database): report in file order.
    result.errors.sort(key=lambda error: error.line)
    result.skipped.sort(key=lambda skip: skip.line)
    return result


def _assets_by_symbol(symbols: set[str]) -> dict[str, list[Asset]]:
    """Assets whose symbol matches, case-insensitively, keyed by upper-case symbol."""
    found: dict[str, list[Asset]] = {}
    ordered = sorted(symbols)
    for start in range(0, len(ordered), CHUNK):
        for asset in (
            Asset.objects.annotate(symbol_upper=Upper("symbol"))
            .filter(symbol_upper__in=ordered[start : start + CHUNK])
            .order_by("slug")
        ):
            found.setdefault(asset.symbol.upper(), []).append(asset)
    return found


def _assets_by_coingecko_id(ids: set[str]) -> dict[str, Asset]:
    """The asset of each CoinGecko id: a recorded provider id first, else the slug."""
    found: dict[str, Asset] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        found.update({a.slug: a for a in Asset.objects.filter(slug__in=chunk)})
        found.update(
            {
                p.external_id: p.asset
                for p in ProviderId.objects.filter(
                    provider=Provider.COINGECKO, external_id__in=chunk
                ).select_related("asset")
            }
        )
    return found


def _asset_for(
    leg: Leg, by_symbol: dict[str, list[Asset]], errors: list[RowError]
) -> Asset | None:
    if leg.symbol in FIAT:
        errors.append(
            RowError(
                leg.line,
                leg.field,
                f"{leg.symbol} is a currency: only USD is supported yet "
                "(no exchange rates are known).",
            )
        )
        return None
    candidates = by_symbol.get(leg.symbol, [])
    if not candidates:
        errors.append(
            RowError(leg.line, leg.field, f"No asset with symbol {leg.symbol}.")
        )
        return None
    if len(candidates) > 1:
        slugs = ", ".join(asset.slug for asset in candidates)
        errors.append(
            RowError(
                leg.line,
                leg.field,
                f"Symbol {leg.symbol} is ambiguous: it could be {slugs}.",
            )
        )
        return None
    return candidates[0]
