"""Every importer fed random and hostile rows: a reported bad row or a clean
import, never another exception and never a partial write (issue: hostile input).

Markets (CoinGecko and CoinMarketCap JSON, capsite CSV, the history CSV, which
the live feed also goes through), unlock schedules and transaction ledgers.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from portfolios.imports import COLUMNS, import_transactions
from portfolios.models import Transaction
from tests.factories import AssetFactory, PortfolioFactory
from valuations.imports import (
    CSV_HEADER,
    Format,
    FormatError,
    import_markets,
    import_unlocks,
)
from valuations.imports.formats import COINGECKO_KEYS, HISTORY_KEYS
from valuations.models import Asset, ImportRun, MarketSnapshot, ProviderId, SupplyUnlock

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE = [
    "",
    " ",
    "\x00",
    "bit\x00coin",
    "\ud800",
    "\x1b[31m",
    "é",
    "x" * 300,
    "1e999999",
    "-1e999999",
    "1e-999999",
    "NaN",
    "-Infinity",
    "-0",
    "0",
    "1" * 70,
    "0." + "1" * 70,
    "2024-02-30T00:00:00Z",
    "2024-01-01T25:00:00Z",
    "2024-01-01T00:00:00+25:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+00:00",
    "2099-01-01T00:00:00Z",
    "2024-01-20T21:29:10.187Z",
    "bitcoin",
    "btc",
]
texts = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))
numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.none(),
)
json_values = st.one_of(
    numbers,
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _market_state() -> tuple[int, int, int]:
    return (
        Asset.objects.count(),
        MarketSnapshot.objects.count(),
        ProviderId.objects.count(),
    )


def _check_market_import(text: str, fmt: str) -> None:
    before, runs = _market_state(), ImportRun.objects.count()
    try:
        report = import_markets(text, fmt=fmt, source="fuzz", triggered_by="fuzz")
    except FormatError:
        assert _market_state() == before  # the file as a whole was refused
        assert ImportRun.objects.count() == runs
        return
    assert ImportRun.objects.count() == runs + 1
    if report.errors:
        assert not report.applied
        assert _market_state() == before
    else:
        assert report.applied


def _coingecko_rows(keys: dict[str, str]) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {},
        optional={column: json_values for column in keys.values()},
    )


@FUZZ
@given(rows=st.lists(_coingecko_rows(COINGECKO_KEYS), min_size=1, max_size=4))
def test_coingecko_json_never_crashes_or_half_applies(rows):
    _check_market_import(json.dumps(rows), Format.COINGECKO)


@FUZZ
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "id": json_values,
                "slug": json_values,
                "symbol": json_values,
                "name": json_values,
                "last_updated": json_values,
                "circulating_supply": json_values,
                "total_supply": json_values,
                "max_supply": json_values,
                "cmc_rank": json_values,
                "quote": st.fixed_dictionaries(
                    {},
                    optional={
                        "USD": st.dictionaries(
                            st.sampled_from(
                                [
                                    "price",
                                    "volume_24h",
                                    "market_cap",
                                    "fully_diluted_market_cap",
                                ]
                            ),
                            json_values,
                        )
                    },
                ),
            },
        ),
        min_size=1,
        max_size=4,
    ),
    wrapped=st.booleans(),
)
def test_coinmarketcap_json_never_crashes_or_half_applies(rows, wrapped):
    AssetFactory(slug="bitcoin", symbol="btc", name="Bitcoin")
    _check_market_import(
        json.dumps({"data": rows} if wrapped else rows), Format.COINMARKETCAP
    )


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    try:
        writer.writerows(rows)
    except csv.Error:
        assume(False)  # a cell the csv module itself cannot write
    return out.getvalue()


def _csv_rows(columns: int) -> st.SearchStrategy[list[list[str]]]:
    cell = st.one_of(texts, numbers.map(lambda v: "" if v is None else str(v)))
    return st.lists(st.lists(cell, min_size=columns, max_size=columns), max_size=4)


@FUZZ
@given(rows=_csv_rows(len(CSV_HEADER.split(","))))
def test_capsite_csv_never_crashes_or_half_applies(rows):
    _check_market_import(_csv(CSV_HEADER.split(","), rows), Format.CSV)


@FUZZ
@given(rows=_csv_rows(len(HISTORY_KEYS)))
def test_history_csv_never_crashes_or_half_applies(rows):
    _check_market_import(_csv(list(HISTORY_KEYS.values()), rows), Format.HISTORY)


@FUZZ
@given(rows=_csv_rows(4))
def test_unlock_csv_never_crashes_or_half_applies(rows):
    AssetFactory(slug="bitcoin")
    before = SupplyUnlock.objects.count()
    try:
        report = import_unlocks(_csv(["asset", "date", "amount", "note"], rows))
    except FormatError:
        assert SupplyUnlock.objects.count() == before
        return
    if report.errors:
        assert SupplyUnlock.objects.count() == before
    assert report.run is not None


@FUZZ
@given(rows=_csv_rows(len(COLUMNS)))
def test_transaction_csv_never_crashes_or_half_applies(rows):
    coin = AssetFactory(slug="coin", price=Decimal("10"))
    portfolio = PortfolioFactory()
    # Some rows are plausible, so the ledger side is reached too.
    rows = [
        [row[0], coin.slug, "buy", row[3], row[4], row[5], row[6]] if i % 2 else row
        for i, row in enumerate(rows)
    ]

    report = import_transactions(portfolio=portfolio, text=_csv(COLUMNS, rows))

    written = Transaction.objects.filter(portfolio=portfolio).count()
    assert written == (0 if report.errors else report.created)
    if not report.errors:
        assert report.created == len(rows)
