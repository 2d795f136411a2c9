"""GET /api/v1/market/history/: the stored market history per day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.api.conftest import queries_for
from tests.factories import AssetFactory
from tests.valuations.market_history_data import build_market
from valuations.history import refresh_market_history
from valuations.models import Asset, MarketSnapshot
from valuations.signals import announce_snapshots
from valuations.state import refresh_market_state

URL = "/api/v1/market/history/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(db):
    assets = build_market()
    refresh_market_history()  # what the snapshots' commit does
    return assets


def test_history_serves_each_day_with_hand_computed_shares(anon_client, history):
    response = anon_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    assert body["results"] == [
        {
            "date": "2026-03-01",
            "market_cap": "1600000000000",
            "asset_count": 4,
            "covered_share": "100",  # BTC, ETH, SOL: 1,250 today of 1,250 ($B)
            "bitcoin_dominance": "75",
            "ethereum_dominance": "24.375",
            "flippening_ratio": "0.325",
            "tiers": {"large": "99.375", "mid": "0.59375", "small": "0.03125"},
        },
        {
            "date": "2026-03-02",
            "market_cap": "1250000000000",
            "asset_count": 3,
            "covered_share": "100",
            "bitcoin_dominance": "80",
            "ethereum_dominance": "19.2",
            "flippening_ratio": "0.24",
            "tiers": {"large": "100", "mid": "0", "small": "0"},
        },
        {
            "date": "2026-03-03",
            "market_cap": "240000000000",
            "asset_count": 1,
            "covered_share": "19.2",  # ETH alone: 240 of 1,250
            "bitcoin_dominance": None,
            "ethereum_dominance": "100",
            "flippening_ratio": None,
            "tiers": {"large": "100", "mid": "0", "small": "0"},
        },
    ]


def test_start_and_end_select_days_inclusive(anon_client, history):
    body = anon_client.get(URL, {"start": "2026-03-02", "end": "2026-03-02"}).json()

    assert [d["date"] for d in body["results"]] == ["2026-03-02"]


def test_history_is_paged_like_other_daily_series(anon_client, history):
    body = anon_client.get(URL, {"page_size": 2, "page": 2}).json()

    assert body["count"] == 3
    assert [d["date"] for d in body["results"]] == ["2026-03-03"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": ""}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2026-03-03", "end": "2026-03-01"}, "start"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "5501"}, "page_size"),
        ({"page": ""}, "page"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(anon_client, history, query, field):
    response = anon_client.get(URL, query)

    assert response.status_code == 400
    assert field in response.json()


def test_no_history_is_an_empty_page(anon_client):
    body = anon_client.get(URL).json()

    assert (body["count"], body["results"]) == (0, [])


def test_history_needs_no_credentials_and_ignores_the_user(
    anon_client, api_client, history
):
    assert anon_client.get(URL).json() == api_client.get(URL).json()


def test_answers_304_to_its_own_etag(anon_client, history):
    first = anon_client.get(URL)

    again = anon_client.get(URL, HTTP_IF_NONE_MATCH=first.headers["ETag"])

    assert again.status_code == 304


@pytest.mark.parametrize("extra_assets", [0, 300])
def test_query_count_does_not_grow_with_assets_or_days(
    anon_client, history, extra_assets
):
    Asset.objects.bulk_create(
        AssetFactory.build(slug=f"x{n}", price=Decimal(1), circulating_supply=1)
        for n in range(extra_assets)
    )
    MarketSnapshot.objects.bulk_create(
        MarketSnapshot(
            asset=asset,
            taken_at=datetime(2026, 3, day, tzinfo=UTC),
            price=Decimal(1),
            circulating_supply=Decimal(1),
        )
        for asset in Asset.objects.filter(slug__startswith="x")
        for day in (4, 5)
    )
    refresh_market_state()
    refresh_market_history()

    # The market state (ETag and today's total), the count, the page.
    assert queries_for(lambda: anon_client.get(URL)) == 3


def test_a_page_is_built_once_per_market_version(
    anon_client, history, django_capture_on_commit_callbacks
):
    first = anon_client.get(URL).json()

    # Again at the same version: the market state only, the page from the cache.
    assert queries_for(lambda: anon_client.get(URL)) == 1
    # A snapshot written and announced, as imports do, moves the version.
    MarketSnapshot.objects.create(
        asset=history["ethereum"],
        taken_at=datetime(2026, 3, 4, 12, tzinfo=UTC),
        price=Decimal(2000),
        circulating_supply=Decimal(120_000_000),
    )
    with django_capture_on_commit_callbacks(execute=True):
        announce_snapshots(asset_ids=[history["ethereum"].pk], since=date(2026, 3, 4))
    after = anon_client.get(URL).json()

    assert (first["count"], after["count"]) == (3, 4)
    assert after["results"][-1]["date"] == "2026-03-04"
    assert after["results"][-1]["covered_share"] == "19.2"  # ETH: 240 of 1,250


def test_fast_rows_equal_the_documented_serializer(history):
    from valuations.history import COLUMNS, history_point, history_rows
    from valuations.history_api import MarketHistoryPointSerializer
    from valuations.models import MarketHistoryDay

    total = Decimal("1234567.891")  # quotients that do not terminate
    days = MarketHistoryDay.objects.order_by("day")
    slow = MarketHistoryPointSerializer(
        [history_point(day, total) for day in days], many=True
    ).data

    assert history_rows(days.values(*COLUMNS), total) == slow
