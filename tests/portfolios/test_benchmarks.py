"""Benchmarks beside a portfolio's performance (PRODUCT.md, benchmarks)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from portfolios import benchmarks, series, services
from tests.factories import AssetFactory, MarketSnapshotFactory
from valuations import indices
from valuations.imports import load_bundled_market_data
from valuations.models import Asset, MarketSnapshot

D = Decimal

pytestmark = pytest.mark.django_db


def _last_price(asset: Asset, day: date) -> Decimal:
    return (
        MarketSnapshot.objects.filter(
            asset=asset,
            taken_at__gte=datetime(day.year, day.month, day.day, tzinfo=UTC),
            taken_at__lt=datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC),
        )
        .latest("taken_at")
        .price
    )


def test_the_bitcoin_benchmark_is_bitcoins_price_return_over_the_portfolios_range(
    portfolio, api_client
):
    load_bundled_market_data()
    indices.refresh_indices()
    bitcoin = Asset.objects.get(slug="bitcoin")
    bought = date(2025, 1, 1)
    services.record_transaction(
        portfolio=portfolio,
        asset=bitcoin,
        kind="buy",
        quantity=D("0.1"),
        unit_price=_last_price(bitcoin, bought),
        executed_at=datetime(2025, 1, 1, 23, 59, 59, tzinfo=UTC),
    )

    body = api_client.get(f"/api/v1/portfolios/{portfolio.pk}/performance/").json()

    assert (body["start"], body["end"]) == ("2025-01-01", "2026-04-30")
    expected = (
        _last_price(bitcoin, date(2026, 4, 30)) / _last_price(bitcoin, bought) - 1
    ) * 100
    by_name = {b["name"]: b for b in body["benchmarks"]}
    assert set(by_name) == {"Bitcoin", "Market", "Target mix"}
    assert D(by_name["Bitcoin"]["twr"]) == expected.quantize(D("1e-8"))
    # Holding nothing but Bitcoin, bought at the day's close, is the benchmark.
    assert D(body["twr"]) == D(by_name["Bitcoin"]["twr"])
    assert by_name["Market"]["twr"] is not None


def test_the_same_money_in_bitcoin_follows_each_flow_at_that_days_price(portfolio):
    coin = AssetFactory(slug="coin", symbol="cn", price=D("1"))
    bitcoin = AssetFactory(slug="bitcoin", symbol="btc", name="Bitcoin")
    for day, btc, price in ((1, "50000", "10"), (2, "55000", "10"), (3, "55000", "11")):
        MarketSnapshotFactory(
            asset=bitcoin,
            taken_at=datetime(2026, 1, day, 12, tzinfo=UTC),
            price=D(btc),
        )
        MarketSnapshotFactory(
            asset=coin, taken_at=datetime(2026, 1, day, 12, tzinfo=UTC), price=D(price)
        )
    indices.refresh_indices()
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="buy",
        quantity=D("100"),
        unit_price=D("10"),
        executed_at=datetime(2026, 1, 1, 13, tzinfo=UTC),
    )
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind="sell",
        quantity=D("50"),
        unit_price=D("11"),
        executed_at=datetime(2026, 1, 3, 13, tzinfo=UTC),
    )

    line = benchmarks.same_money_in_bitcoin(
        series.history(portfolio), opening_value=D("0")
    )

    # $1,000 buys 0.02 BTC at 50,000: $1,000, then $1,100 at 55,000; taking
    # $550 out sells 0.01 BTC: 0.01 × 55,000 = $550.
    assert line == [D("1000"), D("1100"), D("550")]


def test_the_portfolio_page_shows_benchmarks_and_the_bitcoin_share(
    portfolio, client_logged_in
):
    load_bundled_market_data()
    indices.refresh_indices()
    bitcoin = Asset.objects.get(slug="bitcoin")
    services.record_transaction(
        portfolio=portfolio,
        asset=bitcoin,
        kind="buy",
        quantity=D("0.1"),
        unit_price=D("90000"),
        executed_at=datetime(2026, 3, 1, tzinfo=UTC),
    )

    html = client_logged_in.get(
        reverse("portfolios:detail", args=[portfolio.pk]) + "?range=all"
    ).content.decode()

    assert "Bitcoin is <strong>100.00 %</strong> of this portfolio" in html
    assert 'aria-label="Benchmarks over the same range"' in html
    assert "The same money in Bitcoin" in html
    assert 'class="line benchmark"' in html
