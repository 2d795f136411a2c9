"""GET /api/v1/assets/compare/: assets side by side, prices at each other's caps,
histories indexed to 100 (figures worked out by hand from the ``market`` fixture).

bitcoin 1898 × 10M = $18.98B (large), beta 20 × 50M = $1B (mid), alpha
40 × 500k = $20M (small), delta has no price (unranked).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.factories import AssetFactory, MarketSnapshotFactory
from valuations.models import AssetVolatility

URL = "/api/v1/assets/compare/"


def _day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 4, n, hour, tzinfo=UTC)


def _snap(asset, day: int, price: str, supply: str, hour: int = 12) -> None:
    MarketSnapshotFactory(
        asset=asset,
        taken_at=_day(day, hour),
        price=Decimal(price),
        circulating_supply=Decimal(supply),
    )


def test_compare_serves_every_metric_side_by_side_in_the_order_asked(
    anon_client, market
):
    response = anon_client.get(URL, {"ids": "beta,bitcoin,alpha"})

    assert response.status_code == 200, response.content
    beta, bitcoin, alpha = response.json()["assets"]
    assert [beta["slug"], bitcoin["slug"], alpha["slug"]] == [
        "beta",
        "bitcoin",
        "alpha",
    ]
    assert bitcoin["rank"] == 1 and beta["rank"] == 2 and alpha["rank"] == 3
    assert bitcoin["market_cap"] == "18980000000"
    assert bitcoin["tier"] == "large"
    assert bitcoin["fully_diluted_valuation"] is None
    assert bitcoin["volume_to_market_cap"] == "0.01"
    assert bitcoin["liquidity"] == "low"
    assert bitcoin["thin_market"] is False
    assert bitcoin["dominance"] == "94.9"
    assert beta["market_cap"] == "1000000000"
    assert beta["tier"] == "mid"  # the boundary belongs to the upper tier
    assert beta["fully_diluted_valuation"] == "1200000000"
    assert beta["fdv_basis"] == "total_supply"
    assert beta["dilution_ratio"] == "1.2"
    assert beta["circulating_share"] == "83.333333333333333333"
    assert beta["volume_to_market_cap"] == "2"
    assert beta["liquidity"] == "high"
    assert alpha["tier"] == "small"
    assert alpha["dilution_ratio"] == "2"
    assert alpha["circulating_share"] == "50"
    assert alpha["liquidity"] == "healthy"
    assert alpha["quality_flags"] == []


def test_compare_gives_the_price_each_needs_at_each_others_cap(anon_client, market):
    response = anon_client.get(URL, {"ids": "bitcoin,beta,alpha"})

    bitcoin, beta, alpha = response.json()["assets"]
    # Other cap ÷ own circulating supply; the multiple is other cap ÷ own cap.
    assert beta["prices_at_caps"] == [
        {"slug": "bitcoin", "symbol": "btc", "price": "379.6", "multiple": "18.98"},
        {"slug": "alpha", "symbol": "alp", "price": "0.4", "multiple": "0.02"},
    ]
    assert alpha["prices_at_caps"][0] == {
        "slug": "bitcoin",
        "symbol": "btc",
        "price": "37960",
        "multiple": "949",
    }
    assert bitcoin["prices_at_caps"][0]["price"] == "100"  # $1B ÷ 10M


def test_an_asset_without_a_cap_has_no_price_at_it(anon_client, market):
    response = anon_client.get(URL, {"ids": "bitcoin,delta"})

    bitcoin, delta = response.json()["assets"]
    assert delta["tier"] == "unranked" and delta["rank"] is None
    assert bitcoin["prices_at_caps"] == [
        {"slug": "delta", "symbol": "dlt", "price": None, "multiple": None}
    ]
    # delta's own price at bitcoin's cap is known: $18.98B ÷ 1,000 tokens.
    assert delta["prices_at_caps"][0]["price"] == "18980000"
    assert delta["prices_at_caps"][0]["multiple"] is None


def test_histories_are_indexed_to_100_at_the_start_of_the_common_range(
    anon_client, market
):
    bitcoin, beta, alpha = market["bitcoin"], market["beta"], market["alpha"]
    for day, price in [(1, "100"), (2, "110"), (3, "121"), (4, "99")]:
        _snap(bitcoin, day, price, "10000000")
    _snap(bitcoin, 2, "1", "10000000", hour=1)  # earlier that day: not the close
    for day, price, supply in [
        (2, "20", "50000000"),
        (3, "10", "100000000"),  # price halves, supply doubles: same cap
        (4, "30", "50000000"),
        (5, "40", "50000000"),
    ]:
        _snap(beta, day, price, supply)
    for day in (2, 4):
        _snap(alpha, day, "40", "500000")

    history = anon_client.get(URL, {"ids": "bitcoin,beta,alpha"}).json()["history"]

    assert (history["start"], history["end"]) == ("2026-04-02", "2026-04-04")
    assert history["dates"] == ["2026-04-02", "2026-04-03", "2026-04-04"]
    btc, bet, alp = history["series"]
    assert btc == {
        "slug": "bitcoin",
        "price": ["100", "110", "90"],
        "market_cap": ["100", "110", "90"],
    }
    assert bet["price"] == ["100", "50", "150"]
    assert bet["market_cap"] == ["100", "100", "150"]
    assert alp["price"] == ["100", None, "100"]


def test_assets_whose_histories_do_not_overlap_have_no_common_range(
    anon_client, market
):
    _snap(market["bitcoin"], 1, "100", "10")
    _snap(market["beta"], 5, "100", "10")

    history = anon_client.get(URL, {"ids": "bitcoin,beta"}).json()["history"]

    assert history["start"] is None and history["end"] is None
    assert history["dates"] == []
    assert [s["price"] for s in history["series"]] == [[], []]


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        ("bitcoin", "at least 2"),
        ("bitcoin,beta,alpha,delta,bitcoin2,x", "at most 5"),
        ("bitcoin,bitcoin", "bitcoin repeated"),
        ("bitcoin,nope,gone", "Unknown assets: nope, gone."),
        ("bitcoin,", "Not an asset id"),
        (" bitcoin,beta", "Not an asset id"),
        ("", "blank"),
        ("x" * 301, "300 characters"),
    ],
)
def test_a_list_that_cannot_be_compared_is_a_400_on_ids(
    anon_client, market, ids, reason
):
    response = anon_client.get(URL, {"ids": ids})

    assert response.status_code == 400
    assert list(response.json()) == ["ids"]
    assert reason in response.json()["ids"][0]


def test_ids_are_required(anon_client, market):
    response = anon_client.get(URL)

    assert response.status_code == 400
    assert list(response.json()) == ["ids"]


def test_compare_takes_a_fixed_number_of_queries_whatever_the_history(
    anon_client, market, django_assert_num_queries
):
    for day in range(1, 4):
        _snap(market["bitcoin"], day, "100", "10")
        _snap(market["beta"], day, "20", "10")
    # The market state, the assets with their ranks, all their snapshots.
    with django_assert_num_queries(3):
        short = anon_client.get(URL, {"ids": "bitcoin,beta,alpha,delta"})
    # The same market version again: the answer is cached, the state read.
    with django_assert_num_queries(1):
        again = anon_client.get(URL, {"ids": "bitcoin,beta,alpha,delta"})
    assert again.json() == short.json()
    for day in range(4, 29):
        _snap(market["bitcoin"], day, "100", "10")
        _snap(market["beta"], day, "20", "10")
        _snap(market["alpha"], day, "20", "10")
    with django_assert_num_queries(3):
        long = anon_client.get(URL, {"ids": "bitcoin,beta,alpha,delta"})
    assert short.status_code == long.status_code == 200


def test_a_slug_named_compare_does_not_hide_the_endpoint(anon_client, market):
    AssetFactory(slug="compare")

    response = anon_client.get(URL, {"ids": "bitcoin,beta"})

    assert response.status_code == 200


def test_stored_volatility_is_served_beside_the_metrics(anon_client, market):
    AssetVolatility.objects.create(
        asset=market["bitcoin"],
        volatility_30d=Decimal("45.25"),
        volatility_90d=None,
        volatility_365d=Decimal("61.5"),
    )

    bitcoin, beta = anon_client.get(URL, {"ids": "bitcoin,beta"}).json()["assets"]

    assert (
        bitcoin["volatility_30d"],
        bitcoin["volatility_90d"],
        bitcoin["volatility_365d"],
    ) == ("45.25", None, "61.5")
    assert beta["volatility_30d"] is None  # not computed yet: no row
