"""Holdings, allocation, rebalance and history of a portfolio (owner only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portfolios import services
from portfolios.models import Transaction
from tests.api.conftest import MISSING_ID, assert_same_404, queries_for
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    PortfolioFactory,
    SupplyUnlockFactory,
    TransactionFactory,
)
from valuations.models import Asset, MarketSnapshot
from valuations.state import refresh_market_state

TODAY = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
BOUGHT = datetime(2026, 4, 1, tzinfo=UTC)


def url(portfolio_id: int, view: str) -> str:
    return f"/api/v1/portfolios/{portfolio_id}/{view}/"


@pytest.fixture
def coins(db, time_machine) -> dict[str, Asset]:
    """One asset per bucket; today is 1 May 2026."""
    time_machine.move_to(TODAY, tick=False)
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    coins = {
        # $20B: large; volume ÷ cap 0.1 (healthy); 1M tokens unlock in 10 days.
        "bigcoin": AssetFactory(
            slug="bigcoin",
            name="Bigcoin",
            price=Decimal("100"),
            circulating_supply=Decimal("200000000"),
            total_supply=Decimal("200000000"),
            max_supply=Decimal("200000000"),
            volume_24h=Decimal("2000000000"),
        ),
        # $2B: mid; FDV $10B, a dilution ratio of 5.
        "midcoin": AssetFactory(
            slug="midcoin",
            name="Midcoin",
            price=Decimal("10"),
            circulating_supply=Decimal("200000000"),
            max_supply=Decimal("1000000000"),
            volume_24h=Decimal("400000000"),
        ),
        # $100M: small; volume ÷ cap 0.01 (low liquidity).
        "smallcoin": AssetFactory(
            slug="smallcoin",
            name="Smallcoin",
            price=Decimal("1"),
            circulating_supply=Decimal("100000000"),
            max_supply=Decimal("100000000"),
            volume_24h=Decimal("1000000"),
        ),
        # $50B, but a stablecoin: the stable bucket.
        "usd-coin": AssetFactory(
            slug="usd-coin",
            name="USD Coin",
            price=Decimal("1"),
            circulating_supply=Decimal("50000000000"),
            total_supply=None,
            max_supply=None,
            volume_24h=Decimal("10000000000"),
            categories=[stable],
        ),
    }
    SupplyUnlockFactory(
        asset=coins["bigcoin"], date=date(2026, 5, 11), amount=Decimal("1000000")
    )
    return coins


@pytest.fixture
def mixed(portfolio, coins):
    """Main: $300 each of large, mid and small, $100 of stablecoin: $1,000.

    Midcoin: 35 bought at $8, 5 sold at $12 — 30 left costing $240, $20 realised.
    """

    def record(slug: str, quantity: str, price: str, **extra) -> None:
        TransactionFactory(
            portfolio=portfolio,
            asset=coins[slug],
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            executed_at=extra.pop("executed_at", BOUGHT),
            **extra,
        )

    record("bigcoin", "3", "80")
    record("midcoin", "35", "8")
    record(
        "midcoin",
        "5",
        "12",
        kind=Transaction.Kind.SELL,
        executed_at=BOUGHT.replace(hour=6),
    )
    record("smallcoin", "300", "2")
    record("usd-coin", "100", "1", fee=Decimal("1"))
    return portfolio


@pytest.fixture
def theirs(other_user, coins):
    portfolio = PortfolioFactory(owner=other_user, name="Theirs")
    TransactionFactory(portfolio=portfolio, asset=coins["bigcoin"], executed_at=BOUGHT)
    return portfolio


def _bulk_portfolio(portfolio, count: int, *, start: int = 0) -> None:
    """Add ``count`` small-cap assets bought on 1 April, each with two snapshots."""
    assets = Asset.objects.bulk_create(
        Asset(
            slug=f"bulk-{n:03d}",
            symbol=f"b{n}",
            name=f"Bulk {n}",
            price=Decimal("2"),
            circulating_supply=Decimal("1000000"),
            volume_24h=Decimal("500000"),
        )
        for n in range(start, start + count)
    )
    refresh_market_state()  # as every write path does
    MarketSnapshot.objects.bulk_create(
        MarketSnapshot(
            asset=asset,
            taken_at=datetime(2026, 4, day, 12, tzinfo=UTC),
            price=Decimal("2"),
            circulating_supply=Decimal("1000000"),
        )
        for asset in assets
        for day in (2, 3)
    )
    services.record_transactions(
        portfolio=portfolio,
        rows=[
            {
                "asset": asset,
                "kind": "buy",
                "quantity": Decimal("1"),
                "unit_price": Decimal("1"),
                "executed_at": BOUGHT,
            }
            for asset in assets
        ],
    )


# Holdings -----------------------------------------------------------------------


def test_holdings_are_valued_at_current_prices_largest_first(api_client, mixed):
    response = api_client.get(url(mixed.pk, "holdings"))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert body["results"] == [
        {
            "asset": "bigcoin",
            "quantity": "3",
            "price": "100",
            "value": "300",
            "weight": "30",
            "tier": "large",
            "bucket": "large",
            "cost_basis": "240",
            "unrealized_pnl": "60",
            "realized_pnl": "0",
        },
        {
            "asset": "midcoin",
            "quantity": "30",
            "price": "10",
            "value": "300",
            "weight": "30",
            "tier": "mid",
            "bucket": "mid",
            "cost_basis": "240",
            "unrealized_pnl": "60",
            "realized_pnl": "20",
        },
        {
            "asset": "smallcoin",
            "quantity": "300",
            "price": "1",
            "value": "300",
            "weight": "30",
            "tier": "small",
            "bucket": "small",
            "cost_basis": "600",
            "unrealized_pnl": "-300",
            "realized_pnl": "0",
        },
        {
            "asset": "usd-coin",
            "quantity": "100",
            "price": "1",
            "value": "100",
            "weight": "10",
            "tier": "large",
            "bucket": "stable",
            "cost_basis": "101",
            "unrealized_pnl": "-1",
            "realized_pnl": "0",
        },
    ]


def test_a_position_sold_in_full_is_not_listed(api_client, portfolio, coins):
    TransactionFactory(portfolio=portfolio, asset=coins["bigcoin"], executed_at=BOUGHT)
    TransactionFactory(
        portfolio=portfolio,
        asset=coins["bigcoin"],
        kind=Transaction.Kind.SELL,
        executed_at=BOUGHT.replace(hour=1),
    )

    assert api_client.get(url(portfolio.pk, "holdings")).json()["results"] == []


def test_holdings_are_paginated(api_client, mixed):
    body = api_client.get(url(mixed.pk, "holdings"), {"page_size": 3}).json()

    assert len(body["results"]) == 3
    assert body["next"].endswith("page=2&page_size=3")


# Allocation ---------------------------------------------------------------------


def test_allocation_shows_buckets_against_target_diversification_and_flags(
    api_client, mixed
):
    response = api_client.get(url(mixed.pk, "allocation"))

    assert response.status_code == 200
    body = response.json()
    assert body["total_value"] == "1000"
    # Balanced target 50/30/15/5, ±5 points: a drift of exactly 5 is inside.
    assert body["buckets"] == [
        {
            "bucket": "large",
            "value": "300",
            "weight": "30",
            "target": "50",
            "drift": "-20",
            "outside_band": True,
        },
        {
            "bucket": "mid",
            "value": "300",
            "weight": "30",
            "target": "30",
            "drift": "0",
            "outside_band": False,
        },
        {
            "bucket": "small",
            "value": "300",
            "weight": "30",
            "target": "15",
            "drift": "15",
            "outside_band": True,
        },
        {
            "bucket": "stable",
            "value": "100",
            "weight": "10",
            "target": "5",
            "drift": "5",
            "outside_band": False,
        },
        {
            "bucket": "unranked",
            "value": "0",
            "weight": "0",
            "target": "0",
            "drift": "0",
            "outside_band": False,
        },
    ]
    # Even across large/mid/small; HHI 3 × 0.3² + 0.1² = 0.28; 1 ÷ 0.28.
    assert body["diversification"] == {
        "score": "1",
        "effective_tiers": "3",
        "hhi": "0.28",
        "effective_holdings": "3.571429",
        "largest_weight": "30",
    }
    # Smallcoin trades 1 % of its cap a day: a "low" band, but not thin.
    assert [(f["code"], f["asset"]) for f in body["flags"]] == [
        ("unlock_soon", "bigcoin"),
        ("high_dilution", "midcoin"),
    ]
    assert body["flags"][0]["message"] == (
        "1,000,000 Bigcoin tokens unlock on 2026-05-11, in 10 days, within the "
        "30-day window."
    )


def test_a_single_tier_scores_zero_and_one_holding_is_fully_concentrated(
    api_client, portfolio, coins
):
    TransactionFactory(portfolio=portfolio, asset=coins["bigcoin"], executed_at=BOUGHT)

    body = api_client.get(url(portfolio.pk, "allocation")).json()

    assert body["diversification"] == {
        "score": "0",
        "effective_tiers": "1",
        "hhi": "1",
        "effective_holdings": "1",
        "largest_weight": "100",
    }
    assert ("concentration", "bigcoin") in [
        (f["code"], f["asset"]) for f in body["flags"]
    ]


def test_an_empty_portfolio_has_no_diversification_figures(api_client, portfolio):
    body = api_client.get(url(portfolio.pk, "allocation")).json()

    assert body["total_value"] == "0"
    assert set(body["diversification"].values()) == {None}
    assert body["flags"] == []


# Rebalance ----------------------------------------------------------------------


def test_a_full_rebalance_sells_the_overweight_to_buy_the_underweight(
    api_client, mixed
):
    response = api_client.get(url(mixed.pk, "rebalance"))

    assert response.status_code == 200
    assert response.json() == {
        "mode": "full",
        "cash": "0",
        "buckets": [
            {"bucket": "large", "amount": "200"},
            {"bucket": "mid", "amount": "0"},
            {"bucket": "small", "amount": "-150"},
            {"bucket": "stable", "amount": "-50"},
            {"bucket": "unranked", "amount": "0"},
        ],
        "trades": [
            {
                "asset": "bigcoin",
                "amount": "200",
                "bucket": "large",
                "is_candidate": False,
            },
            {
                "asset": "smallcoin",
                "amount": "-150",
                "bucket": "small",
                "is_candidate": False,
            },
            {
                "asset": "usd-coin",
                "amount": "-50",
                "bucket": "stable",
                "is_candidate": False,
            },
        ],
        "resulting_weights": {
            "large": "50",
            "mid": "30",
            "small": "15",
            "stable": "5",
            "unranked": "0",
        },
    }


def test_buying_only_with_enough_cash_reaches_the_target_without_selling(
    api_client, mixed
):
    body = api_client.get(
        url(mixed.pk, "rebalance"), {"mode": "buy_only", "cash": "1000"}
    ).json()

    assert (body["mode"], body["cash"]) == ("buy_only", "1000")
    assert {b["bucket"]: b["amount"] for b in body["buckets"]} == {
        "large": "700",
        "mid": "300",
        "small": "0",
        "stable": "0",
        "unranked": "0",
    }
    assert [(t["asset"], t["amount"]) for t in body["trades"]] == [
        ("bigcoin", "700"),
        ("midcoin", "300"),
    ]
    assert body["resulting_weights"] == {
        "large": "50",
        "mid": "30",
        "small": "15",
        "stable": "5",
        "unranked": "0",
    }


def test_buying_into_an_empty_tier_suggests_its_largest_assets(
    api_client, portfolio, coins
):
    TransactionFactory(
        portfolio=portfolio,
        asset=coins["bigcoin"],
        quantity=Decimal("3"),
        executed_at=BOUGHT,
    )

    body = api_client.get(
        url(portfolio.pk, "rebalance"), {"mode": "buy_only", "cash": "100"}
    ).json()

    # $400 after the cash: mid is short $120, small $60, stable $20; the $100
    # levels the two largest shortfalls down to $40 each.
    assert [(t["asset"], t["amount"], t["is_candidate"]) for t in body["trades"]] == [
        ("midcoin", "80", True),
        ("smallcoin", "20", True),
    ]
    assert body["resulting_weights"]["large"] == "75"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"mode": "sideways"}, "mode"),
        ({"cash": "-5"}, "cash"),
        ({"cash": "lots"}, "cash"),
        ({"cash": "1" + "0" * 22}, "cash"),
    ],
)
def test_bad_rebalance_parameters_are_a_400_naming_them(
    api_client, mixed, params, field
):
    response = api_client.get(url(mixed.pk, "rebalance"), params)

    assert response.status_code == 400
    assert field in response.json()


# History ------------------------------------------------------------------------


@pytest.fixture
def with_history(mixed, coins):
    """Snapshots on 2 and 3 April; bigcoin doubles on the 3rd, smallcoin is missing."""
    prices = {
        2: {"bigcoin": "100", "midcoin": "10", "smallcoin": "1", "usd-coin": "1"},
        3: {"bigcoin": "200", "midcoin": "10", "usd-coin": "1"},
    }
    for day, by_slug in prices.items():
        for slug, price in by_slug.items():
            MarketSnapshotFactory(
                asset=coins[slug],
                taken_at=datetime(2026, 4, day, 12, tzinfo=UTC),
                price=Decimal(price),
                circulating_supply=coins[slug].circulating_supply,
            )
    return mixed


def test_history_values_each_day_at_that_days_prices_and_tiers(
    api_client, with_history
):
    response = api_client.get(url(with_history.pk, "history"))

    assert response.status_code == 200
    days = response.json()["results"]
    # 1 April: no snapshot yet, each holding at its trade's price (midcoin's
    # last trade, the sell at $12): 240 + 360 + 600 + 100. 3 April: smallcoin
    # has no snapshot, so its 2 April price is carried (a day old).
    assert [
        (d["date"], d["value"], d["net_invested"], d["flow"], d["price_age"])
        for d in days
    ] == [
        ("2026-04-01", "1300", "1161", "1161", 0),
        ("2026-04-02", "1000", "1161", "0", 0),
        ("2026-04-03", "1300", "1161", "0", 1),
    ]
    assert days[1]["weights"] == {
        "large": "30",
        "mid": "30",
        "small": "30",
        "stable": "10",
        "unranked": "0",
    }
    assert days[0]["weights"]["stable"] != "0"  # a stablecoin, snapshot or not
    assert days[2]["weights"]["small"] != "0"  # kept, at its carried price


def test_performance_over_the_history_and_a_range(api_client, with_history):
    whole = api_client.get(url(with_history.pk, "performance")).json()
    last_day = api_client.get(
        url(with_history.pk, "performance"), {"start": "2026-04-03"}
    ).json()

    # 1161 put in, 1300 at the end; 1 → 2 April: 1000 ÷ 1300 − 1; then × 1.3.
    assert whole["start"] == "2026-04-01"
    assert whole["end"] == "2026-04-03"
    assert (whole["value_start"], whole["value_end"]) == ("0", "1300")
    assert (whole["net_invested"], whole["net_flows"], whole["profit"]) == (
        "1161",
        "1161",
        "139",
    )
    assert whole["twr"] == "0"
    assert last_day["value_start"] == "1000"
    assert (last_day["net_flows"], last_day["profit"]) == ("0", "300")
    assert last_day["twr"] == "30"
    # 30 % in a day compounds past any yearly rate that means something.
    assert last_day["mwr"] is None


def test_performance_without_history_is_empty_not_an_error(api_client, mixed):
    body = api_client.get(url(mixed.pk, "performance")).json()

    assert body == {
        "start": None,
        "end": None,
        "value_start": "0",
        "value_end": "0",
        "net_invested": "0",
        "net_flows": "0",
        "profit": "0",
        "twr": None,
        "mwr": None,
        "income": "0",
        "income_by_year": [],
        "benchmarks": [],
    }


@pytest.mark.parametrize(
    ("params", "dates"),
    [
        ({"start": "2026-04-03"}, ["2026-04-03"]),
        ({"end": "2026-04-02"}, ["2026-04-01", "2026-04-02"]),
        ({"start": "2026-04-04"}, []),
    ],
)
def test_history_is_limited_to_the_dates_asked(api_client, with_history, params, dates):
    results = api_client.get(url(with_history.pk, "history"), params).json()["results"]

    assert [point["date"] for point in results] == dates


def test_a_portfolio_without_snapshots_has_no_history(api_client, mixed):
    assert api_client.get(url(mixed.pk, "history")).json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-04-03", "end": "2026-04-02"}, "start"),
        ({"start": "soon"}, "start"),
        ({"end": "2026-02-30"}, "end"),
    ],
)
def test_bad_history_dates_are_a_400_naming_them(
    api_client, with_history, params, field
):
    response = api_client.get(url(with_history.pk, "history"), params)

    assert response.status_code == 400
    assert field in response.json()


# Query budgets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "params"),
    [
        ("holdings", {"page_size": 100}),
        ("allocation", {}),
        ("rebalance", {"mode": "buy_only", "cash": "50"}),
        ("history", {}),
        ("performance", {}),
        ("performance", {"start": "2026-04-02"}),
    ],
)
def test_analytics_run_the_same_queries_for_5_and_60_holdings(
    api_client, portfolio, django_assert_num_queries, view, params
):
    _bulk_portfolio(portfolio, 5)
    budget = queries_for(lambda: api_client.get(url(portfolio.pk, view), params))
    _bulk_portfolio(portfolio, 55, start=5)

    with django_assert_num_queries(budget):
        response = api_client.get(url(portfolio.pk, view), params)
    if view == "holdings":
        assert response.json()["count"] == 60
    if view == "allocation":
        assert response.json()["total_value"] == "120"


@pytest.mark.parametrize(
    ("view", "params"),
    [("history", {}), ("performance", {}), ("performance", {"start": "2026-04-02"})],
)
def test_history_and_performance_cost_the_same_for_5_and_500_transactions(
    api_client, portfolio, django_assert_num_queries, view, params
):
    _bulk_portfolio(portfolio, 5)
    budget = queries_for(lambda: api_client.get(url(portfolio.pk, view), params))
    asset = Asset.objects.get(slug="bulk-000")
    services.record_transactions(
        portfolio=portfolio,
        rows=[
            {
                "asset": asset,
                "kind": "buy",
                "quantity": Decimal("1"),
                "unit_price": Decimal("2"),
                "fee": Decimal("0"),
                "executed_at": datetime(2026, 4, 2, 12, tzinfo=UTC)
                + timedelta(seconds=n),
            }
            for n in range(495)
        ],
    )

    with django_assert_num_queries(budget):
        response = api_client.get(url(portfolio.pk, view), params)
    assert response.status_code == 200


# Isolation and anonymous ----------------------------------------------------------

VIEWS = ["holdings", "allocation", "rebalance", "history", "performance"]


@pytest.mark.parametrize("view", VIEWS)
def test_another_users_analytics_are_a_404_like_a_missing_portfolio(
    api_client, theirs, view
):
    assert_same_404(
        api_client.get(url(theirs.pk, view)), api_client.get(url(MISSING_ID, view))
    )


@pytest.mark.parametrize("view", VIEWS)
def test_anonymous_analytics_are_401(anon_client, mixed, view):
    response = anon_client.get(url(mixed.pk, view))

    assert response.status_code == 401
    assert "detail" in response.json()


def test_a_cached_read_follows_every_write(api_client, mixed, coins):
    before = api_client.get(url(mixed.pk, "allocation")).json()["total_value"]
    api_client.post(
        f"/api/v1/portfolios/{mixed.pk}/transactions/",
        {
            "asset": "usd-coin",
            "kind": "buy",
            "quantity": "100",
            "price": "1",
            "executed_at": "2026-04-02T00:00:00Z",
        },
        format="json",
    )
    after_ledger = api_client.get(url(mixed.pk, "allocation")).json()["total_value"]
    bigcoin = coins["bigcoin"]
    bigcoin.price = Decimal("200")
    bigcoin.save()
    refresh_market_state(asset_ids=[bigcoin.pk])  # as every market write does
    after_market = api_client.get(url(mixed.pk, "allocation")).json()["total_value"]

    # $1,000, then $100 more of USDC, then bigcoin's 3 units worth $300 more.
    assert (before, after_ledger, after_market) == ("1000", "1100", "1400")


@pytest.mark.parametrize(
    "view", ["holdings", "allocation", "rebalance", "history", "performance"]
)
def test_a_repeated_read_is_one_query_for_the_portfolio_and_the_market(
    api_client, with_history, django_assert_num_queries, view
):
    first = api_client.get(url(with_history.pk, view))

    with django_assert_num_queries(1):
        again = api_client.get(url(with_history.pk, view))

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
