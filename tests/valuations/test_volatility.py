"""Volatility of assets and tiers, and category peers (issue 16, parts 2 and 3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import AssetFactory, CategoryFactory
from valuations.indices import refresh_indices
from valuations.models import (
    Asset,
    AssetVolatility,
    CategoryRank,
    MarketIndexDay,
    MarketSnapshot,
    TierVolatility,
)
from valuations.peers import category_peers, median_positions, store_category_peers
from valuations.state import refresh_market_state
from valuations.volatility import (
    annualised_volatility,
    daily_log_returns,
    rebuild_asset_volatility,
    rebuild_tier_volatility,
    refresh_asset_volatility,
    refresh_tier_volatility,
    refresh_volatility,
)

D = Decimal
FIRST = date(2026, 1, 1)
FOUR = D("0.0001")

# Alternating +10 % and −10 % days: returns a = ln 1.1 = 0.0953101798043249 and
# b = ln 0.9 = −0.1053605156578263, as many of each. Their mean is (a + b) ÷ 2,
# so every return sits d = (a − b) ÷ 2 = ½ ln(11 ÷ 9) = 0.1003353477310756 from
# it. With n returns the sample variance is n·d² ÷ (n − 1), so
#   30 returns: d × √(30 ÷ 29 × 365) × 100 = 194.9674092546 % a year,
#   16 returns: d × √(16 ÷ 15 × 365) × 100 = 197.9770069229 % a year.
ALTERNATING_30 = D("194.9674")
ALTERNATING_16 = D("197.9770")


def _alternating(start: Decimal, days: int) -> list[Decimal]:
    """``days`` + 1 prices: × 1.1 on odd days, × 0.9 on even days."""
    prices = [start]
    for n in range(days):
        prices.append(prices[-1] * (D("1.1") if n % 2 == 0 else D("0.9")))
    return prices


def _prices(start: date, prices: list[Decimal]) -> dict[date, Decimal]:
    return {start + timedelta(days=n): p for n, p in enumerate(prices)}


# --- The pure metric ------------------------------------------------------------


def test_a_constant_price_has_zero_volatility():
    prices = _prices(FIRST, [D("42.5")] * 31)
    returns = daily_log_returns(prices, end=FIRST + timedelta(days=30), days=30)
    assert returns == [0.0] * 30
    assert annualised_volatility(returns, 30) == D(0)


def test_alternating_ten_percent_moves_give_the_hand_computed_value():
    prices = _prices(FIRST, _alternating(D(100), 30))
    returns = daily_log_returns(prices, end=FIRST + timedelta(days=30), days=30)
    assert len(returns) == 30
    assert annualised_volatility(returns, 30).quantize(FOUR) == ALTERNATING_30


@pytest.mark.parametrize(
    ("returns", "days", "known"),
    [
        (14, 30, False),  # fewer than 30 ÷ 2
        (15, 30, True),  # exactly 30 ÷ 2
        (44, 90, False),
        (45, 90, True),
        (182, 365, False),  # 182 < 182.5
        (183, 365, True),
    ],
)
def test_fewer_than_half_the_window_in_returns_is_null(returns, days, known):
    values = [0.01 if n % 2 else -0.01 for n in range(returns)]
    assert (annualised_volatility(values, days) is not None) is known


def test_a_missing_day_gives_no_return_rather_than_a_two_day_one():
    prices = _prices(FIRST, [D(100), D(110), D(121), D(133.1)])
    del prices[FIRST + timedelta(days=2)]
    returns = daily_log_returns(prices, end=FIRST + timedelta(days=3), days=3)
    assert len(returns) == 1


# --- Stored asset volatility ---------------------------------------------------------


def _snapshots(asset: Asset, prices: list[Decimal], start: date = FIRST) -> None:
    MarketSnapshot.objects.bulk_create(
        MarketSnapshot(
            asset=asset,
            taken_at=datetime(start.year, start.month, start.day, 12, tzinfo=UTC)
            + timedelta(days=n),
            price=price,
            circulating_supply=asset.circulating_supply,
        )
        for n, price in enumerate(prices)
    )


@pytest.mark.django_db
def test_stored_volatility_of_an_asset_uses_its_daily_prices():
    steady = AssetFactory(slug="steady")
    swinging = AssetFactory(slug="swinging")
    sparse = AssetFactory(slug="sparse")
    _snapshots(steady, [D(7)] * 31)
    _snapshots(swinging, _alternating(D(100), 30))
    # 16 returns in the last 30 days: enough for 30 days (≥ 15), not for 90 (< 45).
    _snapshots(sparse, _alternating(D(50), 16), start=FIRST + timedelta(days=14))
    refresh_asset_volatility()
    stored = {v.asset.slug: v for v in AssetVolatility.objects.select_related("asset")}
    assert stored["steady"].volatility_30d == D(0)
    assert stored["steady"].volatility_90d is None  # 30 returns < 45
    assert stored["swinging"].volatility_30d.quantize(FOUR) == ALTERNATING_30
    assert stored["sparse"].volatility_30d.quantize(FOUR) == ALTERNATING_16
    assert stored["sparse"].volatility_90d is None
    assert stored["sparse"].volatility_365d is None
    assert {v.as_of for v in stored.values()} == {FIRST + timedelta(days=30)}


@pytest.mark.django_db
def test_a_refresh_of_some_assets_recomputes_all_when_the_last_day_moves():
    first, second = AssetFactory(slug="first"), AssetFactory(slug="second")
    _snapshots(first, [D(7)] * 31)
    _snapshots(second, [D(7)] * 31)
    refresh_asset_volatility()
    _snapshots(first, [D(8)], start=FIRST + timedelta(days=31))
    refresh_asset_volatility([first.pk])
    # The window moved for both: ``second`` now lacks a price on the last day.
    assert set(AssetVolatility.objects.values_list("as_of", flat=True)) == {
        FIRST + timedelta(days=31)
    }


# Random writes of daily prices: the stored rows equal a fresh rebuild.
WRITES = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # asset
        st.integers(min_value=0, max_value=40),  # day
        st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(writes=WRITES)
def test_stored_volatility_equals_a_rebuild_after_random_writes(writes):
    MarketSnapshot.objects.all().delete()
    Asset.objects.all().delete()
    assets = [AssetFactory(slug=f"coin-{n}") for n in range(3)]
    for index, day, price in writes:
        asset = assets[index]
        MarketSnapshot.objects.update_or_create(
            asset=asset,
            taken_at=datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day),
            defaults={"price": price, "circulating_supply": D(1000)},
        )
        refresh_asset_volatility([asset.pk])
    stored = {
        (v.asset_id, v.volatility_30d, v.volatility_90d, v.volatility_365d, v.as_of)
        for v in AssetVolatility.objects.all()
    }
    rebuilt = {
        (v.asset_id, v.volatility_30d, v.volatility_90d, v.volatility_365d, v.as_of)
        for v in rebuild_asset_volatility()
    }
    assert stored == rebuilt


# --- Tier volatility ---------------------------------------------------------------


@pytest.mark.django_db
def test_tier_index_of_two_assets_weights_by_the_previous_days_caps():
    # Day 1: A $100 × 200M = $20B, B $10 × 1.5B = $15B, both large.
    # Day 2: A +10 %, B −5 %: the index returns
    #   (20 × 0.10 + 15 × (−0.05)) ÷ 35 = 1.25 ÷ 35 = 0.0357142857…
    a = AssetFactory(slug="a", circulating_supply=D(200_000_000))
    b = AssetFactory(slug="b", circulating_supply=D(1_500_000_000))
    _snapshots(a, [D(100), D(110)])
    _snapshots(b, [D(10), D("9.5")])
    refresh_indices()
    refresh_tier_volatility()
    large = TierVolatility.objects.get(tier="large", window_days=30)
    assert large.returns == 1
    assert large.assets == 2
    assert large.volatility is None  # one return < 15
    day2 = MarketIndexDay.objects.get(day=FIRST + timedelta(days=1))
    assert day2.large.quantize(D("1e-12")) == (1 + D("1.25") / 35).quantize(D("1e-12"))


@pytest.mark.django_db
def test_tier_volatility_of_two_assets_moving_alike_is_the_hand_value():
    # Both alternate +10 % / −10 % on the same days, so the cap-weighted mean
    # return is the same ±10 % whatever the weights: 30 returns over 30 days.
    # B: $15B × 0.99 per two days stays above $10B (× 0.99¹⁵ ≈ 0.86).
    a = AssetFactory(slug="a", circulating_supply=D(200_000_000))
    b = AssetFactory(slug="b", circulating_supply=D(1_500_000_000))
    _snapshots(a, _alternating(D(100), 30))
    _snapshots(b, _alternating(D(10), 30))
    refresh_indices()
    refresh_tier_volatility()
    large = TierVolatility.objects.get(tier="large", window_days=30)
    assert large.returns == 30
    assert (large.assets, large.assets_min, large.assets_max) == (2, 2, 2)
    assert large.volatility.quantize(FOUR) == ALTERNATING_30
    assert TierVolatility.objects.get(tier="large", window_days=90).volatility is None
    assert TierVolatility.objects.get(tier="mid", window_days=30).returns == 0
    stored = {
        (t.tier, t.window_days, t.volatility, t.returns, t.assets)
        for t in TierVolatility.objects.all()
    }
    rebuilt = {
        (t.tier, t.window_days, t.volatility, t.returns, t.assets)
        for t in rebuild_tier_volatility()
    }
    assert stored == rebuilt


@pytest.mark.django_db
def test_membership_follows_the_previous_days_tier():
    # $9B mid on day 1 that jumps to $11B on day 2: its return counts for mid.
    c = AssetFactory(slug="c", circulating_supply=D(1_000_000_000))
    _snapshots(c, [D(9), D(11)])
    refresh_indices()
    refresh_tier_volatility()
    assert TierVolatility.objects.get(tier="mid", window_days=30).returns == 1
    assert TierVolatility.objects.get(tier="large", window_days=30).returns == 0


# --- Category peers ----------------------------------------------------------------


@pytest.mark.django_db
def test_category_rank_share_and_median_on_a_small_example():
    # Layer 1: caps 40, 30, 20, 10 ($M): median (30 + 20) ÷ 2 = 25, total 100.
    # DeFi: caps 30, 10, 5: median 10, total 45. An unranked asset is left out.
    layer1, defi = CategoryFactory(slug="layer-1"), CategoryFactory(slug="defi")
    caps = {"w": 40, "x": 30, "y": 20, "z": 10, "v": 5}
    assets = {
        slug: AssetFactory(slug=slug, price=D(cap), circulating_supply=D(1_000_000))
        for slug, cap in caps.items()
    }
    unranked = AssetFactory(slug="u", price=None)
    for slug in "wxyz":
        assets[slug].categories.add(layer1)
    for slug in "xzv":
        assets[slug].categories.add(defi)
    unranked.categories.add(defi)
    refresh_market_state()
    peers = {p.slug: p for p in category_peers(assets["x"])}
    assert (peers["layer-1"].rank, peers["layer-1"].of) == (2, 4)
    assert peers["layer-1"].share == D("0.3")
    assert peers["layer-1"].median_market_cap == D(25_000_000)
    assert (peers["defi"].rank, peers["defi"].of) == (1, 3)
    assert peers["defi"].share == D(30) / D(45)
    assert peers["defi"].median_market_cap == D(10_000_000)
    assert category_peers(unranked) == []


@pytest.mark.parametrize(
    ("count", "positions"), [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (4, (2, 3))]
)
def test_median_positions(count, positions):
    assert median_positions(count) == positions


@pytest.mark.django_db
def test_category_ranks_follow_a_cap_change():
    cat = CategoryFactory()
    low = AssetFactory(slug="low", price=D(1))
    high = AssetFactory(slug="high", price=D(2))
    for asset in (low, high):
        asset.categories.add(cat)
    store_category_peers()
    assert CategoryRank.objects.get(asset=high).position == 1
    Asset.objects.filter(pk=low.pk).update(price=D(3))
    store_category_peers()
    assert CategoryRank.objects.get(asset=low).position == 1


# --- Reads: API, pages, query budgets ---------------------------------------------------


@pytest.fixture
def market(db):
    return build_volatility_market()


def build_volatility_market() -> tuple[Asset, Asset]:
    """Two large caps in Layer 1 with 30 days of snapshots, every figure stored:
    A alternates ±10 % a day, B holds still."""
    cat = CategoryFactory(slug="layer-1", name="Layer 1")
    a = AssetFactory(slug="a", circulating_supply=D(200_000_000))
    b = AssetFactory(slug="b", circulating_supply=D(1_500_000_000))
    a.categories.add(cat)
    b.categories.add(cat)
    _snapshots(a, _alternating(D(100), 30))
    _snapshots(b, [D(10)] * 31)
    refresh_market_state()
    refresh_indices()
    refresh_volatility(None)
    return a, b


def test_asset_list_and_detail_serve_volatility_as_decimal_strings(client, market):
    listed = client.get("/api/v1/assets/").json()["results"]
    row = {r["slug"]: r for r in listed}
    assert D(row["a"]["volatility_30d"]).quantize(FOUR) == ALTERNATING_30
    assert row["b"]["volatility_30d"] == "0"
    assert row["a"]["volatility_90d"] is None
    detail = client.get("/api/v1/assets/a/").json()
    assert detail["volatility_30d"] == row["a"]["volatility_30d"]
    assert detail["volatility_365d"] is None


def test_an_asset_without_history_serves_null_volatility(client, market):
    AssetFactory(slug="fresh")
    detail = client.get("/api/v1/assets/fresh/").json()
    assert [detail[f"volatility_{n}d"] for n in (30, 90, 365)] == [None] * 3


def test_market_volatility_endpoint_serves_each_tier_and_window(client, market):
    body = client.get("/api/v1/market/volatility/").json()
    assert [w["days"] for w in body["windows"]] == [30, 90, 365]
    month = body["windows"][0]
    large = next(t for t in month["tiers"] if t["tier"] == "large")
    assert large["returns"] == 30
    assert large["assets"] == 2
    assert isinstance(large["volatility"], str)
    assert month["end"] == "2026-01-31"


def test_schema_documents_the_volatility_fields(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    asset = schema["components"]["schemas"]["Asset"]["properties"]
    for name in ("volatility_30d", "volatility_90d", "volatility_365d"):
        assert asset[name]["type"] == "string"
        assert asset[name]["format"] == "decimal"
        assert asset[name]["nullable"] is True
    assert "/api/v1/market/volatility/" in schema["paths"]


def test_volatility_page_answers_the_claim_with_numbers(client, market):
    response = client.get(reverse("valuations:volatility"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Over the last 365 days" in text
    assert "Last 30 days" in text
    market_page = client.get(reverse("valuations:market")).content.decode()
    assert reverse("valuations:volatility") in market_page


def test_asset_page_shows_volatility_and_category_peers(client, market):
    response = client.get(reverse("valuations:asset-detail", args=["a"]))
    text = response.content.decode()
    assert "Volatility" in text
    assert "195.0 % a year" in text
    assert "Among its category peers" in text
    assert "#2 of 2" in text  # now $2 × 200M = $400M, behind b at $3B
    assert "Layer 1" in text


def test_volatility_reads_cost_the_same_whatever_the_number_of_assets(
    client, market, django_assert_num_queries
):
    # The market state (ETag) and at most nine stored rows.
    with django_assert_num_queries(2):
        client.get("/api/v1/market/volatility/")
    AssetFactory.create_batch(20)
    refresh_market_state()
    with django_assert_num_queries(2):
        client.get("/api/v1/market/volatility/")


def test_asset_page_query_count_does_not_grow_with_category_size(
    client, market, django_assert_num_queries
):
    # Both views are the first at their market version: each reads the history.
    url = reverse("valuations:asset-detail", args=["a"])
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    cat = market[0].categories.get()
    for asset in AssetFactory.create_batch(20):
        asset.categories.add(cat)
    refresh_market_state()
    with django_assert_num_queries(len(before.captured_queries)):
        client.get(url)


@pytest.mark.django_db
def test_volatility_page_and_api_before_any_history(client):
    page = client.get(reverse("valuations:volatility"))
    assert page.status_code == 200
    assert "No market history yet" in page.content.decode()
    body = client.get("/api/v1/market/volatility/").json()
    assert body == {
        "windows": [
            {"days": d, "start": None, "end": None, "tiers": []} for d in (30, 90, 365)
        ]
    }
