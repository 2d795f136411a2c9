"""Lots and cost-basis methods, the realised-gains report, and rewards as income
(PRODUCT.md: cost basis, performance of a portfolio). Figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portfolios import lots, realized, series, services
from portfolios.models import CostBasisMethod, Disposal, Holding, Portfolio
from tests.factories import (
    AssetFactory,
    MarketSnapshotFactory,
    PortfolioFactory,
    UserFactory,
)
from valuations.models import Asset

D = Decimal

pytestmark = pytest.mark.django_db

JAN = datetime(2025, 1, 10, 12, tzinfo=UTC)


@pytest.fixture
def coin() -> Asset:
    return AssetFactory(slug="coin", symbol="cn", name="Coin", price=D("30000"))


def _ledger(portfolio: Portfolio, coin: Asset, method: str) -> None:
    """Two buys (1 @ $10,000, then 1 @ $20,000) and a sell of 1 @ $30,000."""
    services.update_portfolio(portfolio=portfolio, cost_basis_method=method)
    for days, kind, price in (
        (0, "buy", "10000"),
        (30, "buy", "20000"),
        (60, "sell", "30000"),
    ):
        services.record_transaction(
            portfolio=portfolio,
            asset=coin,
            kind=kind,
            quantity=D("1"),
            unit_price=D(price),
            executed_at=JAN + timedelta(days=days),
        )


@pytest.mark.parametrize(
    ("method", "realised", "cost_left", "acquired"),
    [
        # FIFO sells the $10,000 lot: 30,000 − 10,000; the $20,000 lot stays.
        ("fifo", "20000", "20000", JAN),
        # LIFO and HIFO sell the $20,000 lot: 30,000 − 20,000.
        ("lifo", "10000", "10000", JAN + timedelta(days=30)),
        ("hifo", "10000", "10000", JAN + timedelta(days=30)),
        # Average: half of $30,000 of cost: 30,000 − 15,000; dated oldest first.
        ("average", "15000", "15000", JAN),
    ],
)
def test_each_method_realises_the_hand_computed_gain(
    portfolio, coin, method, realised, cost_left, acquired
):
    _ledger(portfolio, coin, method)

    holding = Holding.objects.get(portfolio=portfolio, asset=coin)
    assert (holding.quantity, holding.realized_pnl, holding.cost_basis) == (
        D("1"),
        D(realised),
        D(cost_left),
    )
    (disposal,) = Disposal.objects.filter(portfolio=portfolio)
    assert (disposal.quantity, disposal.proceeds, disposal.gain) == (
        D("1"),
        D("30000"),
        D(realised),
    )
    assert disposal.acquired_at == acquired
    assert disposal.long_term is False


def test_changing_the_method_recomputes_holdings_and_disposals(portfolio, coin):
    _ledger(portfolio, coin, "fifo")

    services.update_portfolio(portfolio=portfolio, cost_basis_method="lifo")

    holding = Holding.objects.get(portfolio=portfolio, asset=coin)
    assert holding.realized_pnl == D("10000")
    assert Disposal.objects.get(portfolio=portfolio).cost == D("20000")


def test_a_sell_across_lots_is_one_line_per_lot_sharing_proceeds_and_fee(
    portfolio, coin
):
    services.update_portfolio(portfolio=portfolio, cost_basis_method="fifo")
    for days, quantity, price, fee in ((0, "1", "100", "2"), (10, "3", "200", "0")):
        services.record_transaction(
            portfolio=portfolio,
            asset=coin,
            kind="buy",
            quantity=D(quantity),
            unit_price=D(price),
            fee=D(fee),
            executed_at=JAN + timedelta(days=days),
        )
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="sell",
        quantity=D("2"),
        unit_price=D("300"),
        fee=D("10"),
        executed_at=JAN + timedelta(days=20),
    )

    # Proceeds 2 × 300 − 10 = 590, half per unit; lot 1 cost 100 + 2 fee,
    # one unit of lot 2 costs 200.
    lines = list(
        Disposal.objects.order_by("acquired_at").values_list(
            "quantity", "proceeds", "cost", "gain"
        )
    )
    assert lines == [
        (D("1"), D("295"), D("102"), D("193")),
        (D("1"), D("295"), D("200"), D("95")),
    ]
    assert Holding.objects.get(asset=coin).cost_basis == D("400")  # 2 × 200 left


def test_holding_periods_split_at_exactly_365_days():
    bought = datetime(2024, 3, 1, 9, tzinfo=UTC)
    position = lots.Position()
    lots.acquire(position, at=bought, quantity=D("2"), cost=D("20"))

    (short,) = lots.dispose(
        position,
        method="fifo",
        kind="sell",
        at=bought + timedelta(days=365, seconds=-1),
        quantity=D("1"),
        unit_price=D("15"),
        fee=D("0"),
    )
    (long,) = lots.dispose(
        position,
        method="fifo",
        kind="sell",
        at=bought + timedelta(days=365),
        quantity=D("1"),
        unit_price=D("15"),
        fee=D("0"),
    )

    assert (short.long_term, long.long_term) == (False, True)
    assert short.gain == long.gain == D("5")


def test_a_transfer_out_moves_lots_without_a_gain_line(portfolio, coin):
    services.update_portfolio(portfolio=portfolio, cost_basis_method="hifo")
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="buy",
        quantity=D("2"),
        unit_price=D("50"),
        executed_at=JAN,
    )
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="transfer_out",
        quantity=D("1"),
        unit_price=D("60"),
        fee=D("1"),
        executed_at=JAN + timedelta(days=1),
    )

    holding = Holding.objects.get(asset=coin)
    assert (holding.quantity, holding.cost_basis, holding.realized_pnl) == (
        D("1"),
        D("50"),
        D("-1"),  # the transfer's fee
    )
    assert not Disposal.objects.exists()


def test_a_reward_is_income_and_a_return_never_a_flow(portfolio, coin):
    for day, price in ((10, "100"), (11, "100"), (12, "100")):
        MarketSnapshotFactory(
            asset=coin,
            taken_at=datetime(2025, 1, day, 18, tzinfo=UTC),
            price=D(price),
            circulating_supply=coin.circulating_supply,
        )
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="buy",
        quantity=D("10"),
        unit_price=D("100"),
        executed_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
    )
    # 0.5 coin of staking reward, no price given: valued at that day's $100.
    reward = services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="reward",
        quantity=D("0.5"),
        executed_at=datetime(2025, 1, 11, 9, tzinfo=UTC),
    )

    assert reward.unit_price == D("100")
    result = series.performance_between(portfolio)
    assert result is not None
    # Invested $1,000; worth 10.5 × 100 = $1,050: the $50 reward is a 5 % return.
    assert (result.net_invested, result.value_end) == (D("1000"), D("1050"))
    assert result.twr == D("5")
    assert (result.income, result.income_by_year) == (D("50"), {2025: D("50")})
    # Its own lot at its value: cost basis 1,000 + 50.
    assert Holding.objects.get(asset=coin).cost_basis == D("1050")


def test_a_reward_without_a_price_on_a_day_without_market_data_is_refused(
    portfolio, coin
):
    with pytest.raises(ValidationError) as refused:
        services.record_transaction(
            portfolio=portfolio,
            asset=coin,
            kind="reward",
            quantity=D("1"),
            executed_at=JAN,
        )

    assert refused.value.message_dict == {
        "unit_price": [
            "No market price for CN on 2025-01-10: give the price at receipt."
        ]
    }


def test_totals_per_year_split_short_and_long(portfolio, coin):
    services.update_portfolio(portfolio=portfolio, cost_basis_method="fifo")
    bought = datetime(2023, 6, 1, tzinfo=UTC)
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="buy",
        quantity=D("3"),
        unit_price=D("100"),
        executed_at=bought,
    )
    for when, price in (
        (datetime(2023, 9, 1, tzinfo=UTC), "150"),  # short: +50
        (datetime(2024, 7, 1, tzinfo=UTC), "80"),  # long: −20
        (datetime(2024, 8, 1, tzinfo=UTC), "300"),  # long: +200
    ):
        services.record_transaction(
            portfolio=portfolio,
            asset=coin,
            kind="sell",
            quantity=D("1"),
            unit_price=D(price),
            executed_at=when,
        )

    totals = {t.year: t for t in realized.totals_by_year(portfolio)}

    assert list(totals) == [2024, 2023]
    assert (totals[2023].short_term_gain, totals[2023].long_term_gain) == (D("50"), 0)
    assert (totals[2024].gain, totals[2024].long_term_gain) == (D("180"), D("180"))
    assert (totals[2024].proceeds, totals[2024].cost, totals[2024].disposals) == (
        D("380"),
        D("200"),
        2,
    )


def _sold(portfolio: Portfolio, coin: Asset) -> None:
    _ledger(portfolio, coin, CostBasisMethod.FIFO)


def test_the_realized_api_lists_a_years_disposals_with_totals(
    api_client, portfolio, coin
):
    _sold(portfolio, coin)

    body = api_client.get(f"/api/v1/portfolios/{portfolio.pk}/realized/").json()

    assert (body["method"], body["year"], body["count"]) == ("fifo", 2025, 1)
    assert body["totals"]["gain"] == "20000"
    (line,) = body["results"]
    assert line == {
        "asset": "coin",
        "date_acquired": "2025-01-10T12:00:00Z",
        "date_disposed": "2025-03-11T12:00:00Z",
        "quantity": "1",
        "proceeds": "30000",
        "cost": "10000",
        "gain": "20000",
        "holding_period": "short",
    }
    empty = api_client.get(
        f"/api/v1/portfolios/{portfolio.pk}/realized/", {"year": 2024}
    ).json()
    assert (empty["count"], empty["totals"]) == (0, None)
    bad = api_client.get(f"/api/v1/portfolios/{portfolio.pk}/realized/", {"year": "x"})
    assert bad.status_code == 400 and "year" in bad.json()


def test_another_users_realized_report_is_404(api_client, client_logged_in, coin):
    other = PortfolioFactory(owner=UserFactory())
    _sold(other, coin)

    assert api_client.get(f"/api/v1/portfolios/{other.pk}/realized/").status_code == 404
    page = reverse("portfolios:realized", args=[other.pk])
    export = reverse("portfolios:realized-export", args=[other.pk])
    assert client_logged_in.get(page).status_code == 404
    assert client_logged_in.get(export).status_code == 404


def test_the_realized_page_and_csv(client_logged_in, portfolio, coin):
    _sold(portfolio, coin)

    page = client_logged_in.get(reverse("portfolios:realized", args=[portfolio.pk]))
    export = client_logged_in.get(
        reverse("portfolios:realized-export", args=[portfolio.pk]), {"year": 2025}
    )

    html = page.content.decode()
    assert "Realised gains in 2025" in html
    assert "First in, first out (FIFO)" in html
    assert "$20,000" in html
    assert export["Content-Disposition"].endswith('realized-2025.csv"')
    assert export.content.decode().splitlines() == [
        ",".join(realized.CSV_COLUMNS),
        "coin,CN,2025-01-10T12:00:00+00:00,2025-03-11T12:00:00+00:00,1,30000,10000,20000,short",
    ]


def test_a_thousand_lots_sold_at_once_are_a_thousand_report_lines(portfolio, coin):
    # Past 1,000 lines PostgreSQL writes them with COPY: the same lines.
    services.update_portfolio(portfolio=portfolio, cost_basis_method="fifo")
    rows = [
        {
            "asset": coin,
            "kind": "buy",
            "quantity": D("1"),
            "unit_price": D(n),
            "fee": D("0"),
            "executed_at": JAN + timedelta(minutes=n),
        }
        for n in range(1, 1201)
    ]
    rows.append(
        {
            "asset": coin,
            "kind": "sell",
            "quantity": D("1200"),
            "unit_price": D("1000"),
            "fee": D("0"),
            "executed_at": JAN + timedelta(days=400),
        }
    )

    services.record_transactions(portfolio=portfolio, rows=rows)

    lines = Disposal.objects.filter(portfolio=portfolio)
    assert lines.count() == 1200
    # Σ (1000 − n) for n = 1…1200 = 1,200,000 − 720,600; all held over a year.
    assert sum(d.gain for d in lines) == D("479400")
    assert all(d.long_term for d in lines)
    assert lines.get(acquired_at=JAN + timedelta(minutes=7)).cost == D("7")
