"""The /compare/ page and the pure figures behind it (valuations.compare).

Market of tests.api.conftest: bitcoin 1898 × 10M = $18.98B (large), beta
20 × 50M = $1B (mid), alpha 40 × 500k = $20M (small), delta has no price.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.api import conftest as api_conftest
from tests.factories import MarketSnapshotFactory
from valuations import compare
from valuations.models import AssetVolatility
from valuations.signals import announce_snapshots

market = api_conftest.market  # the API tests' four assets, one per tier

URL = "/compare/"


def _snap(asset, day: int, price: str, supply: str = "10000000") -> None:
    MarketSnapshotFactory(
        asset=asset,
        taken_at=datetime(2026, 4, day, 12, tzinfo=UTC),
        price=Decimal(price),
        circulating_supply=Decimal(supply),
    )


# --- pure figures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cap", "supply", "price"),
    [
        # $18.98B at beta's 50M tokens: $379.60.
        (Decimal("18980000000"), Decimal("50000000"), Decimal("379.6")),
        # Rounded up to 18 places, so the cap is reached, not missed by a hair.
        (Decimal("1000000000"), Decimal("3"), Decimal("333333333.333333333333333334")),
        (Decimal("1"), Decimal("0"), None),  # nothing circulating
        (None, Decimal("10"), None),  # the other cap is unknown
        (Decimal("0"), Decimal("10"), None),
    ],
)
def test_price_at_market_cap_is_the_cap_over_circulating_supply(cap, supply, price):
    assert compare.price_at_market_cap(cap, supply) == price


@pytest.mark.parametrize(
    ("value", "base", "level"),
    [
        (Decimal("121"), Decimal("110"), Decimal("110")),
        (Decimal("99"), Decimal("110"), Decimal("90")),
        (Decimal("1"), Decimal("3"), Decimal("33.333333")),
        (Decimal("5"), Decimal("0"), None),
        (None, Decimal("1"), None),
    ],
)
def test_index_level_is_the_value_over_the_start_times_100(value, base, level):
    assert compare.index_level(value, base) == level


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bitcoin", "at least 2"),
        ("a,b,c,d,e,f", "at most 5 assets (6 given)"),
        ("a,b,a", "a repeated"),
        ("a,,b", "Not an asset id"),
        ("a,b c", "Not an asset id"),
    ],
)
def test_lists_that_cannot_be_compared_are_refused(text, reason):
    with pytest.raises(compare.ValidationError) as caught:
        compare.parse_slugs(text, field_name="assets")
    assert reason in caught.value.message_dict["assets"][0]


# --- the page -----------------------------------------------------------------


def test_compare_page_shows_the_assets_side_by_side(client, market):
    response = client.get(URL, {"assets": "bitcoin,beta"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="table-compare"' in html
    assert "Bitcoin" in html and "Beta" in html
    assert "$18.98B" in html and "$1.00B" in html
    assert "Show all metrics" in html
    # beta at bitcoin's cap: $18.98B ÷ 50M = $379.60, 18.98× today's price.
    assert "379.6" in html and "18.98×" in html
    assert [c.asset.slug for c in response.context["compared"]] == ["bitcoin", "beta"]


def test_compare_page_takes_the_ids_as_the_asset_pages_form_sends_them(client, market):
    response = client.get(URL + "?assets=bitcoin&assets=beta,+alpha,")

    assert response.status_code == 200
    slugs = [c.asset.slug for c in response.context["compared"]]
    assert slugs == ["bitcoin", "beta", "alpha"]


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("bitcoin", "Give at least 2 assets"),
        ("bitcoin,beta,alpha,delta,x,y", "Compare at most 5 assets"),
        ("bitcoin,bitcoin", "bitcoin repeated"),
        ("bitcoin,nope,gone", "Unknown assets: nope, gone."),
    ],
)
def test_a_list_that_cannot_be_compared_is_a_form_error(client, market, typed, reason):
    response = client.get(URL, {"assets": typed})

    assert response.status_code == 400
    assert reason in response.context["form"].errors["assets"][0]
    assert 'class="errorlist"' in response.content.decode()
    assert response.context["compared"] == []


def test_an_empty_compare_page_offers_the_form_without_errors(client, db):
    response = client.get(URL)

    assert response.status_code == 200
    assert not response.context["form"].errors
    assert 'name="assets"' in response.content.decode()


def test_compare_page_charts_the_histories_indexed_to_100(client, market):
    for day, price in [(1, "100"), (2, "110"), (3, "121")]:
        _snap(market["bitcoin"], day, price)
    for day, price in [(2, "20"), (3, "10")]:
        _snap(market["beta"], day, price)

    response = client.get(URL, {"assets": "bitcoin,beta"})

    chart = response.context["chart"]()  # drawn when the content is not cached
    assert chart is not None
    assert [p.caption for p in chart.plots] == ["Price index", "Market cap index"]
    assert [c.label for c in chart.columns] == [
        "BTC price",
        "BET price",
        "BTC cap",
        "BET cap",
    ]
    # 2 Apr is 100 for both; on 3 Apr bitcoin is 110 and beta 50.
    assert [r.cells for r in chart.rows] == [
        ["100.0", "100.0", "100.0", "100.0"],
        ["110.0", "50.0", "110.0", "50.0"],
    ]
    assert response.context["comparison"]().start == date(2026, 4, 2)
    html = response.content.decode()
    assert 'class="timechart"' in html and "capsite/charts.js" in html


def test_compare_page_shows_stored_volatility(client, market):
    AssetVolatility.objects.create(
        asset=market["bitcoin"], volatility_30d=Decimal("45.24")
    )

    response = client.get(URL, {"assets": "bitcoin,beta"})

    bitcoin, beta = response.context["compared"]
    assert bitcoin.volatility["volatility_30d"] == Decimal("45.24")
    assert beta.volatility == dict.fromkeys(compare.VOLATILITY_FIELDS)
    assert "45.2 %" in response.content.decode()


def test_compare_page_takes_a_fixed_number_of_queries_whatever_the_history(
    client, market, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # The market state, the assets (rank and volatility joined), the snapshots.
    with django_assert_num_queries(3):
        client.get(URL, {"assets": "bitcoin,beta,alpha"})
    # Again at the same market version: the history is in the cached content.
    with django_assert_num_queries(2):
        client.get(URL, {"assets": "bitcoin,beta,alpha"})
    for day in range(1, 29):
        for slug in ("bitcoin", "beta", "alpha"):
            _snap(market[slug], day, str(100 + day))
    with django_capture_on_commit_callbacks(execute=True):
        announce_snapshots(asset_ids=[a.pk for a in market.values()], since=None)
    with django_assert_num_queries(3):
        response = client.get(URL, {"assets": "bitcoin,beta,alpha"})
    assert len(response.context["chart"]().rows) == 28
    assert response.content.decode().count("<tr data-x=") == 28  # drawn days


def test_asset_and_market_pages_link_to_compare(client, market):
    detail = client.get("/assets/bitcoin/").content.decode()
    assert 'action="/compare/"' in detail
    assert 'type="hidden" name="assets" value="bitcoin"' in detail
    assert "Compare with…" in detail

    assert 'href="/compare/"' in client.get("/").content.decode()
