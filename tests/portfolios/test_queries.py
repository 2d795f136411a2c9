"""Portfolio reads: valued holdings, bucket values, value history, largest assets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portfolios import queries, services
from portfolios.models import Portfolio, Transaction
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    PortfolioFactory,
    SupplyUnlockFactory,
)
from valuations.models import Asset

D = Decimal

pytestmark = pytest.mark.django_db

BUY, SELL = Transaction.Kind.BUY, Transaction.Kind.SELL
TODAY = date(2026, 4, 30)


def _asset(slug: str, price: str | None, circulating: str, **kwargs) -> Asset:
    return AssetFactory(
        slug=slug,
        symbol=slug[:4],
        name=slug.title(),
        price=None if price is None else D(price),
        circulating_supply=D(circulating),
        max_supply=None,
        total_supply=None,
        **kwargs,
    )


def _record(
    portfolio: Portfolio,
    asset: Asset,
    kind: str,
    quantity: str,
    price: str,
    at: datetime,
) -> Transaction:
    return services.record_transaction(
        portfolio=portfolio,
        asset=asset,
        kind=kind,
        quantity=D(quantity),
        unit_price=D(price),
        executed_at=at,
    )


def _at(day: int, hour: int = 9, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def market() -> dict[str, Asset]:
    """BTC $1T large, LINK $5B mid, TINY $2M small, USDT $100B stablecoin, GHOST
    without a price."""
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    return {
        "bitcoin": _asset("bitcoin", "50000", "20000000"),
        "chainlink": _asset("chainlink", "10", "500000000"),
        "tiny": _asset("tiny", "2", "1000000"),
        "tether": _asset("tether", "1", "100000000000", categories=[stable]),
        "ghost": _asset("ghost", None, "1000"),
    }


@pytest.fixture
def held(portfolio, market) -> Portfolio:
    """$10,000 at today's prices: BTC 5,000, USDT 4,000, LINK 1,000, GHOST 0.

    LINK: 150 bought at 8, 50 sold at 12, realising 200. TINY: bought 10 at 1 and
    sold at 2, realising 10, so closed.
    """
    _record(portfolio, market["bitcoin"], BUY, "0.1", "40000", _at(1))
    _record(portfolio, market["chainlink"], BUY, "150", "8", _at(1))
    _record(portfolio, market["chainlink"], SELL, "50", "12", _at(2))
    _record(portfolio, market["tether"], BUY, "4000", "1", _at(1))
    _record(portfolio, market["ghost"], BUY, "5", "1", _at(1))
    _record(portfolio, market["tiny"], BUY, "10", "1", _at(1))
    _record(portfolio, market["tiny"], SELL, "10", "2", _at(3))
    return portfolio


# holdings ------------------------------------------------------------------------


def test_holdings_value_weight_cost_and_profit_at_known_prices(held):
    result = queries.holdings(held, today=TODAY)

    assert [
        (
            r.asset_slug,
            r.quantity,
            r.price,
            r.value,
            r.weight,
            r.cost_basis,
            r.unrealized_pnl,
            r.realized_pnl,
        )
        for r in result.rows
    ] == [
        ("bitcoin", D("0.1"), D("50000"), D("5000"), D("50"), D("4000"), D("1000"), 0),
        ("tether", D("4000"), D("1"), D("4000"), D("40"), D("4000"), D("0"), D("0")),
        (
            "chainlink",
            D("100"),
            D("10"),
            D("1000"),
            D("10"),
            D("800"),
            D("200"),
            D("200"),
        ),
        ("ghost", D("5"), None, D("0"), D("0"), D("5"), None, D("0")),
    ]
    assert result.total_value == D("10000")
    assert result.total_cost == D("8805")
    assert result.unrealized_pnl == D("1200")
    # The closed TINY position still counts in the realised total.
    assert result.realized_pnl == D("210")


def test_holdings_put_stablecoins_in_the_stable_bucket_even_when_large(held):
    rows = {r.asset_slug: r for r in queries.holdings(held, today=TODAY).rows}

    assert (rows["tether"].tier, rows["tether"].bucket) == ("large", "stable")
    assert rows["tether"].is_stablecoin is True
    assert (rows["bitcoin"].tier, rows["bitcoin"].bucket) == ("large", "large")
    assert (rows["chainlink"].tier, rows["chainlink"].bucket) == ("mid", "mid")


def test_holdings_value_an_asset_without_price_at_zero_and_unranked(held):
    ghost = next(
        r for r in queries.holdings(held, today=TODAY).rows if r.asset_slug == "ghost"
    )

    assert (ghost.value, ghost.weight, ghost.tier, ghost.bucket) == (
        D("0"),
        D("0"),
        "unranked",
        "unranked",
    )


def test_holdings_leave_out_closed_positions(held):
    slugs = [r.asset_slug for r in queries.holdings(held, today=TODAY).rows]

    assert "tiny" not in slugs


def test_holdings_carry_the_next_unlock_from_today(portfolio, market):
    link = market["chainlink"]
    SupplyUnlockFactory(asset=link, date=TODAY - timedelta(days=1), amount=D("1"))
    SupplyUnlockFactory(asset=link, date=TODAY + timedelta(days=40), amount=D("3"))
    SupplyUnlockFactory(asset=link, date=TODAY + timedelta(days=10), amount=D("2"))
    _record(portfolio, link, BUY, "1", "10", _at(1))

    (row,) = queries.holdings(portfolio, today=TODAY).rows

    assert (row.next_unlock_date, row.next_unlock_amount) == (
        TODAY + timedelta(days=10),
        D("2"),
    )


def test_holdings_of_an_empty_portfolio_are_zero(portfolio):
    result = queries.holdings(portfolio, today=TODAY)

    assert result.rows == []
    assert (result.total_value, result.total_cost, result.realized_pnl) == (0, 0, 0)


def test_holdings_run_one_query(held, django_assert_num_queries):
    with django_assert_num_queries(1):
        queries.holdings(held, today=TODAY)


# tier_mixes --------------------------------------------------------------------------


def test_tier_mixes_for_several_portfolios_in_one_query(
    held, market, django_assert_num_queries
):
    second = PortfolioFactory(owner=held.owner, name="Second")
    _record(second, market["tiny"], BUY, "50", "1", _at(1))
    _record(second, market["tether"], BUY, "7", "1", _at(1))
    empty = PortfolioFactory(owner=held.owner, name="Empty")

    with django_assert_num_queries(1):
        mixes = queries.tier_mixes([held, second, empty])

    values = {pk: mix.values for pk, mix in mixes.items()}
    assert values == {
        held.pk: {
            "large": D("5000"),
            "mid": D("1000"),
            "small": D("0"),
            "stable": D("4000"),
            "unranked": D("0"),
        },
        second.pk: {
            "large": D("0"),
            "mid": D("0"),
            "small": D("100"),
            "stable": D("7"),
            "unranked": D("0"),
        },
        empty.pk: dict.fromkeys(queries.BUCKETS, D("0")),
    }


# largest_in_buckets ------------------------------------------------------------------


def test_largest_in_buckets_names_the_largest_non_stable_assets_per_tier(
    market, django_assert_num_queries
):
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    _asset("ethereum", "2000", "200000000")  # $400B
    _asset("usd-coin", "1", "50000000000", categories=[stable])  # $50B
    _asset("uniswap", "5", "600000000")  # $3B
    _asset("dust", "1", "10")  # $10

    with django_assert_num_queries(1):
        largest = queries.largest_in_buckets(
            ["large", "mid", "small", "stable"], per_bucket=2
        )

    assert largest == {
        "large": ["bitcoin", "ethereum"],
        "mid": ["chainlink", "uniswap"],
        "small": ["tiny", "dust"],
        "stable": ["tether", "usd-coin"],
    }


def test_largest_in_buckets_gives_three_by_default_and_skips_unpriced(market):
    for n in range(4):
        _asset(f"big-{n}", str(100 + n), "1000000000")

    largest = queries.largest_in_buckets(["large", "unranked"])

    assert largest == {"large": ["bitcoin", "big-3", "big-2"], "unranked": []}
