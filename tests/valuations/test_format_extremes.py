"""Pages format any value the models can hold, and the calculator any it accepts.

Before issue 14, `/calculator/?price=0.000000000000000001&circulating_supply=…`
and very large inputs answered 500, and so did an asset page whose circulating
supply was 1e-18: rounding in Python's default 28-digit context raised.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import AssetFactory
from valuations.templatetags import capsite_format

# What a market or ledger column holds: 40 digits, 18 after the point.
STORABLE = st.decimals(
    min_value=Decimal("-9999999999999999999999.999999999999999999"),
    max_value=Decimal("9999999999999999999999.999999999999999999"),
    places=18,
    allow_nan=False,
    allow_infinity=False,
)
FILTERS = [
    capsite_format.usd,
    capsite_format.usd_compact,
    capsite_format.price,
    capsite_format.percent,
    capsite_format.ratio,
    capsite_format.amount,
    capsite_format.exact,
    capsite_format.signed_percent,
]


@given(value=STORABLE, product_of=STORABLE)
@settings(max_examples=300, deadline=None)
def test_every_filter_formats_any_storable_value_and_products_of_two(value, product_of):
    for number in (value, value * product_of, value / 7):
        for show in FILTERS:
            assert isinstance(show(number), str)


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "abc"])
def test_values_that_are_not_finite_numbers_show_a_dash(value):
    assert capsite_format.price(value) == "—"
    assert capsite_format.usd(value) == "—"


def test_a_price_of_twenty_two_digits_is_grouped_to_the_cent():
    assert capsite_format.price(Decimal("9999999999999999999999.999")) == (
        "$10,000,000,000,000,000,000,000.00"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "price=0.000000000000000001&circulating_supply=0.000000000000000001",
        "price=9999999999999999999999.999999999999999999"
        "&circulating_supply=9999999999999999999999.999999999999999999",
        "price=0.000000000000000001&circulating_supply=9999999999999999999999",
    ],
)
def test_the_calculator_page_answers_extreme_values_without_a_server_error(
    client, query
):
    response = client.get(f"/calculator/?{query}")

    assert response.status_code in (200, 400)
    assert "Server Error" not in response.text


@pytest.mark.django_db
def test_an_asset_page_with_a_circulating_supply_of_1e_18_renders(client):
    AssetFactory(
        slug="dust",
        price=Decimal("0.000000000000000001"),
        circulating_supply=Decimal("0.000000000000000001"),
    )

    response = client.get("/assets/dust/")

    assert response.status_code == 200
