"""GET /api/v1/market/ (public): totals, dominance, tiers and categories."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.api.conftest import queries_for
from tests.factories import AssetFactory
from valuations.models import Asset
from valuations.state import refresh_market_state

URL = "/api/v1/market/"


def test_the_market_summary_is_computed_exactly(anon_client, market):
    response = anon_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert {
        key: body[key]
        for key in ("total_market_cap", "altcoin_market_cap", "asset_count", "as_of")
    } == {
        "total_market_cap": "20000000000",
        "altcoin_market_cap": "1020000000",
        "asset_count": 4,
        "as_of": "2026-04-30T03:00:00Z",
    }
    assert body["dominance"] == [
        {"symbol": "BTC", "share": "94.9"},
        {"symbol": "BET", "share": "5"},
        {"symbol": "ALP", "share": "0.1"},
    ]
    assert body["tiers"] == [
        {
            "tier": "large",
            "asset_count": 1,
            "market_cap": "18980000000",
            "share": "94.9",
        },
        {"tier": "mid", "asset_count": 1, "market_cap": "1000000000", "share": "5"},
        {"tier": "small", "asset_count": 1, "market_cap": "20000000", "share": "0.1"},
        {"tier": "unranked", "asset_count": 1, "market_cap": "0", "share": None},
    ]
    assert body["categories"] == [
        {
            "slug": "layer-1",
            "name": "Layer 1",
            "market_cap": "18980000000",
            "share": "94.9",
        },
        {"slug": "defi", "name": "DeFi", "market_cap": "20000000", "share": "0.1"},
        {
            "slug": "stablecoins",
            "name": "Stablecoins",
            "market_cap": "0",
            "share": None,
        },
    ]


def test_dominance_names_the_top_ten_and_groups_the_rest_as_others(anon_client, db):
    for n in range(12):
        # Caps 12, 11, …, 1 × $1B: $78B in all; the two smallest make $3B.
        AssetFactory(
            slug=f"coin-{n:02d}",
            symbol=f"c{n}",
            price=Decimal(12 - n),
            circulating_supply=Decimal("1000000000"),
            max_supply=None,
        )

    dominance = anon_client.get(URL).json()["dominance"]

    assert len(dominance) == 11
    assert dominance[0]["symbol"] == "C0"
    assert dominance[-1]["symbol"] == "others"
    shares = [Decimal(d["share"]) for d in dominance]
    assert sum(shares) == Decimal(100)
    assert dominance[-1]["share"].startswith("3.846153846153846")  # 3 ÷ 78


def test_an_empty_market_answers_zeros(anon_client, db):
    body = anon_client.get(URL).json()

    assert body["total_market_cap"] == "0"
    assert body["asset_count"] == 0
    assert body["as_of"] is None
    assert body["dominance"] == []


def test_the_market_summary_is_public(anon_client, api_client, market):
    assert anon_client.get(URL).status_code == 200
    assert api_client.get(URL).status_code == 200


def test_the_market_summary_runs_the_same_queries_for_5_and_50_assets(
    anon_client, db, django_assert_num_queries
):
    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            AssetFactory(slug=f"coin-{n:02d}", price=Decimal(n + 1))

    add(5, 0)
    budget = queries_for(lambda: anon_client.get(URL))
    add(45, 5)

    with django_assert_num_queries(budget):
        anon_client.get(URL)


def test_the_market_summary_sends_etag_and_last_modified(anon_client, market):
    response = anon_client.get(URL)

    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"] == "Thu, 30 Apr 2026 03:00:00 GMT"


def test_a_conditional_get_with_the_etag_is_304_and_empty(anon_client, market):
    etag = anon_client.get(URL).headers["ETag"]

    response = anon_client.get(URL, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response.content == b""


def test_a_conditional_get_since_last_modified_is_304(anon_client, market):
    last_modified = anon_client.get(URL).headers["Last-Modified"]

    response = anon_client.get(URL, HTTP_IF_MODIFIED_SINCE=last_modified)

    assert response.status_code == 304


def test_a_304_skips_building_the_summary(
    anon_client, market, django_assert_max_num_queries
):
    etag = anon_client.get(URL).headers["ETag"]

    # Only the version checks run: ETag and Last-Modified, one aggregate each.
    with django_assert_max_num_queries(2):
        assert anon_client.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_price_change_changes_the_etag_and_the_answer(anon_client, market):
    etag = anon_client.get(URL).headers["ETag"]

    Asset.objects.filter(slug="alpha").update(
        price=Decimal("80"), last_updated=datetime(2026, 4, 30, 3, 15, tzinfo=UTC)
    )
    refresh_market_state()  # as every write path does
    response = anon_client.get(URL, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert response.headers["Last-Modified"] == "Thu, 30 Apr 2026 03:15:00 GMT"
    assert response.json()["total_market_cap"] == "20020000000"


def test_a_price_change_alone_changes_the_etag(anon_client, market):
    etag = anon_client.get(URL).headers["ETag"]

    Asset.objects.filter(slug="beta").update(price=Decimal("20.5"))
    refresh_market_state()  # as every write path does

    assert anon_client.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_data_turning_stale_changes_the_etag(anon_client, market, time_machine):
    first = anon_client.get(URL)
    assert first.json()["stale"] is False

    time_machine.move_to(datetime(2026, 5, 1, 3, 30, tzinfo=UTC), tick=False)
    response = anon_client.get(URL, HTTP_IF_NONE_MATCH=first.headers["ETag"])

    assert response.status_code == 200
    assert response.json()["stale"] is True
    assert response.headers["Last-Modified"] == "Fri, 01 May 2026 03:00:00 GMT"
