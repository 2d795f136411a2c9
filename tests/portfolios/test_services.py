"""The ledger services: recording, editing and deleting transactions, and portfolios."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from portfolios import services
from portfolios.models import Holding, Portfolio, Transaction
from tests.factories import (
    AssetFactory,
    PortfolioFactory,
    TransactionFactory,
    UserFactory,
)
from valuations.models import Asset

D = Decimal

pytestmark = pytest.mark.django_db


BUY, SELL = Transaction.Kind.BUY, Transaction.Kind.SELL
TRANSFER_IN, TRANSFER_OUT = Transaction.Kind.TRANSFER_IN, Transaction.Kind.TRANSFER_OUT


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def _record(
    portfolio: Portfolio,
    asset: Asset,
    kind: str,
    quantity: str,
    unit_price: str,
    *,
    fee: str = "0",
    day: int = 1,
    hour: int = 12,
) -> Transaction:
    return services.record_transaction(
        portfolio=portfolio,
        asset=asset,
        kind=kind,
        quantity=D(quantity),
        unit_price=D(unit_price),
        fee=D(fee),
        executed_at=_at(day, hour),
    )


def _holding(portfolio: Portfolio, asset: Asset) -> tuple[Decimal, Decimal, Decimal]:
    """(quantity, cost basis, realised P/L) of the stored holding."""
    holding = Holding.objects.get(portfolio=portfolio, asset=asset)
    return holding.quantity, holding.cost_basis, holding.realized_pnl


@pytest.fixture
def coin() -> Asset:
    return AssetFactory(slug="coin", symbol="cn", name="Coin")


# Recording ---------------------------------------------------------------------


def test_buy_creates_the_holding_at_cost_plus_fee(portfolio, coin):
    tx = _record(portfolio, coin, BUY, "2", "10", fee="1.5")

    assert Transaction.objects.get() == tx
    assert _holding(portfolio, coin) == (D("2"), D("21.5"), D("0"))


def test_sell_reduces_the_holding_and_realises_profit(portfolio, coin):
    _record(portfolio, coin, BUY, "2", "10", day=1)
    _record(portfolio, coin, SELL, "0.5", "30", fee="1", day=2)

    # Average cost 10: the sell removes 5 of cost and realises 15 − 1 − 5 = 9.
    assert _holding(portfolio, coin) == (D("1.5"), D("15"), D("9"))


def test_transfer_in_adds_quantity_and_cost_like_a_buy(portfolio, coin):
    _record(portfolio, coin, TRANSFER_IN, "5", "4", fee="1")

    assert _holding(portfolio, coin) == (D("5"), D("21"), D("0"))


def test_transfer_out_removes_cost_at_the_average_and_realises_only_the_fee(
    portfolio, coin
):
    _record(portfolio, coin, BUY, "2", "10", day=1)
    _record(portfolio, coin, TRANSFER_OUT, "1", "99", fee="3", day=2)

    # The price of a transfer out realises nothing; its fee is a realised loss.
    assert _holding(portfolio, coin) == (D("1"), D("10"), D("-3"))


def test_selling_everything_leaves_a_holding_of_exactly_zero(portfolio, coin):
    _record(portfolio, coin, BUY, "0.3", "10", day=1)
    _record(portfolio, coin, SELL, "0.1", "10", day=2)
    _record(portfolio, coin, SELL, "0.2", "10", day=3)

    assert _holding(portfolio, coin) == (D("0"), D("0"), D("0"))


def test_sell_beyond_holding_is_rejected_and_saves_nothing(portfolio, coin):
    _record(portfolio, coin, BUY, "2", "10", day=1)

    with pytest.raises(ValidationError) as exc:
        _record(portfolio, coin, SELL, "2.5", "10", day=2)

    assert exc.value.message_dict == {
        "quantity": ["Only 2 CN held on 2026-01-02 12:00."]
    }
    assert Transaction.objects.count() == 1
    assert _holding(portfolio, coin) == (D("2"), D("20"), D("0"))


def test_transfer_out_beyond_holding_is_rejected_on_quantity(portfolio, coin):
    _record(portfolio, coin, BUY, "1", "10", day=1)

    with pytest.raises(ValidationError) as exc:
        _record(portfolio, coin, TRANSFER_OUT, "1.5", "0", day=2)

    assert list(exc.value.message_dict) == ["quantity"]
    assert Transaction.objects.count() == 1


@pytest.mark.postgres
def test_postgresql_refuses_a_sell_one_wei_beyond_the_holding(portfolio, coin):
    _record(portfolio, coin, BUY, "1", "10", day=1)

    with pytest.raises(ValidationError) as exc:
        _record(portfolio, coin, SELL, "1.000000000000000001", "10", day=2)

    assert list(exc.value.message_dict) == ["quantity"]
    assert _holding(portfolio, coin) == (D("1"), D("10"), D("0"))


@pytest.mark.postgres
def test_postgresql_keeps_a_holding_of_one_wei(portfolio, coin):
    _record(portfolio, coin, BUY, "1.000000000000000001", "10", day=1)
    _record(portfolio, coin, SELL, "1", "10", day=2)

    assert _holding(portfolio, coin)[0] == D("0.000000000000000001")


def test_sell_with_nothing_held_is_rejected(portfolio, coin):
    with pytest.raises(ValidationError) as exc:
        _record(portfolio, coin, SELL, "1", "10")

    assert exc.value.message_dict == {
        "quantity": ["Only 0 CN held on 2026-01-01 12:00."]
    }
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_backdated_sell_before_the_buy_is_rejected(portfolio, coin):
    _record(portfolio, coin, BUY, "2", "10", day=5)

    with pytest.raises(ValidationError) as exc:
        _record(portfolio, coin, SELL, "1", "10", day=3)

    assert exc.value.message_dict == {
        "quantity": ["Only 0 CN held on 2026-01-03 12:00."]
    }
    assert Transaction.objects.count() == 1
    assert _holding(portfolio, coin) == (D("2"), D("20"), D("0"))


def test_sell_at_the_same_time_as_the_buy_but_recorded_later_is_allowed(
    portfolio, coin
):
    _record(portfolio, coin, BUY, "2", "10", day=1)
    _record(portfolio, coin, SELL, "2", "10", day=1)

    assert _holding(portfolio, coin)[0] == D("0")


def test_invalid_transaction_is_refused_naming_its_field(portfolio, coin):
    with pytest.raises(ValidationError) as exc:
        _record(portfolio, coin, BUY, "0", "10")

    assert exc.value.message_dict == {"quantity": ["Quantity must be more than zero."]}
    assert not Transaction.objects.exists()


def test_transaction_factory_records_through_the_service(portfolio, coin):
    TransactionFactory(portfolio=portfolio, asset=coin, quantity=D("3"))

    assert _holding(portfolio, coin) == (D("3"), D("6"), D("0"))


# Average-cost method -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ledger", "expected"),
    [
        pytest.param(
            [(BUY, "1", "10", "0"), (SELL, "1", "15", "0"), (BUY, "1", "20", "0")],
            (D("1"), D("20"), D("5")),
            id="closed-then-reopened-starts-a-fresh-cost",
        ),
        pytest.param(
            [(BUY, "2", "10", "0"), (BUY, "2", "20", "0"), (SELL, "1", "30", "1")],
            (D("3"), D("45"), D("14")),
            id="average-15-sell-realises-30-minus-1-minus-15",
        ),
        pytest.param(
            [(BUY, "4", "25", "0"), (SELL, "1", "20", "0")],
            (D("3"), D("75"), D("-5")),
            id="sell-below-cost-realises-a-loss",
        ),
        pytest.param(
            [(BUY, "3", "10", "0"), (SELL, "1", "10", "0"), (SELL, "1", "10", "0")],
            (D("1"), D("10"), D("0")),
            id="thirds-of-the-cost-removed",
        ),
        pytest.param(
            [(BUY, "2", "10", "0"), (TRANSFER_OUT, "2", "0", "2.5")],
            (D("0"), D("0"), D("-2.5")),
            id="transfer-out-fee-is-a-realised-loss",
        ),
    ],
)
def test_average_cost_method(portfolio, coin, ledger, expected):
    for day, (kind, quantity, price, fee) in enumerate(ledger, 1):
        _record(portfolio, coin, kind, quantity, price, fee=fee, day=day)

    assert _holding(portfolio, coin) == expected


# Editing and deleting --------------------------------------------------------------


def test_editing_a_buy_rebuilds_the_holding(portfolio, coin):
    buy = _record(portfolio, coin, BUY, "2", "10", day=1)

    services.update_transaction(tx=buy, quantity=D("3"), unit_price=D("12"))

    assert _holding(portfolio, coin) == (D("3"), D("36"), D("0"))


def test_editing_a_buy_down_below_a_later_sell_is_refused_and_changes_nothing(
    portfolio, coin
):
    buy = _record(portfolio, coin, BUY, "2", "10", day=1)
    _record(portfolio, coin, SELL, "2", "15", day=2)

    with pytest.raises(ValidationError) as exc:
        services.update_transaction(tx=buy, quantity=D("1"))

    assert exc.value.messages == [
        "This change would leave 1 CN on 2026-01-02 12:00, less than the sell of 2 "
        "recorded then."
    ]
    buy.refresh_from_db()
    assert buy.quantity == D("2")
    assert _holding(portfolio, coin) == (D("0"), D("0"), D("10"))


def test_editing_a_sell_beyond_the_holding_is_refused_on_quantity(portfolio, coin):
    _record(portfolio, coin, BUY, "2", "10", day=1)
    sell = _record(portfolio, coin, SELL, "1", "15", day=2)

    with pytest.raises(ValidationError) as exc:
        services.update_transaction(tx=sell, quantity=D("3"))

    assert exc.value.message_dict == {
        "quantity": ["Only 2 CN held on 2026-01-02 12:00."]
    }
    sell.refresh_from_db()
    assert sell.quantity == D("1")


def test_moving_a_sell_before_its_buy_is_refused(portfolio, coin):
    _record(portfolio, coin, BUY, "2", "10", day=5)
    sell = _record(portfolio, coin, SELL, "1", "15", day=6)

    with pytest.raises(ValidationError):
        services.update_transaction(tx=sell, executed_at=_at(4))

    sell.refresh_from_db()
    assert sell.executed_at == _at(6)


def test_update_transaction_refuses_fields_outside_the_ledger(portfolio, coin):
    buy = _record(portfolio, coin, BUY, "2", "10")

    with pytest.raises(ValueError, match="Cannot change portfolio"):
        services.update_transaction(tx=buy, portfolio=PortfolioFactory())


def test_moving_a_transaction_to_another_asset_rebuilds_both_holdings(portfolio, coin):
    other = AssetFactory(slug="other", symbol="ot")
    _record(portfolio, coin, BUY, "1", "10", day=1)
    moved = _record(portfolio, coin, BUY, "2", "20", day=2)
    _record(portfolio, other, BUY, "5", "1", day=3)

    services.update_transaction(tx=moved, asset=other)

    assert _holding(portfolio, coin) == (D("1"), D("10"), D("0"))
    assert _holding(portfolio, other) == (D("7"), D("45"), D("0"))


def test_moving_an_assets_only_transaction_away_removes_its_holding(portfolio, coin):
    other = AssetFactory(slug="other", symbol="ot")
    moved = _record(portfolio, coin, BUY, "2", "20")

    services.update_transaction(tx=moved, asset=other)

    assert not Holding.objects.filter(asset=coin).exists()
    assert _holding(portfolio, other) == (D("2"), D("40"), D("0"))


def test_deleting_a_buy_that_a_later_sell_needs_is_refused(portfolio, coin):
    buy = _record(portfolio, coin, BUY, "2", "10", day=1)
    _record(portfolio, coin, SELL, "1", "15", day=2)
    buy_pk = buy.pk

    with pytest.raises(ValidationError) as exc:
        services.delete_transaction(tx=buy)

    assert exc.value.messages == [
        "Deleting this transaction would leave 0 CN on 2026-01-02 12:00, less than "
        "the sell of 1 recorded then."
    ]
    assert Transaction.objects.filter(pk=buy_pk).exists()
    assert _holding(portfolio, coin) == (D("1"), D("10"), D("5"))


def test_deleting_a_sell_gives_the_quantity_back(portfolio, coin):
    _record(portfolio, coin, BUY, "2", "10", day=1)
    sell = _record(portfolio, coin, SELL, "1", "15", day=2)

    services.delete_transaction(tx=sell)

    assert _holding(portfolio, coin) == (D("2"), D("20"), D("0"))


def test_deleting_the_last_transaction_of_an_asset_removes_its_holding(portfolio, coin):
    kept = AssetFactory(slug="kept", symbol="kp")
    buy = _record(portfolio, coin, BUY, "2", "10")
    _record(portfolio, kept, BUY, "1", "1")

    services.delete_transaction(tx=buy)

    assert not Transaction.objects.filter(asset=coin).exists()
    assert list(Holding.objects.values_list("asset__slug", flat=True)) == ["kept"]


def test_holdings_of_one_portfolio_ignore_another_portfolios_ledger(portfolio, coin):
    elsewhere = PortfolioFactory(owner=portfolio.owner, name="Elsewhere")
    _record(elsewhere, coin, BUY, "10", "1")

    with pytest.raises(ValidationError):
        _record(portfolio, coin, SELL, "1", "1", day=2)

    assert _holding(elsewhere, coin) == (D("10"), D("10"), D("0"))


# Many rows at once ----------------------------------------------------------------


def _row(asset: Asset, kind: str, quantity: str, price: str, day: int) -> dict:
    return {
        "asset": asset,
        "kind": kind,
        "quantity": D(quantity),
        "unit_price": D(price),
        "fee": D("0"),
        "executed_at": _at(day),
    }


def test_record_transactions_writes_every_row_and_rebuilds_once(portfolio, coin):
    other = AssetFactory(slug="other", symbol="ot")

    created = services.record_transactions(
        portfolio=portfolio,
        rows=[
            _row(coin, BUY, "2", "10", 1),
            _row(other, BUY, "4", "1", 1),
            _row(coin, SELL, "1", "30", 2),
        ],
    )

    assert created == 3
    assert _holding(portfolio, coin) == (D("1"), D("10"), D("20"))
    assert _holding(portfolio, other) == (D("4"), D("4"), D("0"))


def test_record_transactions_is_all_or_nothing_when_a_sell_exceeds_the_holding(
    portfolio, coin
):
    with pytest.raises(ValidationError) as exc:
        services.record_transactions(
            portfolio=portfolio,
            rows=[_row(coin, BUY, "1", "10", 1), _row(coin, SELL, "2", "10", 2)],
        )

    assert exc.value.message_dict == {
        "quantity": ["row 2: Only 1 CN held on 2026-01-02 12:00."]
    }
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_record_transactions_reports_every_invalid_row_and_saves_nothing(
    portfolio, coin
):
    with pytest.raises(ValidationError) as exc:
        services.record_transactions(
            portfolio=portfolio,
            rows=[
                _row(coin, BUY, "1", "10", 1),
                _row(coin, BUY, "0", "10", 1),
                _row(coin, "swap", "1", "10", 1),
            ],
        )

    assert exc.value.message_dict == {
        "quantity": ["row 2: Quantity must be more than zero."],
        "kind": ["row 3: Value 'swap' is not a valid choice."],
    }
    assert not Transaction.objects.exists()


# Portfolios ----------------------------------------------------------------------


def test_create_portfolio_returns_the_saved_portfolio(user):
    portfolio = services.create_portfolio(
        owner=user,
        name="Long term",
        target_large=D("70"),
        target_mid=D("20"),
        target_small=D("5"),
        target_stable=D("5"),
    )

    assert Portfolio.objects.get() == portfolio
    assert vars(portfolio.target) == {
        "large": D("70"),
        "mid": D("20"),
        "small": D("5"),
        "stable": D("5"),
    }


def test_create_portfolio_rejects_a_duplicate_name_per_owner(user, portfolio):
    with pytest.raises(ValidationError) as exc:
        services.create_portfolio(owner=user, name="Main")

    assert exc.value.message_dict == {
        "name": ["You already have a portfolio called “Main”."]
    }
    assert Portfolio.objects.count() == 1


def test_create_portfolio_allows_the_same_name_for_another_user(portfolio):
    services.create_portfolio(owner=UserFactory(username="bob"), name="Main")

    assert Portfolio.objects.filter(name="Main").count() == 2


def test_update_portfolio_rejects_another_portfolios_name(user, portfolio):
    second = services.create_portfolio(owner=user, name="Second")

    with pytest.raises(ValidationError) as exc:
        services.update_portfolio(portfolio=second, name="Main")

    assert list(exc.value.message_dict) == ["name"]
    second.refresh_from_db()
    assert second.name == "Second"


def test_update_portfolio_keeps_its_own_name(portfolio):
    services.update_portfolio(portfolio=portfolio, name="Main", description="Mine")

    portfolio.refresh_from_db()
    assert portfolio.description == "Mine"


def test_create_portfolio_refuses_target_weights_not_adding_up_to_100(user):
    with pytest.raises(ValidationError) as exc:
        services.create_portfolio(owner=user, name="Odd", target_large=D("60"))

    # One rule, one message everywhere (form, API, service): it names the sum.
    assert exc.value.message_dict == {
        NON_FIELD_ERRORS: [
            "Target weights must add up to 100 %; these add up to 110 %."
        ]
    }
    assert not Portfolio.objects.exists()


def test_full_clean_refuses_target_weights_not_adding_up_to_100(user):
    portfolio = PortfolioFactory.build(owner=user, target_small=D("14.99"))

    with pytest.raises(ValidationError, match="must add up to 100 %"):
        portfolio.full_clean()


def test_database_refuses_target_weights_not_adding_up_to_100(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        PortfolioFactory(owner=user, target_stable=D("5.01"))


def test_delete_portfolio_removes_its_ledger_and_holdings(portfolio, coin):
    _record(portfolio, coin, BUY, "2", "10")

    services.delete_portfolio(portfolio=portfolio)

    assert not Portfolio.objects.exists()
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()
    assert Asset.objects.filter(pk=coin.pk).exists()


# Database constraints, bypassing the service ----------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"quantity": D("0")}, id="quantity-zero"),
        pytest.param({"quantity": D("-1")}, id="quantity-negative"),
        pytest.param({"unit_price": D("-0.01")}, id="price-negative"),
        pytest.param({"fee": D("-0.000000000000000001")}, id="fee-negative"),
        pytest.param({"kind": "swap"}, id="kind-unknown"),
    ],
)
def test_database_refuses_invalid_transactions(portfolio, coin, values):
    tx = TransactionFactory.build(portfolio=portfolio, asset=coin, **values)

    with pytest.raises(IntegrityError), transaction.atomic():
        tx.save()


def test_database_accepts_a_free_transaction_at_price_zero(portfolio, coin):
    tx = TransactionFactory.build(
        portfolio=portfolio, asset=coin, unit_price=D("0"), fee=D("0")
    )
    tx.save()

    assert Transaction.objects.get().unit_price == D("0")


def test_database_refuses_a_negative_holding(portfolio, coin):
    with pytest.raises(IntegrityError), transaction.atomic():
        Holding.objects.create(
            portfolio=portfolio,
            asset=coin,
            quantity=D("-1"),
            cost_basis=D("0"),
            realized_pnl=D("0"),
        )
