"""The market state stored on write equals a recomputation from the assets, and
reads of it cost the same whatever the size of the market."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.api.conftest import NOW
from tests.factories import AssetFactory, CategoryFactory
from valuations import metrics, queries
from valuations.imports import apply_category_mapping, import_markets, import_unlocks
from valuations.models import Asset, MarketState
from valuations.rows import asset_rows, page_values
from valuations.serializers import AssetSerializer
from valuations.state import current_state, refresh_market_state, version_of

D = Decimal
pytestmark = pytest.mark.django_db

prices = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=100000, places=8),
)
supplies = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=10**12, places=2),
)
edits = st.lists(
    st.tuples(st.integers(min_value=0, max_value=7), prices, supplies, supplies),
    min_size=1,
    max_size=12,
)


def _expected() -> dict[str, object]:
    """Everything the state stores, recomputed in Python from the asset rows."""
    assets = list(Asset.objects.all())
    ranked = sorted(
        (a for a in assets if metrics.is_ranked(a.market_cap)),
        key=lambda a: metrics.rank_key(a.market_cap, a.slug),
    )
    ranks = {a.slug: position for position, a in enumerate(ranked, start=1)}
    return {
        "ranks": {a.slug: ranks.get(a.slug) for a in assets},
        "tiers": {a.slug: metrics.tier_for(a.market_cap) for a in assets},
        "bands": {
            a.slug: metrics.turnover_band(
                metrics.volume_to_market_cap(a.volume_24h, a.market_cap)
            )
            for a in assets
        },
        "total": metrics.total_market_cap(a.market_cap for a in assets),
        "count": len(assets),
    }


def _stored() -> dict[str, object]:
    rows = Asset.objects.with_rank().values_list("slug", "rank", "tier", "liquidity")
    state = current_state()
    return {
        "ranks": {slug: rank for slug, rank, _, _ in rows},
        "tiers": {slug: tier for slug, _, tier, _ in rows},
        "bands": {slug: band for slug, _, _, band in rows},
        "total": state.total_market_cap,
        "count": state.asset_count,
    }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=edits)
def test_state_kept_on_each_write_equals_a_full_recomputation(db, changes):
    """Random edits, each refreshed for only the asset it touched, leave exactly
    what a recomputation from scratch gives (PostgreSQL: exact; SQLite keeps
    15 significant digits, so caps here stay within them)."""
    Asset.objects.all().delete()
    Asset.objects.bulk_create(
        AssetFactory.build(slug=f"coin-{i}", price=D(i + 1), circulating_supply=D(1000))
        for i in range(8)
    )
    refresh_market_state()
    for index, price, circulating, volume in changes:
        asset = Asset.objects.get(slug=f"coin-{index}")
        asset.price, asset.circulating_supply, asset.volume_24h = (
            price,
            circulating,
            volume,
        )
        asset.max_supply = asset.total_supply = None
        asset.save()
        refresh_market_state(asset_ids=[asset.pk])

        stored, expected = _stored(), _expected()
        # SQLite sums as floats (15 significant digits); PostgreSQL is exact.
        assert stored.pop("total") == pytest.approx(
            expected.pop("total"), rel=D("1e-14")
        )
        assert stored == expected


def test_equal_caps_are_ranked_by_slug_and_a_lost_cap_loses_its_rank():
    for slug in ("b", "a", "c"):
        AssetFactory(slug=slug, price=D(1), circulating_supply=D(100))
    c = Asset.objects.get(slug="c")
    c.price = None
    c.save()
    refresh_market_state(asset_ids=[c.pk])

    assert dict(Asset.objects.with_rank().values_list("slug", "rank")) == {
        "a": 1,
        "b": 2,
        "c": None,
    }


def test_every_write_bumps_the_version_once():
    before = current_state().version
    refresh_market_state(asset_ids=[], caps_changed=False)

    assert current_state().version == before + 1
    assert MarketState.objects.count() == 1


def _version() -> str:
    return version_of(current_state(), datetime.now(UTC)).tag


def test_a_history_only_import_changes_the_version():
    AssetFactory(slug="bitcoin", symbol="btc", name="Bitcoin")
    before = _version()

    report = import_markets(
        "date,snapshot_last_updated,coin_id,symbol,name,market_cap_rank,price_usd,"
        "market_cap_usd,total_volume_usd,circulating_supply,total_supply,max_supply,"
        "fully_diluted_valuation_usd\n"
        "2024-01-01,2024-01-01T00:02:17Z,bitcoin,btc,Bitcoin,1,42000,,,19000000,"
        "21000000,21000000,\n",
        source="test",
        triggered_by="test",
    )

    assert report.created == 1
    assert _version() != before


def test_an_unlock_import_changes_the_version():
    AssetFactory(slug="arbitrum", symbol="arb", name="Arbitrum")
    before = _version()

    import_unlocks("asset,date,amount,note\narbitrum,2030-01-01,100,Team\n")

    assert _version() != before


def test_a_category_mapping_changes_the_version_and_category_totals(tmp_path):
    AssetFactory(slug="uniswap", price=D(5), circulating_supply=D(1000))
    before = _version()
    mapping = tmp_path / "categories.json"
    mapping.write_text(
        '{"categories": [{"slug": "defi", "name": "DeFi", "is_stablecoin": false}],'
        ' "assets": {"uniswap": ["defi"]}}'
    )

    apply_category_mapping(mapping)

    assert _version() != before
    totals = queries.category_totals()
    assert [(c.slug, c.asset_count, c.market_cap) for c in totals] == [
        ("defi", 1, D("5000"))
    ]


def test_staleness_turns_the_version_exactly_when_an_asset_turns_stale(
    settings, time_machine
):
    settings.CAPSITE_STALE_AFTER = 3600
    updated = datetime(2026, 4, 30, 2, 0, tzinfo=UTC)
    time_machine.move_to(updated + timedelta(minutes=10), tick=False)
    AssetFactory(last_updated=updated)
    state = current_state()

    at_turn = version_of(state, updated + timedelta(hours=1))
    after = version_of(state, updated + timedelta(hours=1, microseconds=1))

    assert at_turn.tag == version_of(state, updated).tag
    assert after.tag != at_turn.tag
    assert after.last_modified == updated + timedelta(hours=1)


@pytest.mark.parametrize("count", [10, 300])
def test_reading_the_state_is_one_query_at_any_market_size(
    count, django_assert_num_queries
):
    Asset.objects.bulk_create(AssetFactory.build_batch(count))
    refresh_market_state()
    cache.clear()

    with django_assert_num_queries(1):
        summary = queries.market_summary()
    with django_assert_num_queries(1):
        queries.market_summary()  # the shaped summary comes from the cache

    assert summary.overview.asset_count == count


@pytest.mark.parametrize("count", [10, 300])
@pytest.mark.parametrize(
    "url", ["/api/v1/assets/?page_size=100", "/api/v1/market/", "/api/v1/assets/x/"]
)
def test_a_304_reads_only_the_market_state(count, url, django_assert_num_queries):
    Asset.objects.bulk_create(AssetFactory.build_batch(count))
    AssetFactory(slug="x")
    client = APIClient()
    etag = client.get(url).headers["ETag"]

    with django_assert_num_queries(1):
        response = client.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_list_rows_equal_the_serializer_row_for_row(time_machine):
    time_machine.move_to(NOW, tick=False)
    defi = CategoryFactory(slug="defi", name="DeFi")
    AssetFactory(slug="plain")
    AssetFactory(slug="thin", volume_24h=D("1"), categories=[defi])
    AssetFactory(slug="unpriced", price=None)
    AssetFactory(slug="nosupply", max_supply=None, total_supply=None)
    AssetFactory(
        slug="tiny", price=D("0.000000000000000001"), circulating_supply=D("3")
    )
    total = current_state().total_market_cap
    queryset = queries.asset_table()

    fast = asset_rows(page_values(queryset), total_market_cap=total, now=NOW)
    slow = AssetSerializer(
        list(queryset), many=True, context={"total_market_cap": total}
    ).data

    assert fast == [dict(row) for row in slow]
