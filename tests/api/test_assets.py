"""GET /api/v1/assets/, /assets/{slug}/ and /assets/{slug}/history/ (public)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.api.conftest import NOW, queries_for
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    SupplyUnlockFactory,
)
from valuations.models import Asset
from valuations.state import refresh_market_state

URL = "/api/v1/assets/"
CONTRACT_FIELDS = {
    "slug",
    "symbol",
    "name",
    "rank",
    "price",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "market_cap",
    "fully_diluted_valuation",
    "fdv_basis",
    "dilution_ratio",
    "volume_24h",
    "volume_to_market_cap",
    "liquidity",
    "tier",
    "dominance",
    "categories",
    "last_updated",
}


def slugs(response) -> list[str]:
    return [row["slug"] for row in response.json()["results"]]


def test_assets_are_listed_with_every_metric_computed_exactly(anon_client, market):
    response = anon_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert body["next"] is None and body["previous"] is None
    alpha = next(row for row in body["results"] if row["slug"] == "alpha")
    assert CONTRACT_FIELDS <= alpha.keys()
    assert {key: alpha[key] for key in CONTRACT_FIELDS} == {
        "slug": "alpha",
        "symbol": "alp",
        "name": "Alpha",
        "rank": 3,
        "price": "40",
        "circulating_supply": "500000",
        "total_supply": "800000",
        "max_supply": "1000000",
        "market_cap": "20000000",
        "fully_diluted_valuation": "40000000",
        "fdv_basis": "max_supply",
        "dilution_ratio": "2",
        "volume_24h": "4000000",
        "volume_to_market_cap": "0.2",
        "liquidity": "healthy",
        "tier": "small",
        "dominance": "0.1",
        "categories": ["defi"],
        "last_updated": "2026-04-30T02:00:00Z",
    }


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        (
            "bitcoin",
            {
                "rank": 1,
                "market_cap": "18980000000",
                "tier": "large",
                "fully_diluted_valuation": None,
                "fdv_basis": None,
                "dilution_ratio": None,
                "volume_to_market_cap": "0.01",
                "liquidity": "low",
                "dominance": "94.9",
            },
        ),
        (
            "beta",
            {
                "rank": 2,
                "market_cap": "1000000000",
                "tier": "mid",
                "fully_diluted_valuation": "1200000000",
                "fdv_basis": "total_supply",
                "dilution_ratio": "1.2",
                "volume_to_market_cap": "2",
                "liquidity": "high",
                "dominance": "5",
            },
        ),
        (
            "delta",
            {
                "rank": None,
                "market_cap": None,
                "tier": "unranked",
                "fully_diluted_valuation": None,
                "fdv_basis": None,
                "dilution_ratio": None,
                "volume_to_market_cap": None,
                "liquidity": None,
                "dominance": None,
            },
        ),
    ],
)
def test_each_tier_fdv_basis_and_liquidity_band_is_reported(
    anon_client, market, slug, expected
):
    rows = {row["slug"]: row for row in anon_client.get(URL).json()["results"]}

    assert {key: rows[slug][key] for key in expected} == expected


def test_money_and_quantities_are_json_strings(anon_client, market):
    row = anon_client.get(URL).json()["results"][0]

    for key in ("price", "circulating_supply", "market_cap", "volume_24h", "dominance"):
        assert isinstance(row[key], str), key


def test_assets_are_ranked_by_market_cap_by_default_unranked_last(anon_client, market):
    assert slugs(anon_client.get(URL)) == ["bitcoin", "beta", "alpha", "delta"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("rank", ["bitcoin", "beta", "alpha", "delta"]),
        ("-rank", ["alpha", "beta", "bitcoin", "delta"]),
        ("market_cap", ["alpha", "beta", "bitcoin", "delta"]),
        ("-market_cap", ["bitcoin", "beta", "alpha", "delta"]),
        ("price", ["beta", "alpha", "bitcoin", "delta"]),
        ("-price", ["bitcoin", "alpha", "beta", "delta"]),
        ("volume_24h", ["alpha", "bitcoin", "beta", "delta"]),
        ("-volume_24h", ["beta", "bitcoin", "alpha", "delta"]),
    ],
)
def test_assets_are_ordered_by_the_requested_key_unknown_values_last(
    anon_client, market, ordering, expected
):
    assert slugs(anon_client.get(URL, {"ordering": ordering})) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tier": "large"}, ["bitcoin"]),
        ({"tier": "mid"}, ["beta"]),
        ({"tier": "small"}, ["alpha"]),
        ({"tier": "unranked"}, ["delta"]),
        ({"category": "defi"}, ["alpha"]),
        ({"category": "stablecoins"}, []),
        ({"search": "alph"}, ["alpha"]),
        ({"search": "BTC"}, ["bitcoin"]),
        ({"min_market_cap": "1000000000"}, ["bitcoin", "beta"]),
        ({"max_market_cap": "1000000000"}, ["beta", "alpha"]),
        ({"min_market_cap": "20000000", "max_market_cap": "999999999.99"}, ["alpha"]),
        ({"tier": "large", "search": "alpha"}, []),
    ],
)
def test_assets_are_filtered(anon_client, market, params, expected):
    response = anon_client.get(URL, params)

    assert response.status_code == 200
    assert slugs(response) == expected
    assert response.json()["count"] == len(expected)


def test_filtered_assets_keep_their_global_rank(anon_client, market):
    row = anon_client.get(URL, {"tier": "small"}).json()["results"][0]

    assert row["rank"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tier": "huge"}, "tier"),
        ({"ordering": "name"}, "ordering"),
        ({"min_market_cap": "lots"}, "min_market_cap"),
        ({"max_market_cap": "NaN"}, "max_market_cap"),
        ({"flag": "wrong"}, "flag"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(anon_client, market, params, field):
    response = anon_client.get(URL, params)

    assert response.status_code == 400
    assert field in response.json()


def _bulk_assets(count: int) -> None:
    Asset.objects.bulk_create(
        Asset(
            slug=f"bulk-{n:03d}",
            symbol=f"b{n}",
            name=f"Bulk {n}",
            price=Decimal(n + 1),
            circulating_supply=Decimal("1000"),
            volume_24h=Decimal("10"),
        )
        for n in range(count)
    )
    refresh_market_state()  # as every write path does


def test_page_size_250_is_allowed_and_251_is_refused_with_the_limit(anon_client, db):
    _bulk_assets(251)

    allowed = anon_client.get(URL, {"page_size": 250}).json()
    refused = anon_client.get(URL, {"page_size": 251})

    assert allowed["count"] == 251
    assert len(allowed["results"]) == 250
    assert allowed["next"].endswith("page=2&page_size=250")
    assert (
        len(anon_client.get(URL, {"page": 2, "page_size": 250}).json()["results"]) == 1
    )
    # Not quietly clamped: a client asking for more learns the limit.
    assert refused.status_code == 400
    assert refused.json() == {"page_size": ["A whole number from 1 to 250."]}


def test_pages_link_to_each_other(anon_client, market):
    first = anon_client.get(URL, {"page_size": 2}).json()
    second = anon_client.get(URL, {"page_size": 2, "page": 2}).json()

    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/assets/?page=2&page_size=2"
    assert second["previous"] == "http://testserver/api/v1/assets/?page_size=2"
    assert second["next"] is None
    assert [r["slug"] for r in first["results"] + second["results"]] == [
        "bitcoin",
        "beta",
        "alpha",
        "delta",
    ]


def test_a_page_past_the_end_is_404(anon_client, market):
    assert anon_client.get(URL, {"page": 3, "page_size": 2}).status_code == 404


@pytest.mark.parametrize("size", ["0", "-5", "", "ten", "2.5", "null"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_refused(
    anon_client, db, size
):
    _bulk_assets(3)

    response = anon_client.get(URL, {"page_size": size})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["A whole number from 1 to 250."]}


def test_the_asset_list_runs_the_same_queries_at_10_and_100_per_page(
    anon_client, db, django_assert_num_queries
):
    _bulk_assets(150)
    budget = queries_for(lambda: anon_client.get(URL, {"page_size": 10}))

    with django_assert_num_queries(budget):
        response = anon_client.get(URL, {"page_size": 100})
    assert len(response.json()["results"]) == 100


def test_the_asset_list_sends_etag_and_last_modified_and_answers_304(
    anon_client, market
):
    response = anon_client.get(URL)
    etag = response.headers["ETag"]

    assert response.headers["Last-Modified"] == "Thu, 30 Apr 2026 03:00:00 GMT"
    assert anon_client.get(URL, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert (
        anon_client.get(URL, {"page_size": 1}, HTTP_IF_NONE_MATCH=etag).status_code
        == 200
    )


def test_an_asset_turning_stale_changes_the_etag_and_last_modified(
    anon_client, market, time_machine
):
    etag = anon_client.get(URL).headers["ETag"]

    # The assets updated at 02:00 turn stale a day later; bitcoin (03:00) not yet.
    time_machine.move_to(datetime(2026, 5, 1, 2, 30, tzinfo=UTC), tick=False)
    response = anon_client.get(URL, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert response.headers["Last-Modified"] == "Fri, 01 May 2026 02:00:00 GMT"
    stale = {row["slug"]: row["stale"] for row in response.json()["results"]}
    assert stale == {"bitcoin": False, "beta": True, "alpha": True, "delta": True}


def test_a_price_change_changes_the_asset_list_etag(anon_client, market):
    etag = anon_client.get(URL).headers["ETag"]

    Asset.objects.filter(slug="alpha").update(price=Decimal("41"))
    refresh_market_state()  # as every write path does
    response = anon_client.get(URL, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 200
    assert response.headers["ETag"] != etag


# Detail ---------------------------------------------------------------------


def test_an_asset_detail_adds_unlocks_projected_at_todays_price(anon_client, market):
    alpha = market["alpha"]
    SupplyUnlockFactory(asset=alpha, date=date(2026, 7, 1), amount=Decimal("400000"))
    SupplyUnlockFactory(asset=alpha, date=date(2026, 6, 1), amount=Decimal("100000"))

    response = anon_client.get(f"{URL}alpha/")

    assert response.status_code == 200
    body = response.json()
    assert CONTRACT_FIELDS <= body.keys()
    assert body["market_cap"] == "20000000"
    assert body["rank"] == 3
    assert body["circulating_share"] == "50"
    assert body["next_tier"] == {"tier": "mid", "price": "2000"}
    assert body["unlocks"] == [
        {
            "date": "2026-06-01",
            "amount": "100000",
            "note": "Team vesting",
            "circulating_supply": "600000",
            "market_cap": "24000000",
            "tier": "small",
        },
        {
            "date": "2026-07-01",
            "amount": "400000",
            "note": "Team vesting",
            "circulating_supply": "1000000",
            "market_cap": "40000000",
            "tier": "small",
        },
    ]


def test_an_asset_detail_gives_its_rank_share_and_median_among_category_peers(
    anon_client, db
):
    # Layer 1 caps $40M, $30M, $20M, $10M: X is 2nd of 4 with 30 % of $100M, the
    # median (30 + 20) ÷ 2 = $25M. DeFi: X $30M and Z $10M: 1st of 2, 75 %,
    # median $20M. An asset without a price has no standing anywhere.
    layer1 = CategoryFactory(slug="layer-1", name="Layer 1")
    defi = CategoryFactory(slug="defi", name="DeFi")
    for slug, cap in {"w": 40, "x": 30, "y": 20, "z": 10}.items():
        asset = AssetFactory(slug=slug, price=Decimal(cap), circulating_supply=10**6)
        asset.categories.add(layer1)
        if slug in "xz":
            asset.categories.add(defi)
    AssetFactory(slug="u", price=None).categories.add(defi)
    refresh_market_state()

    peers = anon_client.get(f"{URL}x/").json()["category_peers"]

    assert peers == [
        {
            "category": "defi",
            "name": "DeFi",
            "rank": 1,
            "of": 2,
            "share": "75",
            "median_market_cap": "20000000",
        },
        {
            "category": "layer-1",
            "name": "Layer 1",
            "rank": 2,
            "of": 4,
            "share": "30",
            "median_market_cap": "25000000",
        },
    ]
    assert anon_client.get(f"{URL}u/").json()["category_peers"] == []


def test_an_asset_detail_runs_the_same_queries_in_1_and_12_categories(
    anon_client, db, django_assert_num_queries
):
    asset = AssetFactory(slug="x", price=Decimal(2), circulating_supply=10**6)
    asset.categories.add(CategoryFactory())
    refresh_market_state()
    budget = queries_for(lambda: anon_client.get(f"{URL}x/"))
    asset.categories.add(*CategoryFactory.create_batch(11))
    refresh_market_state()

    with django_assert_num_queries(budget):
        response = anon_client.get(f"{URL}x/")
    assert len(response.json()["category_peers"]) == 12


def test_an_unlock_that_lifts_the_cap_projects_the_next_tier(anon_client, market):
    SupplyUnlockFactory(
        asset=market["beta"], date=date(2026, 6, 1), amount=Decimal("450000000")
    )

    unlock = anon_client.get(f"{URL}beta/").json()["unlocks"][0]

    assert unlock["market_cap"] == "10000000000"
    assert unlock["tier"] == "large"


def test_an_unknown_asset_is_404(anon_client, market):
    response = anon_client.get(f"{URL}no-such-coin/")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_an_asset_detail_runs_the_same_queries_with_1_and_30_unlocks(
    anon_client, market, django_assert_num_queries
):
    SupplyUnlockFactory(asset=market["alpha"])
    budget = queries_for(lambda: anon_client.get(f"{URL}alpha/"))
    for _ in range(29):
        SupplyUnlockFactory(asset=market["alpha"])

    with django_assert_num_queries(budget):
        response = anon_client.get(f"{URL}alpha/")
    assert len(response.json()["unlocks"]) == 30


def test_an_asset_detail_is_built_once_per_market_version(anon_client, market):
    first = anon_client.get(f"{URL}alpha/").json()

    # Again at the same version: the market state only, the answer from the cache.
    assert queries_for(lambda: anon_client.get(f"{URL}alpha/")) == 1
    Asset.objects.filter(slug="alpha").update(price=Decimal("41"))
    refresh_market_state()  # as every write path does
    after = anon_client.get(f"{URL}alpha/").json()

    assert (first["price"], after["price"]) == ("40", "41")


def test_an_asset_detail_answers_304_to_its_own_etag(anon_client, market):
    etag = anon_client.get(f"{URL}alpha/").headers["ETag"]

    assert anon_client.get(f"{URL}alpha/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert anon_client.get(f"{URL}beta/", HTTP_IF_NONE_MATCH=etag).status_code == 200


# History --------------------------------------------------------------------


@pytest.fixture
def alpha_history(market):
    for day, price in [(1, "30"), (2, "40"), (3, "2000")]:
        MarketSnapshotFactory(
            asset=market["alpha"],
            taken_at=datetime(2026, 4, day, 12, 0, tzinfo=UTC),
            price=Decimal(price),
            circulating_supply=Decimal("500000"),
            total_supply=Decimal("800000"),
            max_supply=Decimal("1000000"),
            volume_24h=Decimal("4000000"),
        )
    return market["alpha"]


def test_history_lists_daily_snapshots_oldest_first_with_their_tier(
    anon_client, alpha_history
):
    response = anon_client.get(f"{URL}alpha/history/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["results"][0] == {
        "taken_at": "2026-04-01T12:00:00Z",
        "price": "30",
        "circulating_supply": "500000",
        "total_supply": "800000",
        "max_supply": "1000000",
        "volume_24h": "4000000",
        "market_cap": "15000000",
        "tier": "small",
    }
    assert [(r["market_cap"], r["tier"]) for r in body["results"][1:]] == [
        ("20000000", "small"),
        ("1000000000", "mid"),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start": "2026-04-02"}, ["2026-04-02", "2026-04-03"]),
        ({"end": "2026-04-02"}, ["2026-04-01", "2026-04-02"]),
        ({"start": "2026-04-02", "end": "2026-04-02"}, ["2026-04-02"]),
        ({"start": "2026-05-01"}, []),
    ],
)
def test_history_is_limited_to_the_dates_asked_inclusive(
    anon_client, alpha_history, params, expected
):
    results = anon_client.get(f"{URL}alpha/history/", params).json()["results"]

    assert [r["taken_at"][:10] for r in results] == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-04-03", "end": "2026-04-01"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-13-01"}, "end"),
    ],
)
def test_bad_history_dates_are_a_400_naming_the_parameter(
    anon_client, alpha_history, params, field
):
    response = anon_client.get(f"{URL}alpha/history/", params)

    assert response.status_code == 400
    assert field in response.json()


def test_history_of_an_unknown_asset_is_404(anon_client, market):
    assert anon_client.get(f"{URL}no-such-coin/history/").status_code == 404


def test_history_runs_the_same_queries_for_3_and_60_snapshots(
    anon_client, db, django_assert_num_queries
):
    asset = AssetFactory(slug="alpha")
    for day in range(3):
        MarketSnapshotFactory(
            asset=asset, taken_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
        )
    budget = queries_for(lambda: anon_client.get(f"{URL}alpha/history/"))
    for day in range(57):
        MarketSnapshotFactory(
            asset=asset, taken_at=datetime(2026, 2, 1, tzinfo=UTC) + timedelta(days=day)
        )

    with django_assert_num_queries(budget):
        response = anon_client.get(f"{URL}alpha/history/", {"page_size": 100})
    assert response.json()["count"] == 60


def test_provider_figures_and_quality_flags_are_served_and_filterable(
    anon_client, market
):
    alpha = market["alpha"]
    # 40 × 500,000 = $20,000,000 by capsite; the provider published $25M.
    alpha.provider_market_cap = Decimal("25000000")
    alpha.provider_fdv = Decimal("40000000")
    alpha.provider_rank = 2
    alpha.save()
    refresh_market_state(asset_ids=[alpha.pk])

    listed = anon_client.get(URL).json()["results"]
    detail = anon_client.get(f"{URL}alpha/").json()
    flagged = anon_client.get(URL, {"flag": "cap_mismatch"}).json()

    row = next(r for r in listed if r["slug"] == "alpha")
    served = {
        "provider_market_cap": "25000000",
        "provider_fdv": "40000000",
        "provider_rank": 2,
        "quality_flags": ["cap_mismatch"],
    }
    assert {key: row[key] for key in served} == served
    assert {key: detail[key] for key in served} == served
    assert [r["slug"] for r in flagged["results"]] == ["alpha"]
    assert flagged["count"] == 1
    bitcoin = next(r for r in listed if r["slug"] == "bitcoin")
    assert (bitcoin["provider_market_cap"], bitcoin["quality_flags"]) == (None, [])


def test_stale_is_served_as_a_flag_and_filters_by_the_clock(
    anon_client, market, time_machine
):
    time_machine.move_to(NOW + timedelta(days=2), tick=False)

    stale = anon_client.get(URL, {"flag": "stale"}).json()

    assert stale["count"] == 4
    assert all("stale" in row["quality_flags"] for row in stale["results"])


@pytest.mark.parametrize(
    "conditions",
    [
        {"HTTP_IF_NONE_MATCH": "*"},
        {"HTTP_IF_MODIFIED_SINCE": "Fri, 01 Jan 2100 00:00:00 GMT"},
    ],
)
def test_preconditions_never_hide_a_bad_request_or_a_missing_asset(
    anon_client, market, conditions
):
    bad_query = anon_client.get(URL, {"page_size": "0"}, **conditions)
    missing = anon_client.get(f"{URL}no-such-coin/", **conditions)
    history = anon_client.get(f"{URL}bitcoin/history/", {"start": ""}, **conditions)

    assert (bad_query.status_code, missing.status_code, history.status_code) == (
        400,
        404,
        400,
    )
    # An error has nothing to revalidate: no validator to send back.
    assert not any("ETag" in r.headers for r in (bad_query, missing, history))


def test_a_wildcard_or_a_date_revalidate_a_page_that_exists(anon_client, market):
    assert anon_client.get(URL, HTTP_IF_NONE_MATCH="*").status_code == 304
    assert (
        anon_client.get(
            URL, HTTP_IF_MODIFIED_SINCE="Fri, 01 Jan 2100 00:00:00 GMT"
        ).status_code
        == 304
    )
    stale = anon_client.get(URL, HTTP_IF_MODIFIED_SINCE="Thu, 01 Jan 2026 00:00:00 GMT")
    assert stale.status_code == 200
    assert stale.json()["count"] > 0
