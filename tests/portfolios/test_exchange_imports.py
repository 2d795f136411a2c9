"""Exchange histories and Ghostfolio exports read into ledger rows.

Every expected figure below is worked out by hand from the sample files in
tests/portfolios/data and the market prices each test creates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from portfolios import services
from portfolios.exchanges import FORMATS, ExchangeImport, detect, parse
from portfolios.exchanges.kraken import ticker
from tests.factories import AssetFactory, MarketSnapshotFactory
from valuations.models import Asset, Provider, ProviderId

DATA = Path(__file__).parent / "data"
D = Decimal
BINANCE_HEADER = "User_ID,UTC_Time,Account,Operation,Coin,Change,Remark"
KRAKEN_HEADER = (
    '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"'
)
COINS = [
    ("bitcoin", "btc", "Bitcoin"),
    ("ethereum", "eth", "Ethereum"),
    ("tether", "usdt", "Tether"),
    ("binancecoin", "bnb", "BNB"),
    ("cardano", "ada", "Cardano"),
    ("dogecoin", "doge", "Dogecoin"),
    ("usd-coin", "usdc", "USDC"),
    ("polkadot", "dot", "Polkadot"),
    ("solana", "sol", "Solana"),
    ("the-graph", "grt", "The Graph"),
]


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.fixture
def coins(db) -> dict[str, Asset]:
    """The assets the sample files trade, by upper-case symbol (stored lower case)."""
    return {
        symbol.upper(): AssetFactory(slug=slug, symbol=symbol, name=name)
        for slug, symbol, name in COINS
    }


def _prices(coins: dict[str, Asset], *quotes: tuple[str, str, str]) -> None:
    """Market snapshots at noon UTC: (symbol, day, price)."""
    for symbol, day, price in quotes:
        MarketSnapshotFactory(
            asset=coins[symbol],
            taken_at=datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC),
            price=D(price),
        )


def _rows(
    result: ExchangeImport,
) -> list[tuple[int, str, str, Decimal, Decimal, Decimal]]:
    return [
        (
            line,
            row["kind"],
            row["asset"].symbol.upper(),
            row["quantity"],
            row["unit_price"],
            row["fee"],
        )
        for line, row in zip(result.lines, result.rows, strict=True)
    ]


def _where(report: list) -> list[tuple[int, str]]:
    return sorted((item.line, item.field) for item in report)


def _message(result: ExchangeImport, line: int, field: str) -> str:
    [found] = [e for e in result.errors if (e.line, e.field) == (line, field)]
    return found.message


# Binance ---------------------------------------------------------------------


def test_binance_history_becomes_trades_rewards_and_transfers(coins):
    _prices(
        coins,
        ("USDT", "2024-01-05", "1"),
        ("USDT", "2024-01-10", "1"),
        ("BNB", "2024-01-10", "300"),
        ("USDT", "2024-01-12", "1"),
        ("USDT", "2024-01-17", "1"),
        ("BTC", "2024-01-20", "43500"),
        ("ADA", "2024-01-22", "0.5"),
        ("DOGE", "2024-01-22", "0.08"),
        ("ETH", "2024-01-25", "2300"),
        ("BTC", "2024-01-26", "41000"),
        ("USDC", "2024-01-27", "1"),  # no ETH price that day: the USDC side prices it
    )

    result = parse(_text("binance.csv"), "binance")

    assert result.errors == []
    assert _rows(result) == [
        (2, "transfer_in", "USDT", D("1000"), D("1"), D("0")),
        # Two fills of one order: 420 USDT (1 each) for 0.01 BTC → 42,000 a BTC;
        # the BNB fee is disposed of for nothing at 300: fee 0.0012 × 300 = 0.36.
        (4, "sell", "USDT", D("420"), D("1"), D("0")),
        (3, "buy", "BTC", D("0.01"), D("42000"), D("0")),
        (7, "sell", "BNB", D("0.0012"), D("300"), D("0.36")),
        # 1,100 USDT for 0.5 ETH → 2,200; the 0.0005 ETH fee was never credited:
        # 0.4995 ETH bought, fee 0.0005 × 2,200 = 1.1; cost 0.4995 × 2200 + 1.1 = 1,100.
        (9, "sell", "USDT", D("1100"), D("1"), D("0")),
        (8, "buy", "ETH", D("0.4995"), D("2200"), D("1.1")),
        (14, "reward", "USDT", D("0.05"), D("1"), D("0")),
        # 0.003 BTC × 43,500 = 130.5 for 130.5 USDT → 1 each; fee 0.1305 USDT.
        (16, "sell", "BTC", D("0.003"), D("43500"), D("0")),
        (17, "buy", "USDT", D("130.3695"), D("1"), D("0.1305")),
        # Dust: 1.5 × 0.5 + 20 × 0.08 = 2.35 for 0.0047 BNB → 500 a BNB.
        (19, "sell", "ADA", D("1.5"), D("0.5"), D("0")),
        (20, "sell", "DOGE", D("20"), D("0.08"), D("0")),
        (21, "buy", "BNB", D("0.0047"), D("500"), D("0")),
        (22, "reward", "ETH", D("0.0021"), D("2300"), D("0")),
        (23, "transfer_out", "BTC", D("0.002"), D("41000"), D("0")),
        # No ETH price: 229.5 USDC × 1 = 229.5 for 0.1 ETH → 2,295 a ETH.
        (24, "sell", "ETH", D("0.1"), D("2295"), D("0")),
        (25, "buy", "USDC", D("229.5"), D("1"), D("0")),
    ]
    assert [(e.line, e.field, e.message) for e in result.skipped] == [
        (11, "Operation", "Internal move: Transfer Between Main and Funding Wallet."),
        (12, "Operation", "Internal move: Transfer Between Main and Funding Wallet."),
        (13, "Operation", "Internal move: Simple Earn Flexible Subscription."),
        (15, "Change", "Quantity rounds to 0."),
    ]
    notes = dict(zip(result.lines, (row["note"] for row in result.rows), strict=True))
    assert notes[3] == "Binance: Transaction Buy, Transaction Spend, Transaction Fee"
    assert notes[7] == "Binance: fee"
    assert notes[14] == "Binance: Simple Earn Flexible Interest"
    executed = dict(
        zip(result.lines, (r["executed_at"] for r in result.rows), strict=True)
    )
    assert executed[3] == datetime(2024, 1, 10, 14, 30, 12, tzinfo=UTC)


def test_binance_bad_file_reports_every_bad_row(coins):
    _prices(coins, ("BTC", "2024-02-05", "42000"))

    result = parse(_text("binance_bad.csv"), "binance")

    assert _where(result.errors) == [
        (2, "Operation"),
        (3, "Coin"),
        (4, "Coin"),
        (5, "UTC_Time"),
        (6, "Change"),
        (8, "Coin"),
        (9, "Coin"),
        (10, "Change"),
    ]
    assert (
        _message(result, 2, "Operation") == "Unknown operation “Futures Funding Fee”."
    )
    assert _message(result, 3, "Coin") == (
        "EUR is a currency: only USD is supported yet (no exchange rates are known)."
    )
    assert _message(result, 4, "Coin") == "No asset with symbol XYZ."
    assert _message(result, 9, "Coin") == (
        "No market price for DOT on 2024-02-06: it cannot be valued."
    )
    assert _message(result, 10, "Change") == "A Withdraw must be negative."


# Coinbase --------------------------------------------------------------------


def test_coinbase_history_counts_the_preamble_in_its_lines(coins):
    _prices(coins, ("SOL", "2024-01-27", "95"))

    result = parse(_text("coinbase.csv"), "coinbase")

    assert result.errors == []
    assert _rows(result) == [
        (7, "buy", "BTC", D("0.01"), D("42000"), D("6.20")),
        (8, "buy", "ETH", D("0.2"), D("2250"), D("2.70")),
        (9, "sell", "BTC", D("0.004"), D("43000"), D("1.03")),
        # Convert at the file's spot price: 0.1 × 2,400 − 1.00 fee = 239 for 239 USDC.
        (10, "sell", "ETH", D("0.1"), D("2400"), D("1.00")),
        (10, "buy", "USDC", D("239"), D("1"), D("0")),
        (11, "reward", "ETH", D("0.0005"), D("2300"), D("0")),
        (12, "reward", "USDC", D("0.12"), D("1"), D("0")),
        (13, "transfer_out", "BTC", D("0.002"), D("42500"), D("0")),
        (14, "transfer_in", "ETH", D("0.3"), D("2250"), D("0")),
        (15, "reward", "GRT", D("3"), D("0.15"), D("0")),
        # No spot price in the file: the market price of the day.
        (18, "transfer_in", "SOL", D("0.5"), D("95"), D("0")),
    ]
    assert [(e.line, e.field) for e in result.skipped] == [
        (6, "Asset"),
        (16, "Asset"),
        (17, "Transaction Type"),
    ]
    assert result.skipped[0].message == (
        "USD is cash, not an asset: moving it changes nothing."
    )
    assert result.rows[0]["note"] == "Coinbase: Buy"
    assert result.rows[1]["executed_at"] == datetime(2024, 1, 8, 12, 30, 45, tzinfo=UTC)


def test_coinbase_bad_file_reports_every_bad_row(coins):
    result = parse(_text("coinbase_bad.csv"), "coinbase")

    assert result.rows == []
    assert _where(result.errors) == [
        (6, "Spot Price Currency"),
        (7, "Transaction Type"),
        (8, "Notes"),
        (9, "Asset"),
        (10, "Timestamp"),
    ]
    assert _message(result, 6, "Spot Price Currency") == (
        "Prices in EUR: only USD is supported yet (no exchange rates are known)."
    )
    assert _message(result, 9, "Asset") == "No asset with symbol PEPE2."


# Kraken ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "symbol"),
    [
        ("XXBT", "BTC"),
        ("XBT.M", "BTC"),
        ("XETH", "ETH"),
        ("ETH2.S", "ETH"),
        ("ETH2", "ETH"),
        ("DOT.S", "DOT"),
        ("SOL.S", "SOL"),
        ("ADA.F", "ADA"),
        ("XXDG", "DOGE"),
        ("ZUSD", "USD"),
        ("ZEUR", "EUR"),
        ("USDT", "USDT"),
    ],
)
def test_kraken_codes_map_to_tickers(code, symbol):
    assert ticker(code) == symbol


def test_kraken_ledger_becomes_trades_rewards_and_transfers(coins):
    _prices(
        coins,
        ("ETH", "2024-01-05", "2250"),
        ("BTC", "2024-01-10", "44000"),
        ("ETH", "2024-01-14", "2500"),
        ("DOT", "2024-01-15", "7.5"),
        ("BTC", "2024-01-18", "45000"),
    )

    result = parse(_text("kraken.csv"), "kraken")

    assert result.errors == []
    assert _rows(result) == [
        # 840 USD for 0.02 BTC → 42,000, plus the 1.344 USD fee.
        (5, "buy", "BTC", D("0.02"), D("42000"), D("1.344")),
        (6, "transfer_in", "ETH", D("1"), D("2250"), D("0")),
        # 0.005 BTC × 44,000 = 220 for 0.1 ETH → 2,200; the 0.00001 BTC fee is
        # debited on top: 0.00501 sold, fee 0.00001 × 44,000 = 0.44.
        (7, "sell", "BTC", D("0.00501"), D("44000"), D("0.44")),
        (8, "buy", "ETH", D("0.1"), D("2200"), D("0")),
        (11, "reward", "ETH", D("0.0012"), D("2500"), D("0")),
        (12, "reward", "DOT", D("0.8"), D("7.5"), D("0")),
        # 0.005 BTC out plus a 0.0001 BTC fee: 0.0051, fee 0.0001 × 45,000 = 4.5.
        (14, "transfer_out", "BTC", D("0.0051"), D("45000"), D("4.5")),
        (16, "buy", "SOL", D("1"), D("100"), D("1.5")),
        # 460 USD for 0.2 ETH → 2,300; fee 0.736 USD.
        (17, "sell", "ETH", D("0.2"), D("2300"), D("0.736")),
    ]
    assert [(e.line, e.field, e.message) for e in result.skipped] == [
        (2, "asset", "USD is cash, not an asset: moving it changes nothing."),
        (3, "txid", "No txid: Kraken's pending duplicate of a row."),
        (9, "type", "Internal move: Kraken: transfer spottostaking."),
        (10, "type", "Internal move: Kraken: transfer stakingfromspot."),
        (13, "type", "Internal move: Kraken: earn allocation."),
    ]
    assert result.rows[0]["note"] == "Kraken: trade"
    assert result.rows[2]["executed_at"] == datetime(
        2024, 1, 10, 15, 0, 0, 456700, tzinfo=UTC
    )


def test_kraken_bad_file_reports_every_bad_row(coins):
    result = parse(_text("kraken_bad.csv"), "kraken")

    assert _where(result.errors) == [
        (2, "type"),
        (3, "asset"),
        (5, "asset"),
        (6, "amount"),
        (7, "fee"),
    ]
    assert _message(result, 2, "type") == "Unknown type “margin”."
    assert _message(result, 5, "asset") == "No asset with symbol NOPE."
    assert _message(result, 6, "amount") == (
        "1e30 is too large (at most 22 digits before the point)."
    )


# Ghostfolio ------------------------------------------------------------------


def test_ghostfolio_export_imports_its_crypto_activities(coins):
    _prices(coins, ("ETH", "2024-01-16", "2450"))

    result = parse(_text("ghostfolio.json"), "ghostfolio")

    assert result.errors == []
    assert _rows(result) == [
        (1, "buy", "BTC", D("0.05"), D("42000"), D("5")),
        (3, "sell", "ETH", D("0.5"), D("2300"), D("1.15")),
        (4, "reward", "USDT", D("3.5"), D("1"), D("0")),
        # DIVIDEND at unitPrice 0: the day's market price.
        (5, "reward", "ETH", D("0.01"), D("2450"), D("0")),
        (8, "buy", "BTC", D("0.01"), D("43000"), D("2")),
    ]
    assert [(e.line, e.field, e.message) for e in result.skipped] == [
        (2, "symbol", "Not a crypto asset (YAHOO AAPL)."),
        (6, "type", "FEE activities are not imported."),
        (7, "type", "ITEM activities are not imported."),
    ]
    assert result.rows[2]["note"] == "Ghostfolio: INTEREST Nexo interest"


def test_ghostfolio_bad_export_reports_every_bad_activity(coins):
    result = parse(_text("ghostfolio_bad.json"), "ghostfolio")

    assert result.rows == []
    assert _where(result.errors) == [
        (1, "currency"),
        (2, "symbol"),
        (3, "quantity"),
        (4, "type"),
        (5, "date"),
    ]
    assert _message(result, 2, "symbol") == "No asset with CoinGecko id not-a-coin."


def test_ghostfolio_coingecko_id_decides_between_assets_sharing_a_symbol(db):
    AssetFactory(slug="tether", symbol="usdt", name="Tether")
    AssetFactory(slug="bridged-usdt", symbol="usdt", name="Bridged USDT")
    # Known to CoinGecko by an id that is not its slug: the recorded id decides.
    weth = AssetFactory(slug="weth-cmc", symbol="weth", name="WETH", source="cmc")
    ProviderId.objects.create(
        asset=weth, provider=Provider.COINGECKO, external_id="weth"
    )
    text = (
        '{"activities": ['
        '{"type": "BUY", "quantity": 10, "unitPrice": 1, "fee": 0, "currency": "USD",'
        ' "dataSource": "COINGECKO", "date": "2024-01-02T00:00:00Z", "symbol": "tether"},'
        '{"type": "BUY", "quantity": 1, "unitPrice": 2500, "fee": 0, "currency": "USD",'
        ' "dataSource": "COINGECKO", "date": "2024-01-02T00:00:00Z", "symbol": "weth"}'
        "]}"
    )

    result = parse(text, "ghostfolio")

    assert result.errors == []
    assert [row["asset"].slug for row in result.rows] == ["tether", "weth-cmc"]


# Rules shared by every format --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("binance.csv", "binance"),
        ("coinbase.csv", "coinbase"),
        ("coinbase_bad.csv", "coinbase"),
        ("kraken.csv", "kraken"),
        ("ghostfolio.json", "ghostfolio"),
    ],
)
def test_each_format_is_detected_from_its_header(name, fmt):
    assert detect(_text(name)) == fmt


def test_capsite_and_unknown_files_are_detected():
    assert detect("executed_at,asset,kind,quantity,unit_price,fee,note\n") == "capsite"
    assert detect("date,what,how much\n2024-01-01,coffee,3\n") is None
    assert detect('{"positions": []}') is None
    assert detect("") is None
    assert set(FORMATS) == {"capsite", "binance", "coinbase", "kraken", "ghostfolio"}


def test_a_file_in_another_format_is_refused_as_a_whole():
    with pytest.raises(ValueError, match="Not a Binance transaction history"):
        parse(_text("kraken.csv"), "binance")
    with pytest.raises(ValueError, match="Not a Kraken ledger"):
        parse(_text("binance.csv"), "kraken")
    with pytest.raises(ValueError, match="Not a Coinbase transaction history"):
        parse(_text("binance.csv"), "coinbase")
    with pytest.raises(ValueError, match="Not a Ghostfolio export"):
        parse("[1, 2]", "ghostfolio")
    with pytest.raises(ValueError, match="not an exchange format"):
        parse(_text("binance.csv"), "capsite")


def test_ambiguous_and_unknown_symbols_are_errors(db):
    AssetFactory(slug="tether", symbol="usdt", name="Tether")
    AssetFactory(slug="bridged-usdt", symbol="USDT", name="Bridged USDT")
    text = "\n".join(
        [
            BINANCE_HEADER,
            "1,2024-01-05 10:00:00,Spot,Deposit,USDT,10,",
            "1,2024-01-05 11:00:00,Spot,Deposit,NOSUCH,10,",
        ]
    )

    result = parse(text, "binance")

    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (2, "Coin", "Symbol USDT is ambiguous: it could be bridged-usdt, tether."),
        (3, "Coin", "No asset with symbol NOSUCH."),
    ]
    assert result.rows == []


def test_usd_is_cash_and_other_currencies_are_errors(coins):
    text = "\n".join(
        [
            KRAKEN_HEADER,
            '"L1","T1","2024-01-04 09:30:00","trade","","currency","ZUSD","-420","0","0"',
            '"L2","T1","2024-01-04 09:30:00","trade","","currency","XXBT","0.01","0","0"',
            '"L3","T2","2024-01-05 09:30:00","trade","","currency","ZGBP","-330","0","0"',
            '"L4","T2","2024-01-05 09:30:00","trade","","currency","XXBT","0.01","0","0"',
        ]
    )

    result = parse(text, "kraken")

    assert _rows(result) == [(3, "buy", "BTC", D("0.01"), D("42000"), D("0"))]
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (
            4,
            "asset",
            "GBP is a currency: only USD is supported yet (no exchange rates are known).",
        )
    ]


def test_a_crypto_trade_without_any_market_price_is_an_error_not_a_guess(coins):
    text = "\n".join(
        [
            BINANCE_HEADER,
            "1,2024-03-01 10:00:00,Spot,Transaction Spend,USDT,-100,",
            "1,2024-03-01 10:00:00,Spot,Transaction Buy,SOL,1,",
            "1,2024-03-01 10:00:00,Spot,Transaction Fee,BNB,-0.001,",
        ]
    )

    result = parse(text, "binance")

    assert result.rows == []
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (
            2,
            "Coin",
            "No market price for USDT or SOL on 2024-03-01: the trade cannot be valued.",
        ),
        (4, "Coin", "No market price for BNB on 2024-03-01: the fee cannot be valued."),
    ]


def test_trade_legs_that_cannot_be_told_apart_are_an_error(coins):
    _prices(coins, ("USDT", "2024-03-01", "1"))
    text = "\n".join(
        [
            BINANCE_HEADER,
            "1,2024-03-01 10:00:00,Spot,Transaction Spend,USDT,-100,",
            "1,2024-03-01 10:00:00,Spot,Transaction Buy,SOL,1,",
            "1,2024-03-01 10:00:00,Spot,Transaction Buy,ETH,0.01,",
            "1,2024-03-02 10:00:00,Spot,Transaction Buy,ETH,0.01,",
            "1,2024-03-03 10:00:00,Spot,Transaction Fee,BNB,-0.001,",
            "1,2024-03-04 10:00:00,Spot,Transaction Sold,ETH,-0.01,",
            "1,2024-03-04 10:00:00,Spot,Transaction Revenue,ETH,0.01,",
        ]
    )

    result = parse(text, "binance")

    assert result.rows == []
    assert [(e.line, e.message) for e in result.errors] == [
        (2, "Several coins received at once (ETH, SOL): cannot tell the trades apart."),
        (5, "A trade that gives nothing: a leg is missing."),
        (6, "A trade that gives nothing: a leg is missing."),
        (7, "ETH both given and received at once."),
    ]


def test_hostile_rows_are_reported_never_raised(coins):
    binance = "\n".join(
        [
            BINANCE_HEADER,
            "1,2024-01-05 10:00:00,Spot,Deposit,US\x00DT,10,",
            "1,2024-01-05 10:00:00,Spot,Deposit,USDT,1e30,",
            "1,2024-01-05 10:00:00,Spot,Deposit,USDT,NaN,",
            "1,9999-12-31 23:59:59,Spot,Deposit,USDT,1,",
            "1,2024-01-05 10:00:00,Spot,Sta\x00king,USDT,1,",
            "1,2024-01-05 10:00:00,Spot,Deposit,USDT," + "9" * 5000 + ",",
        ]
    )

    result = parse(binance, "binance")

    assert result.rows == []
    assert _where(result.errors) == [
        (2, "Coin"),
        (3, "Change"),
        (4, "Change"),
        (5, "UTC_Time"),
        (6, "Operation"),
        (7, "Change"),
    ]
    assert _message(result, 2, "Coin") == "Contains the control character U+0000."
    assert "\x00" not in _message(result, 6, "Operation")

    ghostfolio = (
        '{"activities": [{"type": "BUY", "quantity": NaN, "unitPrice": 1e999999,'
        ' "fee": ' + "1" * 5000 + ', "currency": "USD", "dataSource": "COINGECKO",'
        ' "date": "2024-01-02T00:00:00Z", "symbol": "bit\\u0000coin"},'
        '{"type": "BUY", "quantity": 1, "unitPrice": 1, "currency": "USD",'
        ' "dataSource": "COINGECKO", "date": "0000-00-00", "symbol": "bitcoin"}, 7]}'
    )

    result = parse(ghostfolio, "ghostfolio")

    assert _where(result.errors) == [(1, "symbol"), (2, "date"), (3, "activity")]


def test_a_fee_larger_than_a_deposit_is_an_error(coins):
    _prices(coins, ("BTC", "2024-01-05", "40000"))
    text = "\n".join(
        [
            KRAKEN_HEADER,
            '"L1","D1","2024-01-05 10:00:00","deposit","","currency","XXBT","0.001","0.002","0"',
        ]
    )

    result = parse(text, "kraken")

    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (2, "asset", "The fee is larger than the amount it was taken from.")
    ]


def _binance_deposits(count: int) -> str:
    coins = ["USDT", "BTC", "ETH", "SOL", "DOT"]
    return "\n".join(
        [BINANCE_HEADER]
        + [
            f"1,2024-01-{1 + n % 28:02d} 10:00:00,Spot,Deposit,{coins[n % 5]},1,"
            for n in range(count)
        ]
    )


def test_parse_reads_the_database_in_a_fixed_number_of_queries(
    coins, django_assert_num_queries
):
    for symbol in ("USDT", "BTC", "ETH", "SOL", "DOT"):
        _prices(coins, *[(symbol, f"2024-01-{day:02d}", "2") for day in range(1, 29)])
    # One query for the assets by symbol, one for the day's prices.
    with django_assert_num_queries(2):
        small = parse(_binance_deposits(5), "binance")
    with django_assert_num_queries(2):
        large = parse(_binance_deposits(50), "binance")

    assert (len(small.rows), len(large.rows)) == (5, 50)
    assert small.errors == large.errors == []


def test_ghostfolio_reads_the_database_in_a_fixed_number_of_queries(
    coins, django_assert_max_num_queries
):
    def export(count: int) -> str:
        ids = ["bitcoin", "ethereum", "tether"]
        return (
            '{"activities": ['
            + ",".join(
                f'{{"type": "BUY", "quantity": 1, "unitPrice": 2, "fee": 0,'
                f' "currency": "USD", "dataSource": "COINGECKO",'
                f' "date": "2024-01-02T00:00:00Z", "symbol": "{ids[n % 3]}"}}'
                for n in range(count)
            )
            + "]}"
        )

    # By slug, by recorded CoinGecko id, and the day's prices.
    with django_assert_max_num_queries(3):
        assert len(parse(export(5), "ghostfolio").rows) == 5
    with django_assert_max_num_queries(3):
        assert len(parse(export(50), "ghostfolio").rows) == 50


def test_parsed_rows_are_recorded_by_the_ledger_service(coins, portfolio):
    _prices(
        coins,
        ("ETH", "2024-01-05", "2250"),
        ("BTC", "2024-01-10", "44000"),
        ("ETH", "2024-01-14", "2500"),
        ("DOT", "2024-01-15", "7.5"),
        ("BTC", "2024-01-18", "45000"),
    )
    result = parse(_text("kraken.csv"), "kraken")

    created = services.record_transactions(portfolio=portfolio, rows=result.rows)

    assert created == 9
    held = {h.asset.symbol: h.quantity for h in portfolio.holdings.all()}
    # 0.02 bought − 0.00501 sold − 0.0051 withdrawn; 1 + 0.1 + 0.0012 − 0.2 ETH.
    assert held["btc"] == D("0.00989")
    assert held["eth"] == D("0.9012")


def _kraken_prices(coins: dict[str, Asset]) -> None:
    _prices(
        coins,
        ("ETH", "2024-01-05", "2250"),
        ("BTC", "2024-01-10", "44000"),
        ("ETH", "2024-01-14", "2500"),
        ("DOT", "2024-01-15", "7.5"),
        ("BTC", "2024-01-18", "45000"),
    )


def test_the_api_imports_a_kraken_ledger_named_or_detected(coins, api_client, user):
    from tests.factories import PortfolioFactory

    _kraken_prices(coins)
    named, detected = PortfolioFactory(owner=user), PortfolioFactory(owner=user)
    text = _text("kraken.csv")

    by_name = api_client.post(
        f"/api/v1/portfolios/{named.pk}/transactions/import/?format=kraken",
        text,
        content_type="text/csv",
    )
    by_header = api_client.post(
        f"/api/v1/portfolios/{detected.pk}/transactions/import/",
        text,
        content_type="text/csv",
    )

    for response in (by_name, by_header):
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["format"], body["created"]) == ("kraken", 9)
    assert named.transactions.count() == detected.transactions.count() == 9


def test_a_bad_exchange_file_through_the_page_applies_nothing(
    coins, client_logged_in, portfolio
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    response = client_logged_in.post(
        reverse("portfolios:transaction-import", args=[portfolio.pk]),
        {"file": SimpleUploadedFile("kraken.csv", _text("kraken_bad.csv").encode())},
    )

    assert response.status_code == 400
    assert "Nothing was imported." in response.content.decode()
    assert not portfolio.transactions.exists()
