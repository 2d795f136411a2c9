"""CSV export and import of a portfolio's transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from portfolios import imports, services
from portfolios.imports import RowError
from portfolios.models import Holding, Portfolio, Transaction
from tests.factories import AssetFactory
from valuations.models import Asset

D = Decimal

pytestmark = pytest.mark.django_db

HEADER = "executed_at,asset,kind,quantity,unit_price,fee,note\n"
GOOD = "2026-01-02T09:00:00+00:00,coin,buy,2,10,0.5,first\n"
THE_COLUMNS = (
    " The columns are executed_at, asset, kind, quantity, unit_price, fee, note."
)


@pytest.fixture
def coin() -> Asset:
    return AssetFactory(slug="coin", symbol="cn", name="Coin")


def _import(portfolio: Portfolio, text: str) -> imports.ImportReport:
    return imports.import_transactions(portfolio=portfolio, text=text)


def _errors(report: imports.ImportReport) -> list[tuple[int, str, str]]:
    return [(e.line, e.field, e.message) for e in report.errors]


# Export ----------------------------------------------------------------------------


def test_export_writes_the_header_then_the_ledger_oldest_first(portfolio, coin):
    at = datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind=Transaction.Kind.BUY,
        quantity=D("1000"),
        unit_price=D("0.00001234"),
        fee=D("0"),
        executed_at=at + timedelta(days=1),
        note="later",
    )
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind=Transaction.Kind.TRANSFER_IN,
        quantity=D("0.5"),
        unit_price=D("42000.10"),
        fee=D("2.50"),
        # Given in UTC+2: exported in UTC, with its offset.
        executed_at=datetime(
            2026, 1, 2, 11, 30, 0, 250, tzinfo=timezone(timedelta(hours=2))
        ),
    )

    rows = list(imports.export_rows(portfolio))

    assert rows == [
        ["executed_at", "asset", "kind", "quantity", "unit_price", "fee", "note"],
        [
            "2026-01-02T09:30:00.000250+00:00",
            "coin",
            "transfer_in",
            "0.5",
            "42000.1",
            "2.5",
            "",
        ],
        [
            "2026-01-03T09:30:00+00:00",
            "coin",
            "buy",
            "1000",
            "0.00001234",
            "0",
            "later",
        ],
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("0"), "0"),
        (D("1000"), "1000"),
        (D("1E+3"), "1000"),
        (D("1.500000000000000000"), "1.5"),
        (D("0.000000000000000001"), "0.000000000000000001"),
        (D("1E-8"), "0.00000001"),
        (D("-2.50"), "-2.5"),
    ],
)
def test_export_writes_plain_decimals_without_exponent_or_trailing_zeros(value, text):
    assert imports.plain(value) == text


def test_export_of_an_empty_portfolio_is_only_the_header(portfolio):
    assert list(imports.export_rows(portfolio)) == [imports.COLUMNS]


# Import: success --------------------------------------------------------------------


def test_import_records_every_row_and_rebuilds_holdings(portfolio, coin):
    text = HEADER + GOOD + "2026-01-03T09:00:00+01:00,coin,sell,0.5,12,,\n"

    report = _import(portfolio, text)

    assert (report.ok, report.rows, report.created) == (True, 2, 2)
    assert list(
        Transaction.objects.order_by("executed_at").values_list(
            "kind", "quantity", "unit_price", "fee", "executed_at", "note"
        )
    ) == [
        (
            "buy",
            D("2"),
            D("10"),
            D("0.5"),
            datetime(2026, 1, 2, 9, tzinfo=UTC),
            "first",
        ),
        ("sell", D("0.5"), D("12"), D("0"), datetime(2026, 1, 3, 8, tzinfo=UTC), ""),
    ]
    holding = Holding.objects.get()
    # Cost 20.5 for 2; the sell removes a quarter: 5.125, realising 6 − 5.125.
    assert (holding.quantity, holding.cost_basis, holding.realized_pnl) == (
        D("1.5"),
        D("15.375"),
        D("0.875"),
    )


def test_import_accepts_a_bom_spaces_in_the_header_and_no_fee_or_note_columns(
    portfolio, coin
):
    text = (
        "\ufeff executed_at , asset ,kind,quantity,unit_price\n"
        "2026-01-02T09:00:00Z, coin ,buy, 1 , 3 \n"
    )

    report = _import(portfolio, text)

    assert report.ok, report.errors
    tx = Transaction.objects.get()
    assert (tx.asset, tx.quantity, tx.unit_price, tx.fee) == (coin, 1, 3, 0)


def test_import_adds_to_the_existing_ledger(portfolio, coin):
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind=Transaction.Kind.BUY,
        quantity=D("3"),
        unit_price=D("1"),
        executed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )

    report = _import(portfolio, HEADER + "2026-01-02T00:00:00+00:00,coin,sell,3,2,0,\n")

    assert report.ok
    assert Holding.objects.get().quantity == 0


def test_import_keeps_a_note_of_200_characters_whole(portfolio, coin):
    _import(portfolio, HEADER + GOOD.replace("first", "x" * 200))

    assert Transaction.objects.get().note == "x" * 200


# Import: errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "errors"),
    [
        pytest.param(
            "2026-01-02T09:00:00+00:00,nope,buy,1,10,0,",
            [(3, "asset", "Unknown asset id “nope”.")],
            id="unknown-asset",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,swap,1,10,0,",
            [
                (
                    3,
                    "kind",
                    "“swap” is not one of buy, reward, sell, transfer_in, transfer_out.",
                )
            ],
            id="bad-kind",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,Buy,1,10,0,",
            [
                (
                    3,
                    "kind",
                    "“Buy” is not one of buy, reward, sell, transfer_in, transfer_out.",
                )
            ],
            id="kind-is-case-sensitive",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1.2.3,10,0,",
            [(3, "quantity", "“1.2.3” is not a number.")],
            id="bad-number",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1,NaN,0,",
            [(3, "unit_price", "“NaN” is not a number.")],
            id="nan",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1,10,Infinity,",
            [(3, "fee", "“Infinity” is not a number.")],
            id="infinity",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,0,10,0,",
            [(3, "quantity", "Quantity must be more than zero.")],
            id="quantity-zero",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,-1,10,0,",
            [(3, "quantity", "Quantity must be more than zero.")],
            id="quantity-negative",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1,-0.01,0,",
            [(3, "unit_price", "Unit price must be zero or more.")],
            id="price-negative",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1,10,-1,",
            [(3, "fee", "Fee must be zero or more.")],
            id="fee-negative",
        ),
        pytest.param(
            "2026-01-02T09:00:00,coin,buy,1,10,0,",
            [(3, "executed_at", "Give a time zone, e.g. 2024-01-31T12:00:00+00:00.")],
            id="naive-time",
        ),
        pytest.param(
            "02/01/2026,coin,buy,1,10,0,",
            [(3, "executed_at", "“02/01/2026” is not an ISO 8601 time.")],
            id="not-iso-time",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin",
            [
                (
                    3,
                    "kind",
                    "“” is not one of buy, reward, sell, transfer_in, transfer_out.",
                ),
                (3, "quantity", "“” is not a number."),
                (3, "unit_price", "“” is not a number."),
            ],
            id="short-row",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1,10,0," + "x" * 201,
            [(3, "note", "Longer than 200 characters.")],
            id="note-too-long",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1,10,0,a\x00b",
            [(3, "note", "Contains the control character U+0000.")],
            id="note-nul",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,co\x00in,buy,1,10,0,",
            [(3, "asset", "Contains the control character U+0000.")],
            id="asset-nul",
        ),
        pytest.param(
            "2026-02-30T09:00:00+00:00,coin,buy,1,10,0,",
            [
                (
                    3,
                    "executed_at",
                    "“2026-02-30T09:00:00+00:00” is not an ISO 8601 time.",
                )
            ],
            id="impossible-date",
        ),
        pytest.param(
            "2026-01-02T25:00:00+00:00,coin,buy,1,10,0,",
            [
                (
                    3,
                    "executed_at",
                    "“2026-01-02T25:00:00+00:00” is not an ISO 8601 time.",
                )
            ],
            id="hour-25",
        ),
        pytest.param(
            "2026-01-02T09:00:00+25:00,coin,buy,1,10,0,",
            [
                (
                    3,
                    "executed_at",
                    "“2026-01-02T09:00:00+25:00” is not an ISO 8601 time.",
                )
            ],
            id="offset-25h",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1e30,10,0,",
            [
                (
                    3,
                    "quantity",
                    "1e30 is too large (at most 22 digits before the point).",
                )
            ],
            id="quantity-too-large",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,6479626615780062691.3048617639975789237,1,0,",
            [
                (
                    3,
                    "quantity",
                    "6479626615780062691.3048617639975789237 has more than 18 "
                    "decimal places.",
                )
            ],
            id="quantity-19-digits-and-19-decimals",
        ),
        pytest.param(
            "2026-01-02T09:00:00+00:00,coin,buy,1,1e-30,0,",
            [(3, "unit_price", "1e-30 has more than 18 decimal places.")],
            id="price-too-precise",
        ),
    ],
)
def test_import_reports_each_bad_row_with_line_and_field_and_saves_nothing(
    portfolio, coin, row, errors
):
    report = _import(portfolio, HEADER + GOOD + row + "\n")

    assert not report.ok
    assert _errors(report) == errors
    assert (report.rows, report.created) == (2, 0)
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_import_lists_every_bad_row_not_only_the_first(portfolio, coin):
    text = HEADER + (
        "2026-01-02T09:00:00+00:00,nope,buy,1,10,0,\n"
        + GOOD
        + "2026-01-02T09:00:00+00:00,coin,buy,0,x,0,\n"
    )

    report = _import(portfolio, text)

    assert _errors(report) == [
        (2, "asset", "Unknown asset id “nope”."),
        (4, "unit_price", "“x” is not a number."),
        (4, "quantity", "Quantity must be more than zero."),
    ]
    assert not Transaction.objects.exists()


def test_import_reports_a_missing_column_on_the_header_line(portfolio, coin):
    report = _import(portfolio, "executed_at,asset,quantity\n" + GOOD)

    assert _errors(report) == [
        (1, "header", "Missing column(s): kind, unit_price." + THE_COLUMNS),
    ]
    assert not Transaction.objects.exists()


def test_import_of_an_empty_file_reports_the_missing_header(portfolio):
    report = _import(portfolio, "")

    assert _errors(report) == [
        (
            1,
            "header",
            "Missing column(s): asset, executed_at, kind, quantity, unit_price."
            + THE_COLUMNS,
        )
    ]


def test_import_of_a_header_without_rows_is_an_error(portfolio):
    report = _import(portfolio, HEADER)

    assert _errors(report) == [(1, "file", "The file has a header but no rows.")]


def test_import_refuses_more_than_the_row_limit(portfolio, coin, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)

    report = _import(portfolio, HEADER + GOOD * 3)

    assert _errors(report) == [(1, "file", "At most 2 rows per file.")]
    assert not Transaction.objects.exists()


def test_import_whose_sell_exceeds_the_holding_saves_nothing(portfolio, coin):
    text = HEADER + GOOD + "2026-01-03T09:00:00+00:00,coin,sell,2.5,10,0,\n"

    report = _import(portfolio, text)

    assert report.errors == [
        # The header is line 1, GOOD line 2, the sell line 3.
        RowError(3, "quantity", "Only 2 CN held on 2026-01-03 09:00.")
    ]
    assert report.created == 0
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_import_of_a_sell_before_the_buy_in_the_same_file_saves_nothing(
    portfolio, coin
):
    text = HEADER + "2026-01-01T09:00:00+00:00,coin,sell,1,10,0,\n" + GOOD

    report = _import(portfolio, text)

    assert not report.ok
    assert not Transaction.objects.exists()


# Every bad row in one pass (issue 14) ----------------------------------------------


def test_an_extra_column_is_refused_on_the_header_line_and_nothing_is_recorded(
    portfolio, coin
):
    text = HEADER.rstrip("\n") + ",price,\n" + GOOD.rstrip("\n") + ",10,\n"

    report = _import(portfolio, text)

    assert _errors(report) == [
        (1, "header", "Unknown column(s): “price”, an unnamed column." + THE_COLUMNS)
    ]
    assert Transaction.objects.count() == 0


def test_huge_tiny_and_impossible_values_are_all_reported_in_one_pass(portfolio, coin):
    text = HEADER + (
        "2026-01-02T09:00:00+00:00,coin,buy,1e30,10,0,\n"
        "2026-01-02T09:00:00+00:00,coin,buy,1,1e-30,0,\n"
        "2024-02-30T00:00:00+00:00,coin,buy,1,1,0,\n"
        "2024-01-01T25:00:00+00:00,coin,buy,1,1,0,\n"
        "2024-01-01T00:00:00+25:00,coin,buy,1,1,0,\n"
    )

    report = _import(portfolio, text)

    assert _errors(report) == [
        (2, "quantity", "1e30 is too large (at most 22 digits before the point)."),
        (3, "unit_price", "1e-30 has more than 18 decimal places."),
        (4, "executed_at", "“2024-02-30T00:00:00+00:00” is not an ISO 8601 time."),
        (5, "executed_at", "“2024-01-01T25:00:00+00:00” is not an ISO 8601 time."),
        (6, "executed_at", "“2024-01-01T00:00:00+25:00” is not an ISO 8601 time."),
    ]
    assert Transaction.objects.count() == 0
