"""Importers for the files people have: exchange histories and Ghostfolio exports.

``detect`` names a file's format from its header; ``parse`` reads it into ledger
rows for ``portfolios.services.record_transactions``. Each reader is pure (no
database); ``resolve`` then finds the assets and values the rows in a fixed
number of queries. The valuation and fee rules are in ``resolve``'s docstring.
"""

from __future__ import annotations

from portfolios.exchanges import binance, coinbase, ghostfolio, kraken
from portfolios.exchanges.legs import ExchangeImport, Parsed, csv_rows, header_index
from portfolios.exchanges.resolve import resolve

__all__ = ["FORMATS", "ExchangeImport", "detect", "parse"]

FORMATS = ("capsite", "binance", "coinbase", "kraken", "ghostfolio")
NAMES = {
    "binance": "Binance",
    "coinbase": "Coinbase",
    "kraken": "Kraken",
    "ghostfolio": "Ghostfolio",
}
CAPSITE_COLUMNS = {"executed_at", "asset", "kind", "quantity", "unit_price"}
READERS = {
    "binance": binance.read,
    "coinbase": coinbase.read,
    "kraken": kraken.read,
    "ghostfolio": ghostfolio.read,
}


def detect(text: str) -> str | None:
    """The format of a file from its header or content; None when unknown."""
    if ghostfolio.loads(text) is not None:
        return "ghostfolio"
    # The header is in the first lines: read no more of a large file than that.
    head = "\n".join(text.lstrip("\ufeff").splitlines()[: coinbase.PREAMBLE_LINES])
    records = csv_rows(head, [])
    if records:
        header = list(header_index(records[0][1]))
        if CAPSITE_COLUMNS <= {name.strip() for name in header}:
            return "capsite"
        if binance.matches(header):
            return "binance"
        if kraken.matches(header):
            return "kraken"
    if coinbase.header_line(records) is not None:
        return "coinbase"
    return None


def parse(text: str, fmt: str) -> ExchangeImport:
    """Ledger rows, errors and skipped rows of an exchange file in format ``fmt``.

    Raises ValueError only when ``fmt`` is not an exchange format or the file as
    a whole is not in it; every bad row is reported in ``errors`` instead.
    """
    if fmt not in READERS:
        raise ValueError(
            f"“{fmt}” is not an exchange format: one of {', '.join(READERS)}."
        )
    parsed: Parsed = READERS[fmt](text)
    return resolve(parsed, exchange=NAMES[fmt])
