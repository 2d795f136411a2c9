"""POST /api/v1/calculator/ (public): every metric from a price and supplies."""

from __future__ import annotations

from decimal import Decimal

import pytest

URL = "/api/v1/calculator/"


def calculate(client, **body):
    return client.post(URL, body, format="json")


@pytest.mark.parametrize(
    ("price", "circulating", "market_cap", "tier", "next_tier"),
    [
        # PRODUCT.md's worked examples; $1B exactly belongs to mid.
        ("40", "500000", "20000000", "small", {"tier": "mid", "price": "2000"}),
        ("25761", "19482197", "501880876917", "large", None),
        ("20", "50000000", "1000000000", "mid", {"tier": "large", "price": "200"}),
        ("19.99", "50000000", "999500000", "small", {"tier": "mid", "price": "20"}),
        ("200", "50000000", "10000000000", "large", None),
        ("0", "50000000", "0", "unranked", None),
        ("1", "0", "0", "unranked", None),
    ],
)
def test_market_cap_tier_and_next_tier_price(
    anon_client, price, circulating, market_cap, tier, next_tier
):
    response = calculate(anon_client, price=price, circulating_supply=circulating)

    assert response.status_code == 200
    body = response.json()
    assert (body["market_cap"], body["tier"], body["next_tier"]) == (
        market_cap,
        tier,
        next_tier,
    )


def test_every_figure_of_a_200m_cap_with_an_800m_fdv(anon_client):
    response = calculate(
        anon_client,
        price="2",
        circulating_supply="100000000",
        total_supply="300000000",
        max_supply="400000000",
        volume_24h="30000000",
    )

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in body if key != "circulating_share"} == {
        "thin_market": False,  # $30M a day, 15 % of the cap
        "market_cap": "200000000",
        "tier": "small",
        "fully_diluted_valuation": "800000000",
        "fdv_basis": "max_supply",
        "dilution_ratio": "4",
        "volume_to_market_cap": "0.15",
        "liquidity": "healthy",
        "next_tier": {"tier": "mid", "price": "10"},
    }


@pytest.mark.parametrize(
    ("supplies", "fdv", "basis", "ratio"),
    [
        ({"max_supply": "400000000"}, "800000000", "max_supply", "4"),
        ({"total_supply": "300000000"}, "600000000", "total_supply", "3"),
        (
            {"max_supply": "400000000", "total_supply": "300000000"},
            "800000000",
            "max_supply",
            "4",
        ),
        ({}, None, None, None),
        ({"max_supply": None, "total_supply": None}, None, None, None),
    ],
)
def test_fdv_uses_max_supply_then_total_supply(
    anon_client, supplies, fdv, basis, ratio
):
    body = calculate(
        anon_client, price="2", circulating_supply="100000000", **supplies
    ).json()

    assert (
        body["fully_diluted_valuation"],
        body["fdv_basis"],
        body["dilution_ratio"],
    ) == (fdv, basis, ratio)


@pytest.mark.parametrize(
    ("volume", "ratio", "band"),
    [
        ("250000000", "1.25", "high"),
        ("200000001", "1.000000005", "high"),
        ("200000000", "1", "healthy"),
        ("20000000", "0.1", "healthy"),
        ("19999999", "0.099999995", "low"),
        ("0", "0", "low"),
        (None, None, None),
    ],
)
def test_liquidity_band_boundaries(anon_client, volume, ratio, band):
    body = calculate(
        anon_client, price="2", circulating_supply="100000000", volume_24h=volume
    ).json()

    assert (body["volume_to_market_cap"], body["liquidity"]) == (ratio, band)


def test_figures_are_json_strings_with_18_decimals_exact(anon_client):
    body = calculate(
        anon_client,
        price="0.000000000000000001",
        circulating_supply="1000000000000000000",
        max_supply="4000000000000000000",
    ).json()

    assert body["market_cap"] == "1"
    assert body["fully_diluted_valuation"] == "4"
    assert body["circulating_share"] == "25"


def test_the_largest_inputs_the_calculator_accepts_are_answered(anon_client):
    largest = "9" * 22 + "." + "9" * 18
    smallest = "0.000000000000000001"

    huge = calculate(anon_client, price=largest, circulating_supply=largest)
    tiny = calculate(
        anon_client,
        price=smallest,
        circulating_supply=smallest,
        volume_24h=largest,
        total_supply=largest,
    )

    assert huge.status_code == tiny.status_code == 200
    assert huge.json()["tier"] == "large"
    assert tiny.json()["liquidity"] == "high"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"circulating_supply": "1"}, "price"),
        ({"price": "1"}, "circulating_supply"),
        ({"price": "-1", "circulating_supply": "1"}, "price"),
        ({"price": "abc", "circulating_supply": "1"}, "price"),
        ({"price": "NaN", "circulating_supply": "1"}, "price"),
        ({"price": "1", "circulating_supply": "1", "volume_24h": "-5"}, "volume_24h"),
        ({"price": "1", "circulating_supply": "1" + "0" * 22}, "circulating_supply"),
        ({"price": "0.0000000000000000001", "circulating_supply": "1"}, "price"),
        (
            {"price": "1", "circulating_supply": "200", "max_supply": "100"},
            "circulating_supply",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(anon_client, body, field):
    response = anon_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_total_supply_above_max_is_accepted_as_the_asset_model_accepts_it(anon_client):
    response = calculate(
        anon_client,
        price="1",
        circulating_supply="10",
        total_supply="200",
        max_supply="100",
    )

    assert response.status_code == 200
    assert response.json()["fully_diluted_valuation"] == "100"


def test_the_calculator_is_public_and_reads_no_database(
    anon_client, api_client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = calculate(anon_client, price="40", circulating_supply="500000")
    assert response.status_code == 200
    assert calculate(api_client, price="40", circulating_supply="500000").json() == (
        response.json()
    )


def test_the_calculator_accepts_form_data(anon_client):
    response = anon_client.post(URL, {"price": "40", "circulating_supply": "500000"})

    assert response.status_code == 200
    assert response.json()["market_cap"] == "20000000"


def test_the_next_tier_price_served_reaches_the_tier(anon_client):
    # 3.333333333333333333 × 3B = $9,999,999,999.999999999: a mid cap, a hair
    # short of large. 10B ÷ 3B = 3.3333… must be served rounded up, at 18
    # places, or the price it names would still be a mid cap.
    body = calculate(
        anon_client, price="3.333333333333333333", circulating_supply="3000000000"
    ).json()

    assert body["tier"] == "mid"
    assert body["next_tier"]["price"] == "3.333333333333333334"
    assert Decimal(body["next_tier"]["price"]) * 3_000_000_000 >= 10_000_000_000
