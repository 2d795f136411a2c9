"""Buckets, tier mix, weights, diversification and concentration of PRODUCT.md."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.positions import large, mid, small, stable, unranked
from valuations.tiermix import (
    BUCKETS,
    bucket_for,
    diversification,
    tier_mix,
    weight,
)

D = Decimal


# Buckets and tier mix -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "is_stablecoin", "bucket"),
    [
        ("large", False, "large"),
        ("mid", False, "mid"),
        ("small", False, "small"),
        ("unranked", False, "unranked"),
        ("large", True, "stable"),
        ("small", True, "stable"),
        ("unranked", True, "stable"),
    ],
)
def test_bucket_is_the_tier_except_stablecoins_which_are_stable_whatever_their_cap(
    tier, is_stablecoin, bucket
):
    assert bucket_for(tier, is_stablecoin) == bucket


def test_an_unknown_tier_is_a_programming_error():
    with pytest.raises(ValueError, match="huge"):
        bucket_for("huge", False)


def test_buckets_come_in_the_order_large_mid_small_stable_unranked():
    assert list(BUCKETS) == ["large", "mid", "small", "stable", "unranked"]


def test_tier_mix_gives_every_bucket_its_value_and_percent_weight():
    mix = tier_mix(
        [
            large("bitcoin", "500"),
            large("ethereum", "125"),
            mid("chainlink", "200"),
            stable("tether", "100"),
            unranked("newcoin", "75"),
        ]
    )

    assert mix.total == D("1000")
    assert list(mix.values) == list(BUCKETS)
    assert mix.values == {
        "large": D("625"),
        "mid": D("200"),
        "small": D("0"),
        "stable": D("100"),
        "unranked": D("75"),
    }
    assert mix.weights == {
        "large": D("62.5"),
        "mid": D("20"),
        "small": D("0"),
        "stable": D("10"),
        "unranked": D("7.5"),
    }


def test_a_large_cap_stablecoin_counts_as_stable_not_large():
    mix = tier_mix([stable("tether", "100"), large("bitcoin", "100")])

    assert mix.values["stable"] == D("100")
    assert mix.values["large"] == D("100")
    assert mix.weights["stable"] == D("50")


def test_a_portfolio_worth_nothing_has_zero_weights():
    mix = tier_mix([unranked("nopricecoin", "0")])

    assert mix.weights == dict.fromkeys(BUCKETS, D(0))
    assert weight(D(0), mix.total) == D(0)


# Diversification across tiers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("positions", "score", "effective_tiers"),
    [
        ([large("a", "100"), mid("b", "100"), small("c", "100")], D("1"), D("3")),
        ([large("a", "100")], D("0"), D("1")),
        ([mid("a", "40"), mid("b", "60")], D("0"), D("1")),
        ([large("a", "50"), mid("b", "50")], D("0.630930"), D("2")),
        ([large("a", "500"), small("b", "500")], D("0.630930"), D("2")),
        (
            [large("a", "50"), mid("b", "25"), small("c", "25")],
            D("0.946395"),
            D("2.666667"),
        ),
    ],
    ids=[
        "even-three",
        "one-tier",
        "one-tier-two-assets",
        "50-50",
        "50-50-gap",
        "2-1-1",
    ],
)
def test_diversification_score_is_entropy_over_ln3_and_effective_tiers_inverse_sum_sq(
    positions, score, effective_tiers
):
    figures = diversification(positions)

    assert figures.score == score
    assert figures.effective_tiers == effective_tiers


def test_a_two_tier_even_split_scores_ln2_over_ln3_to_six_places():
    expected = (D(2).ln() / D(3).ln()).quantize(D("0.000001"))

    assert diversification([large("a", "1"), small("b", "1")]).score == expected


def test_stable_and_unranked_are_excluded_from_the_score_but_present_in_the_mix():
    positions = [
        large("a", "100"),
        mid("b", "100"),
        small("c", "100"),
        stable("usdt", "900"),
        unranked("x", "500"),
    ]

    assert diversification(positions).score == D("1")
    assert diversification(positions).effective_tiers == D("3")
    mix = tier_mix(positions)
    assert mix.values["stable"] == D("900")
    assert mix.values["unranked"] == D("500")


def test_score_is_none_when_only_stablecoins_and_unranked_are_held():
    figures = diversification([stable("usdt", "100"), unranked("x", "100")])

    assert figures.score is None
    assert figures.effective_tiers is None
    assert figures.hhi == D("0.5")


# Concentration across holdings --------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "hhi", "effective_holdings"),
    [
        (["100"], D("1"), D("1")),
        (["25", "25", "25", "25"], D("0.25"), D("4")),
        (["75", "25"], D("0.625"), D("1.6")),
        (["1", "1", "1"], D("0.333333"), D("3")),
    ],
    ids=["one", "four-equal", "75-25", "three-equal"],
)
def test_hhi_is_the_sum_of_squared_fraction_weights_and_effective_holdings_its_inverse(
    values, hhi, effective_holdings
):
    positions = [large(f"asset-{i}", v) for i, v in enumerate(values)]

    figures = diversification(positions)

    assert figures.hhi == hhi
    assert figures.effective_holdings == effective_holdings


def test_largest_weight_is_the_biggest_holding_in_percent():
    figures = diversification(
        [mid("chainlink", "250"), large("solana", "625"), small("x", "125")]
    )

    assert figures.largest_asset == "solana"
    assert figures.largest_weight == D("62.5")


def test_positions_of_the_same_asset_count_as_one_holding():
    figures = diversification([large("bitcoin", "50"), large("bitcoin", "50")])

    assert figures.hhi == D("1")
    assert figures.largest_weight == D("100")
