"""/api/v1/portfolios/{id}/transactions/ and …/{tid}/: the ledger, owner only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from portfolios.models import Holding, Transaction
from tests.api.conftest import MISSING_ID, assert_same_404, queries_for
from tests.factories import AssetFactory, PortfolioFactory, TransactionFactory

DAY = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def ledger(portfolio_id: int) -> str:
    return f"/api/v1/portfolios/{portfolio_id}/transactions/"


def entry(portfolio_id: int, tid: int) -> str:
    return f"{ledger(portfolio_id)}{tid}/"


@pytest.fixture
def coin(db):
    return AssetFactory(slug="coin", symbol="coin", price=Decimal("2"))


@pytest.fixture
def bought(portfolio, coin):
    """Main holds 10 COIN bought at $1.5 (fee $1) on 1 April."""
    return TransactionFactory(
        portfolio=portfolio,
        asset=coin,
        quantity=Decimal("10"),
        unit_price=Decimal("1.5"),
        fee=Decimal("1"),
        executed_at=DAY,
        note="first",
    )


@pytest.fixture
def sold(bought):
    """…then sold 6 at $3 (fee $0.5) on 3 April: 4 left."""
    return TransactionFactory(
        portfolio=bought.portfolio,
        asset=bought.asset,
        kind=Transaction.Kind.SELL,
        quantity=Decimal("6"),
        unit_price=Decimal("3"),
        fee=Decimal("0.5"),
        executed_at=DAY + timedelta(days=2),
    )


@pytest.fixture
def theirs(other_user, coin):
    portfolio = PortfolioFactory(owner=other_user, name="Theirs")
    return TransactionFactory(portfolio=portfolio, asset=coin, quantity=Decimal("7"))


def holding(portfolio) -> Holding:
    return Holding.objects.get(portfolio=portfolio)


def body(**changes) -> dict[str, str]:
    return {
        "asset": "coin",
        "kind": "buy",
        "quantity": "1.5",
        "price": "2.25",
        "fee": "0.1",
        "executed_at": "2026-04-05T12:00:00Z",
        "note": "dip",
        **changes,
    }


# List -------------------------------------------------------------------------


def test_the_ledger_lists_transactions_newest_first(api_client, sold):
    response = api_client.get(ledger(sold.portfolio_id))

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    assert data["results"] == [
        {
            "id": sold.pk,
            "asset": "coin",
            "kind": "sell",
            "quantity": "6",
            "price": "3",
            "fee": "0.5",
            "executed_at": "2026-04-03T10:00:00Z",
            "note": "",
        },
        {
            "id": sold.pk - 1,
            "asset": "coin",
            "kind": "buy",
            "quantity": "10",
            "price": "1.5",
            "fee": "1",
            "executed_at": "2026-04-01T10:00:00Z",
            "note": "first",
        },
    ]


def test_the_ledger_runs_the_same_queries_for_5_and_60_entries(
    api_client, portfolio, django_assert_num_queries
):
    def add(count: int) -> None:
        for _ in range(count):
            TransactionFactory(portfolio=portfolio, asset=AssetFactory())

    add(5)
    budget = queries_for(lambda: api_client.get(ledger(portfolio.pk)))
    add(55)

    with django_assert_num_queries(budget):
        response = api_client.get(ledger(portfolio.pk), {"page_size": 100})
    assert len(response.json()["results"]) == 60


# Create -----------------------------------------------------------------------


def test_a_buy_is_recorded_and_the_holding_follows(api_client, portfolio, coin):
    response = api_client.post(ledger(portfolio.pk), body(), format="json")

    assert response.status_code == 201
    created = Transaction.objects.get()
    assert response.json() == {"id": created.pk, **body()}
    assert (created.portfolio, created.unit_price) == (portfolio, Decimal("2.25"))
    position = holding(portfolio)
    assert position.quantity == Decimal("1.5")
    assert position.cost_basis == Decimal("3.475")  # 1.5 × 2.25 + 0.1


def test_the_fee_defaults_to_zero(api_client, portfolio, coin):
    data = body()
    del data["fee"]

    response = api_client.post(ledger(portfolio.pk), data, format="json")

    assert response.status_code == 201
    assert response.json()["fee"] == "0"


def test_a_sell_within_the_holding_realises_profit(api_client, bought):
    response = api_client.post(
        ledger(bought.portfolio_id),
        body(kind="sell", quantity="4", price="3", fee="0.5"),
        format="json",
    )

    assert response.status_code == 201
    position = holding(bought.portfolio)
    assert position.quantity == Decimal("6")
    # Cost 16 for 10; 4 sold remove 6.4; proceeds 12 − fee 0.5 − 6.4 = 5.1.
    assert position.cost_basis == Decimal("9.6")
    assert position.realized_pnl == Decimal("5.1")


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "sell", "quantity": "10.5"},
        {"kind": "transfer_out", "quantity": "11"},
        # Ten are held from 1 April: a sell dated the day before finds none.
        {"kind": "sell", "quantity": "1", "executed_at": "2026-03-31T10:00:00Z"},
    ],
)
def test_an_outflow_beyond_the_holding_is_a_400_on_quantity_and_records_nothing(
    api_client, bought, changes
):
    response = api_client.post(
        ledger(bought.portfolio_id), body(**changes), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]
    assert Transaction.objects.count() == 1
    assert holding(bought.portfolio).quantity == Decimal("10")


@pytest.mark.postgres
def test_selling_one_wei_more_than_held_is_refused_on_postgresql(api_client, bought):
    response = api_client.post(
        ledger(bought.portfolio_id),
        body(kind="sell", quantity="10.000000000000000001"),
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]
    assert holding(bought.portfolio).quantity == Decimal("10")


def test_the_refusal_says_how_much_was_held(api_client, bought):
    response = api_client.post(
        ledger(bought.portfolio_id), body(kind="sell", quantity="12"), format="json"
    )

    assert response.json() == {"quantity": ["Only 10 COIN held on 2026-04-05 12:00."]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "ten"}, "quantity"),
        ({"quantity": "0.0000000000000000001"}, "quantity"),
        ({"quantity": "1" + "0" * 21}, "quantity"),
        ({"price": "1" + "0" * 21}, "price"),
        ({"asset": "no-such-coin"}, "asset"),
        ({"kind": "steal"}, "kind"),
        ({"price": "-2"}, "price"),
        ({"fee": "-0.01"}, "fee"),
        ({"executed_at": "yesterday"}, "executed_at"),
        ({"executed_at": "2030-01-01T00:00:00Z"}, "executed_at"),
        ({"executed_at": "2001-01-01T00:00:00Z"}, "executed_at"),
        ({"note": "x" * 201}, "note"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_records_nothing(
    api_client, bought, changes, field
):
    response = api_client.post(
        ledger(bought.portfolio_id), body(**changes), format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert Transaction.objects.count() == 1


@pytest.mark.parametrize("field", ["asset", "kind", "quantity", "price", "executed_at"])
def test_a_missing_required_field_is_a_400_naming_it(
    api_client, portfolio, coin, field
):
    data = body()
    del data[field]

    response = api_client.post(ledger(portfolio.pk), data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Transaction.objects.exists()


def test_a_holding_too_large_to_store_is_a_400_not_a_server_error(
    api_client, portfolio, coin
):
    huge = "9" * 21

    response = api_client.post(
        ledger(portfolio.pk), body(quantity=huge, price=huge), format="json"
    )

    assert response.status_code == 400
    assert "quantity" in response.json()
    assert not Transaction.objects.exists()


def test_a_cost_basis_past_ten_billion_dollars_is_kept_exactly(
    api_client, portfolio, coin
):
    response = api_client.post(
        ledger(portfolio.pk),
        body(quantity="1000000", price="60000.123456789", fee="0"),
        format="json",
    )

    assert response.status_code == 201
    assert holding(portfolio).cost_basis == Decimal("60000123456.789")


# Detail, update, delete ---------------------------------------------------------


def test_a_transaction_is_shown(api_client, bought):
    response = api_client.get(entry(bought.portfolio_id, bought.pk))

    assert response.status_code == 200
    assert response.json()["quantity"] == "10"
    assert response.json()["note"] == "first"


def test_a_transaction_is_edited_and_the_holding_rebuilt(api_client, sold):
    buy = Transaction.objects.get(kind="buy")

    response = api_client.patch(
        entry(buy.portfolio_id, buy.pk),
        {"quantity": "8", "note": "fixed"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["quantity"] == "8"
    buy.refresh_from_db()
    assert (buy.quantity, buy.note) == (Decimal(8), "fixed")
    assert holding(buy.portfolio).quantity == Decimal(2)


def test_moving_a_transaction_to_another_asset_moves_the_holding(api_client, bought):
    AssetFactory(slug="other")

    response = api_client.patch(
        entry(bought.portfolio_id, bought.pk), {"asset": "other"}, format="json"
    )

    assert response.status_code == 200
    assert [
        h.asset.slug for h in Holding.objects.filter(portfolio=bought.portfolio)
    ] == ["other"]


def test_an_edit_that_overdraws_a_later_sell_is_a_400_and_changes_nothing(
    api_client, sold
):
    buy = Transaction.objects.get(kind="buy")

    response = api_client.patch(
        entry(buy.portfolio_id, buy.pk), {"quantity": "5"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    buy.refresh_from_db()
    assert buy.quantity == Decimal(10)
    assert holding(buy.portfolio).quantity == Decimal(4)


def test_raising_a_sell_beyond_the_holding_is_a_400_on_quantity(api_client, sold):
    response = api_client.patch(
        entry(sold.portfolio_id, sold.pk), {"quantity": "11"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["quantity"]
    sold.refresh_from_db()
    assert sold.quantity == Decimal(6)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"kind": "gift"}, "kind"),
        ({"asset": "no-such-coin"}, "asset"),
        ({"price": "free"}, "price"),
    ],
)
def test_a_bad_edit_is_a_400_naming_the_field_and_changes_nothing(
    api_client, bought, changes, field
):
    response = api_client.patch(
        entry(bought.portfolio_id, bought.pk), changes, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    bought.refresh_from_db()
    assert (bought.quantity, bought.kind) == (Decimal(10), "buy")


def test_a_transaction_is_deleted_and_the_holding_rebuilt(api_client, sold):
    response = api_client.delete(entry(sold.portfolio_id, sold.pk))

    assert response.status_code == 204
    assert Transaction.objects.count() == 1
    assert holding(sold.portfolio).quantity == Decimal(10)


def test_deleting_the_last_transaction_of_an_asset_removes_the_holding(
    api_client, bought
):
    assert api_client.delete(entry(bought.portfolio_id, bought.pk)).status_code == 204
    assert not Holding.objects.exists()


def test_deleting_a_buy_a_later_sell_needs_is_a_400_and_deletes_nothing(
    api_client, sold
):
    buy = Transaction.objects.get(kind="buy")

    response = api_client.delete(entry(buy.portfolio_id, buy.pk))

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [
            "Deleting this transaction would leave 0 COIN on 2026-04-03 10:00, "
            "less than the sell of 6 recorded then."
        ]
    }
    assert Transaction.objects.count() == 2


# Exact decimals -----------------------------------------------------------------


WEI = "0.123456789012345678"
WIDEST = "123456789012345678901.123456789012345678"  # 21 digits, 18 decimals


def test_an_18_decimal_quantity_is_echoed_exactly_as_a_string(
    api_client, portfolio, coin
):
    response = api_client.post(
        ledger(portfolio.pk), body(quantity=WIDEST, price="0"), format="json"
    )

    assert response.status_code == 201
    assert response.json()["quantity"] == WIDEST


@pytest.mark.postgres
@pytest.mark.parametrize("quantity", [WEI, WIDEST, "0.000000000000000001"])
def test_an_18_decimal_quantity_round_trips_exactly_on_postgresql(
    api_client, portfolio, coin, quantity
):
    created = api_client.post(
        ledger(portfolio.pk), body(quantity=quantity, price=WEI), format="json"
    ).json()

    shown = api_client.get(entry(portfolio.pk, created["id"])).json()

    assert shown["quantity"] == quantity
    assert shown["price"] == WEI
    assert Transaction.objects.get().quantity == Decimal(quantity)
    assert holding(portfolio).quantity == Decimal(quantity)


# Isolation --------------------------------------------------------------------


def test_another_users_ledger_is_a_404_like_a_missing_portfolio(api_client, theirs):
    assert_same_404(
        api_client.get(ledger(theirs.portfolio_id)), api_client.get(ledger(MISSING_ID))
    )


def test_recording_in_another_users_portfolio_is_a_404_and_records_nothing(
    api_client, theirs
):
    assert_same_404(
        api_client.post(ledger(theirs.portfolio_id), body(), format="json"),
        api_client.post(ledger(MISSING_ID), body(), format="json"),
    )
    assert Transaction.objects.count() == 1


def test_another_users_transaction_is_a_404_like_a_missing_one(
    api_client, portfolio, theirs
):
    assert_same_404(
        api_client.get(entry(theirs.portfolio_id, theirs.pk)),
        api_client.get(entry(MISSING_ID, theirs.pk)),
    )
    # Through one's own portfolio id, their transaction is not found either.
    assert_same_404(
        api_client.get(entry(portfolio.pk, theirs.pk)),
        api_client.get(entry(portfolio.pk, MISSING_ID)),
    )


def test_editing_another_users_transaction_is_a_404_and_changes_nothing(
    api_client, portfolio, theirs
):
    change = {"quantity": "1", "note": "hijacked"}

    assert_same_404(
        api_client.patch(entry(theirs.portfolio_id, theirs.pk), change, format="json"),
        api_client.patch(entry(MISSING_ID, theirs.pk), change, format="json"),
    )
    assert_same_404(
        api_client.patch(entry(portfolio.pk, theirs.pk), change, format="json"),
        api_client.patch(entry(portfolio.pk, MISSING_ID), change, format="json"),
    )
    theirs.refresh_from_db()
    assert (theirs.quantity, theirs.note) == (Decimal(7), "")


def test_deleting_another_users_transaction_is_a_404_and_deletes_nothing(
    api_client, portfolio, theirs
):
    assert_same_404(
        api_client.delete(entry(theirs.portfolio_id, theirs.pk)),
        api_client.delete(entry(MISSING_ID, theirs.pk)),
    )
    assert_same_404(
        api_client.delete(entry(portfolio.pk, theirs.pk)),
        api_client.delete(entry(portfolio.pk, MISSING_ID)),
    )
    assert Transaction.objects.filter(pk=theirs.pk).exists()


# Anonymous ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "detail"),
    [("get", False), ("post", False), ("get", True), ("patch", True), ("delete", True)],
)
def test_anonymous_requests_are_401_and_change_nothing(
    anon_client, bought, method, detail
):
    url = (
        entry(bought.portfolio_id, bought.pk) if detail else ledger(bought.portfolio_id)
    )

    response = getattr(anon_client, method)(url, body(quantity="3"), format="json")

    assert response.status_code == 401
    assert Transaction.objects.count() == 1
    bought.refresh_from_db()
    assert bought.quantity == Decimal(10)


# Import: POST …/transactions/import/ ------------------------------------------

HEADER = "executed_at,asset,kind,quantity,unit_price,fee,note\n"


def importing(portfolio_id: int) -> str:
    return f"{ledger(portfolio_id)}import/"


def _csv(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)


def test_a_csv_body_imports_every_row(api_client, portfolio, coin):
    text = _csv(
        "2026-04-01T10:00:00+00:00,coin,buy,10,1.5,1,first",
        "2026-04-03T10:00:00+00:00,coin,sell,6,3,0.5,",
    )

    response = api_client.post(importing(portfolio.pk), text, content_type="text/csv")

    assert response.status_code == 201, response.content
    assert response.json() == {"format": "capsite", "created": 2, "skipped": []}
    holding = Holding.objects.get(portfolio=portfolio, asset=coin)
    assert holding.quantity == Decimal("4")


def test_a_multipart_file_imports_too(api_client, portfolio, coin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "ledger.csv", _csv("2026-04-01T10:00:00+00:00,coin,buy,2,1,0,").encode()
    )

    response = api_client.post(
        importing(portfolio.pk), {"file": upload}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert Transaction.objects.get().quantity == Decimal("2")


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported(
    api_client, portfolio, coin
):
    text = _csv(
        "2026-04-01T10:00:00+00:00,coin,buy,10,1.5,1,",
        "2026-04-02T10:00:00+00:00,nocoin,buy,1,1,0,",
        "",
        "2099-04-03T10:00:00+00:00,coin,buy,-1,1,0,",
    )

    response = api_client.post(importing(portfolio.pk), text, content_type="text/csv")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [
        (3, "asset"),
        (5, "executed_at"),  # line 4 is blank and skipped, yet counted
        (5, "quantity"),
    ]
    assert "future" in errors[1]["message"]
    assert not Transaction.objects.exists()


def test_a_sell_beyond_the_holding_names_its_line(api_client, portfolio, coin):
    text = _csv(
        "2026-04-01T10:00:00+00:00,coin,buy,1,1,0,",
        "2026-04-02T10:00:00+00:00,coin,sell,2,1,0,",
    )

    response = api_client.post(importing(portfolio.pk), text, content_type="text/csv")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "line": 3,
            "field": "quantity",
            "message": "Only 1 COIN held on 2026-04-02 10:00.",
        }
    ]
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("payload", "content_type", "reason"),
    [
        (b"\xff\xfe not utf-8", "text/csv", "not UTF-8"),
        ({}, None, "multipart field"),
    ],
)
def test_an_unreadable_upload_is_a_400_saying_why(
    api_client, portfolio, payload, content_type, reason
):
    if content_type:
        response = api_client.post(
            importing(portfolio.pk), payload, content_type=content_type
        )
    else:
        response = api_client.post(importing(portfolio.pk), payload, format="multipart")

    assert response.status_code == 400
    assert reason in str(response.json())


def test_another_content_type_is_a_415(api_client, portfolio):
    response = api_client.post(
        importing(portfolio.pk), "<a/>", content_type="application/xml"
    )

    assert response.status_code == 415


def test_json_that_is_not_a_ghostfolio_export_is_a_400_naming_the_file(
    api_client, portfolio
):
    response = api_client.post(importing(portfolio.pk), {"a": 1}, format="json")

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["line"], error["field"]) == (1, "header")


def test_an_unknown_format_parameter_is_a_400(api_client, portfolio):
    response = api_client.post(
        importing(portfolio.pk) + "?format=excel", "x", content_type="text/csv"
    )

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["line"], error["field"]) == (0, "format")


def test_importing_into_another_users_portfolio_is_a_404_and_imports_nothing(
    api_client, theirs
):
    text = _csv("2026-04-01T10:00:00+00:00,coin,buy,1,1,0,")
    assert_same_404(
        api_client.post(importing(theirs.portfolio_id), text, content_type="text/csv"),
        api_client.post(importing(MISSING_ID), text, content_type="text/csv"),
    )
    assert Transaction.objects.count() == 1


def test_a_body_that_is_not_utf8_is_a_400_in_the_imports_error_shape(
    api_client, portfolio
):
    response = api_client.generic(
        "POST",
        importing(portfolio.pk) + "?format=ghostfolio",
        b"\xff\xfeuypn",
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"line": 1, "field": "file", "message": "The file is not UTF-8 text."}
        ]
    }
