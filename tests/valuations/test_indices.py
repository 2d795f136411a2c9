"""The stored benchmark indices (valuations.indices): levels, buckets, returns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import AssetFactory, CategoryFactory, MarketSnapshotFactory
from valuations.imports import load_bundled_market_data
from valuations.indices import (
    market_return,
    price_return,
    refresh_indices,
    target_mix_return,
)
from valuations.models import Asset, MarketIndexDay, MarketSnapshot

D = Decimal

pytestmark = pytest.mark.django_db


def _day(day: int, month: int = 1) -> date:
    return date(2026, month, day)


def _asset(slug: str, **kwargs) -> Asset:
    return AssetFactory(slug=slug, symbol=slug[:4], name=slug.title(), **kwargs)


def _snapshot(
    asset: Asset, day: date, price: str, circulating: str, hour: int = 12
) -> MarketSnapshot:
    return MarketSnapshotFactory(
        asset=asset,
        taken_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
        price=D(price),
        circulating_supply=D(circulating),
    )


STORED = (
    "day",
    "market",
    "large",
    "mid",
    "small",
    "stable",
    "bitcoin_price",
    "assets",
    "coverage",
)


def _levels(field: str = "market") -> dict[date, Decimal | None]:
    return dict(MarketIndexDay.objects.values_list("day", field))


@pytest.fixture
def two_assets() -> tuple[Asset, Asset]:
    """A and B, capped 3:1 on day 1; +10 % and −10 % on day 2, then +10 % and
    +33⅓ % on day 3 (caps 330 and 90 by then)."""
    a, b = _asset("alpha"), _asset("beta")
    for day, price_a, price_b in ((1, "3", "1"), (2, "3.3", "0.9"), (3, "3.63", "1.2")):
        _snapshot(a, _day(day), price_a, "100")
        _snapshot(b, _day(day), price_b, "100")
    # An earlier snapshot of day 2: only the day's last one counts.
    _snapshot(a, _day(2), "30", "100", hour=1)
    return a, b


def test_market_level_chains_cap_weighted_returns(two_assets):
    written = refresh_indices()

    assert written == 3
    # Day 2: ¾ × 10 % − ¼ × 10 % = 5 %. Day 3: (330 × 1.1 + 90 × 4/3) ÷ 420 = 1.15.
    assert _levels() == {_day(1): D(1), _day(2): D("1.05"), _day(3): D("1.2075")}
    assert dict(MarketIndexDay.objects.values_list("day", "assets")) == {
        _day(1): 0,
        _day(2): 2,
        _day(3): 2,
    }
    # Both assets are small caps; the other buckets never had an asset.
    assert _levels("small") == _levels()
    assert set(_levels("large").values()) == {None}
    assert MarketIndexDay.objects.get(day=_day(3)).coverage == {
        "large": 0,
        "mid": 0,
        "small": 2,
        "stable": 0,
    }


def test_buckets_follow_the_previous_days_tier_and_stablecoins_are_stable():
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    big, climber = _asset("big"), _asset("climber")
    coin, tiny = _asset("usd-coin", categories=[stable]), _asset("tiny")
    prices = {
        big: ("200", "220", "231"),  # $20B → $22B: large
        climber: ("50", "100", "110"),  # $5B mid → $10B, large from day 2 on
        coin: ("1", "1.01", "0.99"),  # $50B but a stablecoin
        tiny: ("10", "8", "10"),  # $10M: small
    }
    supply = {big: "1e8", climber: "1e8", coin: "5e10", tiny: "1e6"}
    for asset, series in prices.items():
        for day, price in enumerate(series, start=1):
            _snapshot(asset, _day(day), price, supply[asset])

    refresh_indices()

    # Day 3's large index: big (22B, +5 %) and climber (10B, +10 %) by day 2's caps.
    assert _levels("large") == {
        _day(1): D(1),
        _day(2): D("1.1"),
        _day(3): D("1.1") * D("34.1") / D(32),
    }
    # The climber's doubling counts in mid (its tier the day before); mid then
    # has nobody left and keeps its level.
    assert _levels("mid") == {_day(1): D(1), _day(2): D(2), _day(3): D(2)}
    assert _levels("stable") == {_day(1): D(1), _day(2): D("1.01"), _day(3): D("0.99")}
    assert _levels("small") == {_day(1): D(1), _day(2): D("0.8"), _day(3): D(1)}
    assert MarketIndexDay.objects.get(day=_day(3)).coverage == {
        "large": 2,
        "mid": 0,
        "small": 1,
        "stable": 1,
    }


def test_a_day_without_snapshots_carries_the_level():
    asset = _asset("gappy")
    for day, price in ((1, "1"), (2, "2"), (4, "4"), (5, "5")):
        _snapshot(asset, _day(day), price, "100")

    refresh_indices()

    # Day 4 has no day before it to return from; day 5 returns 25 %.
    assert _levels() == {
        _day(1): D(1),
        _day(2): D(2),
        _day(3): D(2),
        _day(4): D(2),
        _day(5): D("2.5"),
    }
    assert MarketIndexDay.objects.get(day=_day(3)).assets == 0


def test_bitcoin_price_return_on_the_bundled_history():
    load_bundled_market_data(triggered_by="test")
    # Imports refresh the indices after commit; the test's transaction never
    # commits, so rebuild them here.
    refresh_indices()
    start, end = date(2024, 1, 1), date(2025, 1, 1)
    btc = MarketSnapshot.objects.filter(asset__slug="bitcoin")
    prices = {
        day: btc.filter(taken_at__date=day).latest().price for day in (start, end)
    }

    stored = dict(
        MarketIndexDay.objects.filter(day__in=[start, end]).values_list(
            "day", "bitcoin_price"
        )
    )
    benchmark = price_return(start, end)

    assert stored == prices
    assert benchmark.twr == ((prices[end] / prices[start] - 1) * 100).quantize(
        D("1e-8")
    )
    assert benchmark.coverage["from"] == "2024-01-01"
    # After the last stored day, the last one stands in.
    last = MarketIndexDay.objects.latest("day")
    assert price_return(start, last.day + timedelta(days=30)).coverage["to"] == (
        last.day.isoformat()
    )
    assert market_return(start, end).twr is not None
    # Levels keep 15 significant digits, which SQLite reads back exactly too,
    # so a refresh from any day equals the rebuild from the first.
    rebuilt = list(MarketIndexDay.objects.values_list(*STORED))
    refresh_indices(since=date(2024, 6, 1))
    assert list(MarketIndexDay.objects.values_list(*STORED)) == rebuilt


@pytest.fixture
def month_boundary() -> None:
    """Large L doubles in January then halves on 2 February; small X is flat in
    January then doubles."""
    big, small = _asset("big"), _asset("small")
    days = (_day(30), _day(31), _day(1, 2), _day(2, 2))
    for day, price_big, price_small in zip(
        days, ("100", "100", "200", "100"), ("10", "10", "10", "20"), strict=True
    ):
        _snapshot(big, day, price_big, "1e9")
        _snapshot(small, day, price_small, "1e6")
    refresh_indices()


@pytest.mark.parametrize(
    ("weights", "missing"),
    [
        ({"large": D(50), "small": D(50)}, []),
        # No mid-cap asset: the other weights are renormalised to 50/50.
        ({"large": D(40), "mid": D(20), "small": D(40)}, ["mid"]),
    ],
)
def test_target_mix_rebalances_on_the_first_of_each_month(
    month_boundary, weights, missing, django_assert_num_queries
):
    with django_assert_num_queries(1):
        benchmark = target_mix_return(_day(30), _day(2, 2), weights)

    # January: ½ × 100 % + ½ × 0 % = 50 %; rebalanced on 1 February:
    # ½ × −50 % + ½ × 100 % = 25 %. 1.5 × 1.25 − 1 = 87.5 % (buy and hold: 50 %).
    assert benchmark.twr == D("87.5")
    assert benchmark.coverage["segments"] == 2
    assert benchmark.coverage["missing"] == missing


def test_a_new_snapshot_refreshes_the_levels_from_its_day_on(
    two_assets, django_capture_on_commit_callbacks
):
    refresh_indices()
    first_day = MarketIndexDay.objects.get(day=_day(1))
    _, b = two_assets

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        # B's day 2 closes at 1.5 with 260 in circulation: day 2 returns
        # (330 + 150) ÷ 400 = 1.2, day 3 (330 × 1.1 + 390 × 0.8) ÷ 720 = 0.9375.
        _snapshot(b, _day(2), "1.5", "260", hour=23)

    # Other apps listen too (portfolios' series); one callback is the refresh.
    refreshes = [c for c in callbacks if getattr(c, "func", None) is refresh_indices]
    assert [c.keywords for c in refreshes] == [{"since": _day(2)}]
    assert _levels() == {_day(1): D(1), _day(2): D("1.2"), _day(3): D("1.125")}
    # Days before the change are kept, not rewritten.
    assert MarketIndexDay.objects.get(day=_day(1)).pk == first_day.pk
    refreshed = list(MarketIndexDay.objects.values_list("day", "market", "coverage"))
    refresh_indices()
    assert list(MarketIndexDay.objects.values_list("day", "market", "coverage")) == (
        refreshed
    )


def test_reads_run_a_fixed_number_of_queries(two_assets, django_assert_num_queries):
    refresh_indices()

    with django_assert_num_queries(1):
        bitcoin = price_return(_day(1), _day(3))
    with django_assert_num_queries(2):
        market = market_return(_day(1), _day(3))
    with django_assert_num_queries(1):
        mix = target_mix_return(_day(1), _day(3), {"small": D(100)})

    assert bitcoin.twr is None  # no Bitcoin in this market
    assert market.twr == D("20.75")
    assert market.coverage == {
        "from": "2026-01-01",
        "to": "2026-01-03",
        "days": 2,
        "assets": {"min": 2, "max": 2},
    }
    assert mix.twr == D("20.75")


def test_a_range_before_the_first_stored_day_has_no_return(two_assets):
    refresh_indices()

    assert market_return(_day(1, 1) - timedelta(days=5), _day(3)).twr is None
    with pytest.raises(ValueError):
        market_return(_day(3), _day(1))


@pytest.mark.parametrize("days", [10, 100])
def test_refresh_query_count_does_not_grow_with_days(
    days, django_assert_max_num_queries
):
    assets = [_asset("one"), _asset("two")]
    start = datetime(2025, 1, 1, 12, tzinfo=UTC)
    MarketSnapshot.objects.bulk_create(
        MarketSnapshot(
            asset=asset,
            taken_at=start + timedelta(days=n),
            price=D(n + 1 + i),
            circulating_supply=D(1000),
        )
        for n in range(days)
        for i, asset in enumerate(assets)
    )

    # Savepoint and release, stablecoins, Bitcoin, the snapshot stream, delete,
    # insert; the anchor row when refreshing from a day; PostgreSQL's lock.
    budget = 7 + (connection.vendor == "postgresql")
    with django_assert_max_num_queries(budget):
        assert refresh_indices() == days
    with django_assert_max_num_queries(budget + 1):
        assert refresh_indices(since=date(2025, 1, 5)) == days - 4


def test_refresh_indices_command_rebuilds_every_day(two_assets):
    MarketIndexDay.objects.all().delete()

    out = StringIO()
    call_command("refresh_indices", stdout=out)

    assert MarketIndexDay.objects.count() == 3
    assert "3 days recomputed" in out.getvalue()


WRITES = st.lists(
    st.tuples(
        st.sampled_from(["add", "delete"]),
        st.integers(0, 2),  # asset
        st.integers(1, 10),  # day
        st.sampled_from([1, 12, 23]),  # hour
        st.sampled_from(["0.5", "1", "1.5", "2", "3.7", "10", "40"]),  # price
        st.sampled_from(["0", "1e6", "1e8", "3e8", "5e8"]),  # in circulation
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(writes=WRITES)
def test_stored_levels_equal_a_rebuild_after_any_writes(db, writes):
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    coins = [_asset("coin-a"), _asset("coin-b"), _asset("coin-c", categories=[stable])]
    MarketSnapshot.objects.all().delete()
    # A full history to write over: every coin on every day 1…10.
    MarketSnapshot.objects.bulk_create(
        MarketSnapshot(
            asset=coin,
            taken_at=datetime(2026, 1, day, 12, tzinfo=UTC),
            price=D(day + n),
            circulating_supply=D(10) ** (6 + n),
        )
        for day in range(1, 11)
        for n, coin in enumerate(coins)
    )
    refresh_indices()
    for op, coin, day, hour, price, circulating in writes:
        taken_at = datetime(2026, 1, day, hour, tzinfo=UTC)
        if op == "add":
            MarketSnapshot.objects.update_or_create(
                asset=coins[coin],
                taken_at=taken_at,
                defaults={"price": D(price), "circulating_supply": D(circulating)},
            )
        else:
            MarketSnapshot.objects.filter(
                asset=coins[coin], taken_at__date__gte=taken_at.date()
            ).delete()
        # What the snapshots_changed receiver does once the write commits.
        refresh_indices(since=taken_at.date())
    stored = list(MarketIndexDay.objects.values_list(*STORED))

    refresh_indices()

    assert list(MarketIndexDay.objects.values_list(*STORED)) == stored
