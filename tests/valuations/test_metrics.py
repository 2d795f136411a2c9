"""The valuation definitions of PRODUCT.md, computed by valuations.metrics."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from valuations import metrics
from valuations.choices import FdvBasis, Liquidity, Tier
from valuations.metrics import Fdv, NextTier

D = Decimal
ONE_BILLION = D("1000000000")
TEN_BILLION = D("10000000000")


@pytest.mark.parametrize(
    ("price", "circulating", "cap", "tier"),
    [
        (D("40"), D("500000"), D("20000000"), Tier.SMALL),
        (D("25761"), D("19482197"), D("501880876917"), Tier.LARGE),
        (D("20"), D("50000000"), D("1000000000"), Tier.MID),
    ],
    ids=["40x500k-small", "25761x19.5m-large", "20x50m-boundary-mid"],
)
def test_product_worked_examples_give_the_exact_cap_and_tier(
    price, circulating, cap, tier
):
    assert metrics.market_cap(price, circulating) == cap
    assert metrics.tier_for(metrics.market_cap(price, circulating)) == tier


def test_200m_cap_with_800m_fdv_has_a_dilution_ratio_of_4():
    assert metrics.dilution_ratio(D("800000000"), D("200000000")) == D("4")


@pytest.mark.parametrize(
    ("fdv", "cap"),
    [(D("800000000"), D("0")), (D("800000000"), None), (None, D("200000000"))],
)
def test_dilution_ratio_is_unknown_without_fdv_or_a_positive_cap(fdv, cap):
    assert metrics.dilution_ratio(fdv, cap) is None


@pytest.mark.parametrize(
    ("price", "circulating"),
    [(None, D("500000")), (D("40"), None), (None, None)],
)
def test_market_cap_is_unknown_without_price_or_circulating_supply(price, circulating):
    assert metrics.market_cap(price, circulating) is None


@pytest.mark.parametrize(
    ("cap", "tier"),
    [
        (None, Tier.UNRANKED),
        (D("0"), Tier.UNRANKED),
        (D("0.000000000000000001"), Tier.SMALL),
        (D("999999999.999999999999999999"), Tier.SMALL),
        (ONE_BILLION, Tier.MID),
        (D("9999999999.999999999999999999"), Tier.MID),
        (TEN_BILLION, Tier.LARGE),
        (D("1525711563723"), Tier.LARGE),
    ],
)
def test_tier_boundaries_belong_to_the_upper_tier(cap, tier):
    assert metrics.tier_for(cap) == tier


def test_tier_thresholds_come_from_settings_when_called(settings):
    cap = D("20000000000")  # $20B: large with the default thresholds
    assert metrics.tier_for(cap) == Tier.LARGE

    settings.CAPSITE_TIER_LARGE_MIN = D("50000000000")
    assert metrics.tier_for(cap) == Tier.MID

    settings.CAPSITE_TIER_MID_MIN = D("25000000000")
    assert metrics.tier_for(cap) == Tier.SMALL


@pytest.mark.parametrize(
    ("price", "max_supply", "total_supply", "expected"),
    [
        (D("2"), D("4000000"), D("2000000"), Fdv(D("8000000"), FdvBasis.MAX_SUPPLY)),
        (D("2"), None, D("2000000"), Fdv(D("4000000"), FdvBasis.TOTAL_SUPPLY)),
        (D("2"), None, None, Fdv(None, None)),
        (None, D("4000000"), D("2000000"), Fdv(None, None)),
    ],
    ids=["max-supply-first", "total-supply-fallback", "no-supply", "no-price"],
)
def test_fdv_uses_max_supply_then_total_supply(
    price, max_supply, total_supply, expected
):
    assert metrics.fully_diluted_valuation(price, max_supply, total_supply) == expected


def test_fdv_on_total_supply_is_flagged_with_its_basis():
    fdv = metrics.fully_diluted_valuation(D("2263.2"), None, D("120687804.7204604"))
    assert fdv.value == D("273140639643.34597728")
    assert fdv.basis == "total_supply"


@pytest.mark.parametrize(
    ("circulating", "max_supply", "total_supply", "share"),
    [
        (D("1000000"), D("4000000"), D("2000000"), D("0.25")),
        (D("1000000"), None, D("2000000"), D("0.5")),
        (D("20022396"), D("21000000"), None, D("20022396") / D("21000000")),
        (D("1000000"), None, None, None),
        (None, D("4000000"), D("2000000"), None),
        (D("1000000"), D("0"), D("2000000"), None),
    ],
)
def test_circulating_share_divides_by_max_supply_else_total_supply(
    circulating, max_supply, total_supply, share
):
    assert metrics.circulating_share(circulating, max_supply, total_supply) == share


@pytest.mark.parametrize(
    ("volume", "cap", "ratio"),
    [
        (D("1000000"), D("2000000"), D("0.5")),
        (D("43249932397"), D("1525711563723"), D("43249932397") / D("1525711563723")),
        (D("0"), D("2000000"), D("0")),
        (D("1000000"), D("0"), None),
        (D("1000000"), None, None),
        (None, D("2000000"), None),
    ],
)
def test_volume_to_market_cap_needs_a_positive_cap(volume, cap, ratio):
    assert metrics.volume_to_market_cap(volume, cap) == ratio


def test_zero_volume_is_in_the_low_liquidity_band():
    ratio = metrics.volume_to_market_cap(D("0"), D("2000000"))
    assert ratio == 0
    assert metrics.turnover_band(ratio) == Liquidity.LOW


@pytest.mark.parametrize(
    ("ratio", "band"),
    [
        (D("0.099999999999999999"), Liquidity.LOW),
        (D("0.1"), Liquidity.HEALTHY),
        (D("0.5"), Liquidity.HEALTHY),
        (D("1.0"), Liquidity.HEALTHY),
        (D("1.000000000000000001"), Liquidity.HIGH),
        (D("12"), Liquidity.HIGH),
        (None, None),
    ],
)
def test_liquidity_band_edges_0_1_and_1_0_are_healthy(ratio, band):
    assert metrics.turnover_band(ratio) == band


def test_thinly_traded_asset_from_product_example_is_flagged_low():
    # 1,000 tokens at $50 with $1,000 traded: one buy can move the cap tenfold.
    ratio = metrics.volume_to_market_cap(D("1000"), metrics.market_cap(D("50"), 1000))
    assert ratio == D("0.02")
    assert metrics.turnover_band(ratio) == Liquidity.LOW


@pytest.mark.parametrize(
    ("price", "circulating", "expected"),
    [
        (D("40"), D("500000"), NextTier(Tier.MID, D("2000"))),
        (D("20"), D("50000000"), NextTier(Tier.LARGE, D("200"))),
        (D("0.5"), D("1000000000"), NextTier(Tier.MID, D("1"))),
    ],
    ids=["small-to-mid", "mid-to-large", "small-at-half-a-dollar"],
)
def test_next_tier_is_the_boundary_divided_by_circulating_supply(
    price, circulating, expected
):
    assert metrics.next_tier(price, circulating) == expected


@pytest.mark.parametrize(
    ("price", "circulating"),
    [
        (D("25761"), D("19482197")),  # large: no tier above
        (None, D("19482197")),  # no price: unranked
        (D("40"), D("0")),  # nothing circulating: unranked
        (D("40"), None),
    ],
    ids=["large", "no-price", "zero-circulating", "unknown-circulating"],
)
def test_next_tier_is_none_for_large_and_unranked_assets(price, circulating):
    assert metrics.next_tier(price, circulating) is None


@pytest.mark.parametrize(
    "circulating",
    [
        D("3"),
        D("7"),
        D("19482197"),
        D("120687804.7204604"),
        D("589247548082310.1"),
        D("1234567890123456.123456789012345678"),
    ],
)
def test_next_tier_price_really_reaches_the_next_tier(circulating):
    """The quoted price, not a hair below it, is what puts the asset in the tier."""
    price = D("0.000000000000000001")
    upgrade = metrics.next_tier(price, circulating)
    assert upgrade is not None and upgrade.tier == Tier.MID
    reached = metrics.market_cap(upgrade.price, circulating)
    assert reached >= ONE_BILLION
    assert metrics.tier_for(reached) == upgrade.tier
    # The smallest price at 18 places that reaches it: one unit less does not.
    hair_below = metrics.market_cap(upgrade.price - D("1e-18"), circulating)
    assert metrics.tier_for(hair_below) == Tier.SMALL

    upgrade_to_large = metrics.next_tier(upgrade.price, circulating)
    assert upgrade_to_large is not None and upgrade_to_large.tier == Tier.LARGE
    reached = metrics.market_cap(upgrade_to_large.price, circulating)
    assert metrics.tier_for(reached) == Tier.LARGE


def test_next_tier_follows_the_thresholds_in_settings(settings):
    settings.CAPSITE_TIER_MID_MIN = D("500000000")
    assert metrics.next_tier(D("40"), D("500000")) == NextTier(Tier.MID, D("1000"))


@pytest.mark.parametrize(
    ("caps", "total"),
    [
        ([D("1525711563723"), D("273389614693")], D("1799101178416")),
        ([D("600"), None, D("0"), D("400")], D("1000")),
        ([None, D("0")], D("0")),
        ([], D("0")),
    ],
    ids=["btc-and-eth", "skips-unknown-and-zero", "nothing-ranked", "empty"],
)
def test_total_market_cap_sums_ranked_caps_only(caps, total):
    assert metrics.total_market_cap(caps) == total


@pytest.mark.parametrize(
    ("total", "bitcoin", "altcoin"),
    [
        (D("1000"), D("600"), D("400")),
        (D("1000"), None, D("1000")),
        (D("0"), None, D("0")),
    ],
)
def test_altcoin_market_cap_is_total_minus_bitcoin(total, bitcoin, altcoin):
    assert metrics.altcoin_market_cap(total, bitcoin) == altcoin


@pytest.mark.parametrize(
    ("cap", "total", "share"),
    [
        (D("600"), D("1000"), D("0.6")),
        (D("1525711563723"), D("3125000000000"), D("0.48822770039136")),
        (None, D("1000"), None),
        (D("0"), D("1000"), None),
        (D("600"), D("0"), None),
        (D("600"), None, None),
    ],
)
def test_dominance_is_cap_over_total(cap, total, share):
    assert metrics.dominance(cap, total) == share


def test_percent_turns_a_fraction_into_a_percentage():
    assert metrics.percent(D("0.4884")) == D("48.84")
    assert metrics.percent(None) is None


def test_unlocks_are_applied_cumulatively_in_date_order():
    projections = metrics.project_unlocks(
        D("40"),
        D("500000"),
        [(date(2026, 9, 1), D("24000000")), (date(2026, 7, 1), D("500000"))],
    )
    assert [
        (p.date, p.amount, p.circulating_supply, p.market_cap, p.tier)
        for p in projections
    ] == [
        (date(2026, 7, 1), D("500000"), D("1000000"), D("40000000"), Tier.SMALL),
        (date(2026, 9, 1), D("24000000"), D("25000000"), ONE_BILLION, Tier.MID),
    ]


def test_unlocks_without_a_price_project_supply_but_no_cap():
    projections = metrics.project_unlocks(None, None, [(date(2026, 7, 1), D("100000"))])
    assert projections[0].circulating_supply == D("100000")
    assert projections[0].market_cap is None
    assert projections[0].tier == Tier.UNRANKED


def test_no_unlocks_project_nothing():
    assert metrics.project_unlocks(D("40"), D("500000"), []) == []


@pytest.mark.parametrize(
    ("price", "circulating", "cap"),
    [
        (D("0.000000001"), D("1000000000000000"), D("1000000")),
        (D("0.000000000123456789"), D("1000000000000000000"), D("123456789")),
        (
            D("0.000000000123456789"),
            D("1234567890123456.123456789012345678"),
            D("152415.787517146706584362751714678763907942"),
        ),
        (
            D("76134.000000000000000001"),
            D("20022396.123456789012345678"),
            D("1524385106463.259174665945871248123456789012345678"),
        ),
    ],
    ids=["1e-9x1e15", "18-decimal-price-x1e18", "18-decimals-both", "btc-wei"],
)
def test_market_cap_of_extreme_magnitudes_is_exact(price, circulating, cap):
    assert metrics.market_cap(price, circulating) == cap


def test_fdv_of_a_quadrillion_token_supply_is_exact():
    fdv = metrics.fully_diluted_valuation(
        D("0.000006123456789012"), D("999982355854862.123456789012345678"), None
    )
    assert fdv == Fdv(
        D("6123348745.851669156810689171270228232056090136"), FdvBasis.MAX_SUPPLY
    )


def test_one_wei_unlock_on_a_quadrillion_supply_is_not_lost():
    (projection,) = metrics.project_unlocks(
        D("0.000000001"),
        D("1000000000000000"),
        [(date(2026, 7, 1), D("0.000000000000000001"))],
    )
    assert projection.circulating_supply == D("1000000000000000.000000000000000001")
    assert projection.market_cap == D("1000000.000000000000000000000000001")


def test_total_and_altcoin_market_cap_keep_18_decimals():
    total = metrics.total_market_cap(
        [D("1525711563723.000000000000000001"), D("273389614693.000000000000000002")]
    )
    assert total == D("1799101178416.000000000000000003")
    assert metrics.altcoin_market_cap(
        total, D("1525711563723.000000000000000001")
    ) == D("273389614693.000000000000000002")
