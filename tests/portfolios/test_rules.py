"""Targets, drift, rebalancing and risk flags of PRODUCT.md's Portfolios."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from portfolios.rebalancing import Trade, rebalance_plan
from portfolios.risk import RiskInput, risk_flags
from portfolios.targets import PRESETS, Target, drift, validate_target
from tests.positions import exact_sum, large, mid, small, stable, unranked
from valuations.tiermix import BUCKETS, diversification, tier_mix

D = Decimal
TODAY = date(2025, 3, 1)
BALANCED = PRESETS["balanced"]


def distance(weights: dict[str, Decimal], target: Target) -> Decimal:
    return exact_sum((weights[b] - target.weight(b)) ** 2 for b in BUCKETS)


# An empty portfolio ---------------------------------------------------------------


def test_an_empty_portfolio_has_all_buckets_at_zero_and_does_not_crash():
    mix = tier_mix([])
    figures = diversification([])
    plan = rebalance_plan([], BALANCED, "full")

    assert mix.total == 0
    assert mix.values == dict.fromkeys(BUCKETS, D(0))
    assert mix.weights == dict.fromkeys(BUCKETS, D(0))
    assert figures.score is None
    assert figures.effective_tiers is None
    assert figures.largest_weight is None
    assert figures.hhi is None
    assert figures.effective_holdings is None
    assert [row.weight for row in drift(mix, BALANCED, D(5))] == [D(0)] * 5
    assert plan.amounts == dict.fromkeys(BUCKETS, D(0))
    assert plan.trades == ()


# Targets ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["conservative", "balanced", "aggressive"])
def test_presets_sum_to_100_and_are_valid(name):
    target = PRESETS[name]

    assert exact_sum(target.weights().values()) == D("100")
    assert target.weight("unranked") == D("0")
    assert validate_target(target) is target


@pytest.mark.parametrize(
    ("name", "large_", "mid_", "small_", "stable_"),
    [
        ("conservative", "70", "20", "5", "5"),
        ("balanced", "50", "30", "15", "5"),
        ("aggressive", "30", "35", "30", "5"),
    ],
)
def test_presets_have_the_documented_weights(name, large_, mid_, small_, stable_):
    assert PRESETS[name] == Target(D(large_), D(mid_), D(small_), D(stable_))


@pytest.mark.parametrize(
    ("target", "field"),
    [
        (Target(D("-5"), D("50"), D("50"), D("5")), "large"),
        (Target(D("50"), D("-0.01"), D("45.01"), D("5")), "mid"),
        (Target(D("0"), D("0"), D("101"), D("-1")), "small"),
        (Target(D("50"), D("30"), D("15"), D("NaN")), "stable"),
        (Target(D("50"), D("30"), D("15"), D("4.99")), NON_FIELD_ERRORS),
        (Target(D("50"), D("30"), D("15"), D("5.01")), NON_FIELD_ERRORS),
        (Target(D("0"), D("0"), D("0"), D("0")), NON_FIELD_ERRORS),
    ],
    ids=["negative", "slightly-negative", "above-100", "nan", "99.99", "100.01", "0"],
)
def test_validate_target_rejects_bad_weights_naming_the_field(target, field):
    with pytest.raises(ValidationError) as error:
        validate_target(target)

    assert field in error.value.message_dict


def test_validate_target_accepts_an_exact_100_with_decimals():
    target = Target(D("33.33"), D("33.33"), D("33.34"), D("0"))

    assert validate_target(target) is target


# Drift --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("large_value", "mid_value", "large_drift", "outside"),
    [
        ("55", "30", D("5"), False),
        ("55.01", "29.99", D("5.01"), True),
        ("45", "40", D("-5"), False),
        ("44.99", "40.01", D("-5.01"), True),
        ("50", "35", D("0"), False),
    ],
    ids=["at-plus-tolerance", "just-above", "at-minus-tolerance", "just-below", "on"],
)
def test_drift_exactly_at_the_tolerance_is_inside_the_band_and_beyond_is_outside(
    large_value, mid_value, large_drift, outside
):
    mix = tier_mix(
        [
            large("a", large_value),
            mid("b", mid_value),
            small("c", "10"),
            stable("d", "5"),
        ]
    )

    rows = {row.bucket: row for row in drift(mix, BALANCED, D("5"))}

    assert rows["large"].drift == large_drift
    assert rows["large"].outside_band is outside
    assert rows["small"].drift == D("-5")
    assert rows["small"].outside_band is False


def test_drift_lists_every_bucket_with_unranked_targeted_at_zero():
    mix = tier_mix([large("a", "90"), unranked("x", "10")])

    rows = drift(mix, BALANCED, D("5"))

    assert [row.bucket for row in rows] == list(BUCKETS)
    unranked_row = rows[-1]
    assert unranked_row.value == D("10")
    assert unranked_row.weight == D("10")
    assert unranked_row.target == D("0")
    assert unranked_row.drift == D("10")
    assert unranked_row.outside_band is True


def test_a_negative_tolerance_is_rejected_naming_the_field():
    with pytest.raises(ValidationError) as error:
        drift(tier_mix([]), BALANCED, D("-1"))

    assert "tolerance" in error.value.message_dict


# Rebalancing: full --------------------------------------------------------------------

AWKWARD = [
    large("bitcoin", "12345.678901234567890123"),
    large("ethereum", "3333.333333333333333333"),
    mid("chainlink", "777.000000000000000001"),
    small("x", "0.123456789012345678"),
    stable("tether", "42"),
    unranked("nopricecoin", "9.99"),
]


def test_a_full_rebalance_without_cash_sells_exactly_what_it_buys_and_hits_the_target():
    plan = rebalance_plan(AWKWARD, BALANCED, "full")

    assert exact_sum(plan.amounts.values()) == 0
    assert plan.buys == plan.sells
    assert plan.buys > 0
    assert plan.resulting_weights == BALANCED.weights()
    assert exact_sum(t.amount for t in plan.trades) == 0


def test_a_full_rebalance_sells_unranked_holdings_in_full():
    plan = rebalance_plan(AWKWARD, BALANCED, "full")

    assert plan.amounts["unranked"] == D("-9.99")
    assert Trade("nopricecoin", D("-9.99"), "unranked") in plan.trades


def test_a_full_rebalance_of_a_simple_portfolio_moves_the_expected_dollars():
    positions = [large("bitcoin", "800"), mid("chainlink", "200")]

    plan = rebalance_plan(positions, BALANCED, "full")

    assert plan.amounts == {
        "large": D("-300"),
        "mid": D("100"),
        "small": D("150"),
        "stable": D("50"),
        "unranked": D("0"),
    }
    assert plan.sells == D("300")
    assert plan.buys == D("300")


def test_a_full_rebalance_with_cash_invests_the_cash_and_hits_the_target():
    plan = rebalance_plan(AWKWARD, PRESETS["aggressive"], "full", D("1000.01"))

    assert exact_sum(plan.amounts.values()) == D("1000.01")
    assert plan.buys - plan.sells == D("1000.01")
    assert plan.resulting_weights == PRESETS["aggressive"].weights()


def test_a_full_rebalance_of_a_simple_portfolio_with_cash():
    plan = rebalance_plan([large("bitcoin", "900")], BALANCED, "full", D("100"))

    assert plan.amounts == {
        "large": D("-400"),
        "mid": D("300"),
        "small": D("150"),
        "stable": D("50"),
        "unranked": D("0"),
    }


# Rebalancing: buy only ----------------------------------------------------------------


@pytest.mark.parametrize("cash", [D("0.01"), D("50"), D("333.33"), D("5000")])
def test_buy_only_never_sells_and_spends_exactly_the_cash(cash):
    plan = rebalance_plan(AWKWARD, BALANCED, "buy_only", cash)

    assert all(amount >= 0 for amount in plan.amounts.values())
    assert all(trade.amount >= 0 for trade in plan.trades)
    assert exact_sum(plan.amounts.values()) == cash


def test_buy_only_hits_the_target_when_the_cash_is_enough():
    positions = [large("bitcoin", "100")]

    plan = rebalance_plan(positions, BALANCED, "buy_only", D("100"))

    assert plan.amounts == {
        "large": D("0"),
        "mid": D("60"),
        "small": D("30"),
        "stable": D("10"),
        "unranked": D("0"),
    }
    assert plan.resulting_weights == BALANCED.weights()


def test_buy_only_water_fills_the_largest_shortfalls_when_the_cash_is_short():
    # After $50 the total is $150: mid is $45 short, small $22.50, stable $7.50.
    # Cutting the two largest shortfalls to one level ($8.75) spends the $50.
    plan = rebalance_plan([large("bitcoin", "100")], BALANCED, "buy_only", D("50"))

    assert plan.amounts == {
        "large": D("0"),
        "mid": D("36.25"),
        "small": D("13.75"),
        "stable": D("0"),
        "unranked": D("0"),
    }


@pytest.mark.parametrize("cash", [D("1"), D("50"), D("799.99")])
def test_buy_only_moves_closer_to_the_target_when_the_cash_is_short(cash):
    positions = [large("bitcoin", "900"), small("x", "100")]
    before = tier_mix(positions).weights

    plan = rebalance_plan(positions, BALANCED, "buy_only", cash)

    assert distance(plan.resulting_weights, BALANCED) < distance(before, BALANCED)
    assert plan.resulting_weights != BALANCED.weights()
    assert plan.amounts["large"] == 0


def test_buy_only_with_no_cash_changes_nothing():
    plan = rebalance_plan(AWKWARD, BALANCED, "buy_only")

    assert plan.amounts == dict.fromkeys(BUCKETS, D(0))
    assert plan.trades == ()


def test_buy_only_into_an_empty_portfolio_buys_the_target():
    plan = rebalance_plan([], BALANCED, "buy_only", D("1000"))

    assert plan.amounts == {
        "large": D("500"),
        "mid": D("300"),
        "small": D("150"),
        "stable": D("50"),
        "unranked": D("0"),
    }


# Rebalancing: trades ------------------------------------------------------------------


def test_trades_within_a_bucket_are_in_proportion_to_the_holdings_values():
    positions = [
        large("bitcoin", "600"),
        large("ethereum", "200"),
        mid("chainlink", "150"),
        mid("polkadot", "50"),
    ]

    plan = rebalance_plan(positions, BALANCED, "full")

    assert plan.amounts["large"] == D("-300")
    assert plan.amounts["mid"] == D("100")
    trades = {t.asset: t.amount for t in plan.trades if not t.is_candidate}
    assert trades == {
        "bitcoin": D("-225"),
        "ethereum": D("-75"),
        "chainlink": D("75"),
        "polkadot": D("25"),
    }


def test_a_bucket_to_buy_without_holdings_names_up_to_three_candidates_split_evenly():
    candidates = {
        "small": ["render", "fetch-ai", "akash", "ocean"],
        "stable": ["tether"],
    }

    plan = rebalance_plan(
        [large("bitcoin", "700"), mid("chainlink", "300")],
        BALANCED,
        "buy_only",
        D("300"),
        candidates,
    )

    small_trades = [t for t in plan.trades if t.bucket == "small"]
    assert [t.asset for t in small_trades] == ["render", "fetch-ai", "akash"]
    assert all(t.is_candidate for t in small_trades)
    assert exact_sum(t.amount for t in small_trades) == plan.amounts["small"]
    assert small_trades[0].amount == small_trades[1].amount
    stable_trades = [t for t in plan.trades if t.bucket == "stable"]
    assert stable_trades == [
        Trade("tether", plan.amounts["stable"], "stable", is_candidate=True)
    ]


def test_a_bucket_to_buy_without_holdings_or_candidates_keeps_its_amount_but_no_trade():
    plan = rebalance_plan([large("bitcoin", "100")], BALANCED, "full")

    assert plan.amounts["small"] == D("15")
    assert [t for t in plan.trades if t.bucket == "small"] == []


def test_each_bucket_s_trades_add_up_to_its_amount_exactly():
    plan = rebalance_plan(AWKWARD, PRESETS["conservative"], "full", D("10"))

    for bucket in ("large", "unranked"):
        trades = [t.amount for t in plan.trades if t.bucket == bucket]
        assert exact_sum(trades) == plan.amounts[bucket]


# Rebalancing: validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "cash", "field"),
    [
        ("sell_everything", D("0"), "mode"),
        ("full", D("-0.01"), "cash"),
        ("buy_only", D("-100"), "cash"),
    ],
)
def test_a_plan_with_a_bad_mode_or_negative_cash_is_rejected_naming_the_field(
    mode, cash, field
):
    with pytest.raises(ValidationError) as error:
        rebalance_plan(AWKWARD, BALANCED, mode, cash)

    assert field in error.value.message_dict


def test_a_plan_with_an_invalid_target_is_rejected():
    with pytest.raises(ValidationError) as error:
        rebalance_plan(AWKWARD, Target(D(50), D(50), D(50), D(0)), "full")

    assert NON_FIELD_ERRORS in error.value.message_dict


# Risk flags ---------------------------------------------------------------------------


# A $10B cap trading $200M a day (2 %): not thin, like Bitcoin's turnover.
TRADED = {"volume_24h": D("200000000"), "market_cap": D("10000000000")}


def holding(**kwargs) -> RiskInput:
    return RiskInput(
        **{"asset": "solana", "name": "Solana", "weight": D("10"), **TRADED, **kwargs}
    )


def codes(holdings: list[RiskInput]) -> list[str]:
    return [flag.code for flag in risk_flags(holdings, TODAY)]


def test_a_healthy_holding_raises_no_flag():
    assert risk_flags([holding(dilution_ratio=D("1"))], TODAY) == []


@pytest.mark.parametrize(
    ("volume", "cap", "flagged"),
    [
        (None, D("10000000000"), True),  # unknown volume
        (D("0"), D("10000000000"), True),
        (D("99999.99"), None, True),  # below $100,000
        (D("100000"), None, False),  # exactly $100,000, no cap known
        (D("19999999.99"), D("10000000000"), True),  # below 0.2 % of $10B
        (D("20000000"), D("10000000000"), False),  # exactly 0.2 %: not thin
        (D("200000000"), D("10000000000"), False),  # 2 %: "low" band, not thin
    ],
)
def test_a_thin_market_is_flagged_because_the_cap_is_unreliable(volume, cap, flagged):
    thin = holding(volume_24h=volume, market_cap=cap)

    assert codes([thin]) == (["thin_market"] if flagged else [])


@pytest.mark.parametrize(
    ("volume", "reason"),
    [
        (None, "no 24 h trading volume is reported"),
        (D("5000"), "24 h volume of $5,000 is below $100,000"),
        (D("1000000"), "24 h volume is below 0.2 % of the market cap"),
    ],
)
def test_the_thin_market_message_gives_the_reason(volume, reason):
    [flag] = risk_flags([holding(volume_24h=volume)], TODAY)

    assert flag.asset == "solana"
    assert flag.message == (
        f"Solana trades thinly ({reason}), so its market cap is unreliable."
    )


@pytest.mark.parametrize(
    ("ratio", "flagged"),
    [
        (D("2"), False),
        (D("2.01"), True),
        (D("4"), True),
        (D("1"), False),
        (None, False),
    ],
)
def test_a_dilution_ratio_above_2_is_flagged_and_exactly_2_is_not(ratio, flagged):
    assert codes([holding(dilution_ratio=ratio)]) == (
        ["high_dilution"] if flagged else []
    )


def test_the_dilution_message_gives_the_ratio():
    [flag] = risk_flags([holding(dilution_ratio=D("4"))], TODAY)

    assert flag.message == (
        "Solana's fully diluted valuation is 4 times its market cap, above the "
        "limit of 2: many tokens are still to come into circulation."
    )


@pytest.mark.parametrize(
    ("days", "flagged"),
    [(-1, False), (0, True), (1, True), (30, True), (31, False)],
)
def test_an_unlock_within_30_days_is_flagged_and_31_days_is_not(days, flagged):
    unlock = holding(
        next_unlock_date=TODAY + timedelta(days=days),
        next_unlock_amount=D("1000000"),
    )

    assert codes([unlock]) == (["unlock_soon"] if flagged else [])


def test_the_unlock_message_gives_the_amount_date_and_days():
    unlock = holding(
        next_unlock_date=date(2025, 3, 13), next_unlock_amount=D("1500000.5")
    )

    [flag] = risk_flags([unlock], TODAY)

    assert flag.message == (
        "1,500,000.5 Solana tokens unlock on 2025-03-13, in 12 days, "
        "within the 30-day window."
    )


@pytest.mark.parametrize(
    ("weight", "flagged"),
    [(D("50"), False), (D("50.01"), True), (D("62.5"), True), (D("49.99"), False)],
)
def test_a_holding_above_50_percent_is_flagged_and_exactly_50_is_not(weight, flagged):
    assert codes([holding(weight=weight)]) == (["concentration"] if flagged else [])


def test_the_concentration_message_gives_the_weight_and_the_limit():
    [flag] = risk_flags([holding(weight=D("62.5"))], TODAY)

    assert flag.code == "concentration"
    assert flag.message == "Solana is 62.5 % of the portfolio, above the 50 % limit."


def test_one_holding_can_raise_every_flag_in_a_fixed_order():
    risky = holding(
        weight=D("80"),
        volume_24h=D("0"),
        dilution_ratio=D("10"),
        next_unlock_date=TODAY,
    )

    assert codes([risky, holding(asset="bitcoin", name="Bitcoin")]) == [
        "thin_market",
        "high_dilution",
        "unlock_soon",
        "concentration",
    ]
    assert "unlock on 2025-03-01, today" in risk_flags([risky], TODAY)[2].message


def test_risk_thresholds_default_to_2_times_30_days_and_50_percent():
    # The defaults live in settings.py alone; nothing in the environment sets them.
    edge = holding(
        weight=D("50"),
        dilution_ratio=D("2"),
        next_unlock_date=TODAY + timedelta(days=31),
    )
    beyond = holding(
        weight=D("50.01"),
        dilution_ratio=D("2.01"),
        next_unlock_date=TODAY + timedelta(days=30),
    )

    assert codes([edge]) == []
    assert codes([beyond]) == ["high_dilution", "unlock_soon", "concentration"]


def test_risk_thresholds_come_from_settings_when_called(settings):
    settings.CAPSITE_RISK_DILUTION_ABOVE = D("5")
    settings.CAPSITE_RISK_UNLOCK_DAYS = 7
    settings.CAPSITE_RISK_CONCENTRATION_ABOVE = D("25")
    held = holding(
        weight=D("30"),
        dilution_ratio=D("4"),
        next_unlock_date=TODAY + timedelta(days=8),
    )

    flags = risk_flags([held], TODAY)

    assert [flag.code for flag in flags] == ["concentration"]
    assert flags[0].message == "Solana is 30 % of the portfolio, above the 25 % limit."
