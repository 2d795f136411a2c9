"""Template filters that format money, prices, supplies and ratios for people."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from valuations.templatetags import capsite_format as fmt

D = Decimal
DASH = "—"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DASH),
        ("", DASH),
        ("not a number", DASH),
        (D("20000000"), "$20,000,000"),
        (D("1000000000"), "$1,000,000,000"),
        (D("501880876917"), "$501,880,876,917"),
        # Whole dollars from $1,000 up, rounded half up.
        (D("1234.5"), "$1,235"),
        (D("1000"), "$1,000"),
        # Cents below $1,000.
        (D("999.5"), "$999.50"),
        (D("0.125"), "$0.13"),
        (D("0"), "$0.00"),
        (D("0E-18"), "$0.00"),
        (D("-1234"), "-$1,234"),
        (D("-0.5"), "-$0.50"),
        (D("1530000000000.000000000000000000"), "$1,530,000,000,000"),
        (1500, "$1,500"),
        ("2500.75", "$2,501"),
    ],
)
def test_usd_shows_whole_dollars_with_separators(value, expected):
    assert fmt.usd(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DASH),
        (D("1530000000000"), "$1.53T"),
        (D("1000000000000"), "$1.00T"),
        (D("84970000000"), "$84.97B"),
        (D("1000000000"), "$1.00B"),
        (D("999000000"), "$999.00M"),
        (D("20000000"), "$20.00M"),
        (D("1000000"), "$1.00M"),
        # Below a million the full amount is short enough.
        (D("999999"), "$999,999"),
        (D("50"), "$50.00"),
        (D("0"), "$0.00"),
        (D("1234567890123"), "$1.23T"),
        (D("1235000000"), "$1.24B"),
        (D("-2500000000"), "-$2.50B"),
        (D("2000000000000000"), "$2,000.00T"),
    ],
)
def test_usd_compact_shortens_to_millions_billions_and_trillions(value, expected):
    assert fmt.usd_compact(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DASH),
        (D("76500"), "$76,500.00"),
        (D("25761"), "$25,761.00"),
        (D("1"), "$1.00"),
        (D("1.005"), "$1.01"),
        (D("0"), "$0.00"),
        # Below $1, four significant digits however small the price.
        (D("0.5"), "$0.5000"),
        (D("0.123456"), "$0.1235"),
        (D("0.01"), "$0.01000"),
        (D("0.001234"), "$0.001234"),
        # Below $0.001, grouped in threes from the point (narrow spaces).
        (D("0.0001234"), "$0.000\u202f123\u202f4"),
        (D("0.00000625"), "$0.000\u202f006\u202f250"),
        (D("0.000000012345"), "$0.000\u202f000\u202f012\u202f35"),
        (D("6.25E-6"), "$0.000\u202f006\u202f250"),
    ],
)
def test_price_keeps_four_significant_digits_below_a_dollar(value, expected):
    assert fmt.price(value) == expected


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (None, 2, DASH),
        (D("0.4884"), 2, "48.84 %"),
        (D("0.4884"), 1, "48.8 %"),
        (D("0.765"), 2, "76.50 %"),
        (D("0.228975"), 2, "22.90 %"),
        (D("1"), 2, "100.00 %"),
        (D("0"), 2, "0.00 %"),
        (D("0.00005"), 2, "0.01 %"),
        (D("0.00004"), 2, "0.00 %"),
        (D("12.5"), 0, "1,250 %"),
        ("0.5", 2, "50.00 %"),
    ],
)
def test_percent_turns_a_fraction_into_a_percentage(value, places, expected):
    assert fmt.percent(value, places) == expected


def test_percent_defaults_to_two_places():
    assert fmt.percent(D("0.4884")) == "48.84 %"


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (None, 2, DASH),
        (D("4"), 2, "4.00"),
        (D("800000000") / D("200000000"), 2, "4.00"),
        (D("1") / D("3"), 2, "0.33"),
        (D("0.15"), 3, "0.150"),
        (D("0.0196"), 3, "0.020"),
        (D("1234.5"), 2, "1,234.50"),
        (D("0"), 2, "0.00"),
    ],
)
def test_ratio_has_fixed_decimals(value, places, expected):
    assert fmt.ratio(value, places) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DASH),
        (D("19482197"), "19,482,197"),
        (D("19482197.000000000000000000"), "19,482,197"),
        (D("21000000"), "21,000,000"),
        (D("5"), "5"),
        (D("5.000"), "5"),
        (D("0"), "0"),
        # Decimals are dropped from 1,000 up and kept exactly below it.
        (D("1000.5"), "1,001"),
        (D("12.3400"), "12.34"),
        (D("999.999"), "999.999"),
        (D("0.000001"), "0.000001"),
        (D("0.000000000000000001"), "0.000000000000000001"),
    ],
)
def test_amount_shows_decimals_only_where_they_matter(value, expected):
    assert fmt.amount(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (D("1530000000000.000000000000000000"), "1530000000000"),
        (D("0.765000"), "0.765"),
        (D("0.00000625"), "0.00000625"),
        (D("6.25E-6"), "0.00000625"),
        (D("1E+3"), "1000"),
        (D("100"), "100"),
        (D("2.5"), "2.5"),
        (D("0.000000000000000001"), "0.000000000000000001"),
        # Zero read back from an 18-place column is still zero, not blank.
        (D("0E-18"), "0"),
        (D("0.000"), "0"),
        (D("0"), "0"),
    ],
)
def test_exact_shows_the_stored_decimal_without_exponent_or_trailing_zeros(
    value, expected
):
    assert fmt.exact(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "0"),
        (D("0"), "0.000"),
        (D("0.4884"), "48.840"),
        (D("0.25"), "25.000"),
        (D("1"), "100.000"),
        # Clipped to the bar.
        (D("1.5"), "100.000"),
        (D("-0.1"), "0.000"),
        (D("0.000001"), "0.000"),
    ],
)
def test_bar_width_is_a_clipped_percentage_for_svg(value, expected):
    assert fmt.bar_width(value) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ v|usd_compact }}", "$1.53T"),
        ("{{ v|usd }}", "$1,530,000,000,000"),
        ("{{ share|percent }}", "48.84 %"),
        ("{{ share|percent:1 }}", "48.8 %"),
        ("{{ share|ratio:3 }}", "0.488"),
        ("{{ tiny|price }}", "$0.000\u202f006\u202f250"),
        ('{{ tiny|price:"plain" }}', "$0.000006250"),
        ("{{ missing|usd }}", DASH),
    ],
)
def test_filters_are_registered_for_templates(source, expected):
    template = Template("{% load capsite_format %}" + source)
    context = Context(
        {"v": D("1530000000000"), "share": D("0.4884"), "tiny": D("0.00000625")}
    )

    assert template.render(context) == expected
