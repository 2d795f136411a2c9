"""The performance rules (portfolios.performance), with hand-computed figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portfolios import performance as perf

D = Decimal


class TestExternalFlow:
    def test_buy_brings_in_cost_and_fee(self):
        # 2 × $100 + $1 fee
        assert perf.external_flow("buy", D(2), D(100), D(1), None) == D(201)

    def test_sell_takes_out_proceeds_less_fee(self):
        # −(2 × $120 − $1)
        assert perf.external_flow("sell", D(2), D(120), D(1), D(999)) == D(-239)

    def test_transfers_move_the_market_value_not_the_typed_price(self):
        assert perf.external_flow("transfer_in", D(3), D(1), D(5), D(10)) == D(30)
        assert perf.external_flow("transfer_out", D(3), D(1), D(5), D(10)) == D(-30)

    def test_transfer_without_a_market_price_uses_its_own(self):
        assert perf.external_flow("transfer_in", D(3), D(7), D(0), None) == D(21)


class TestDailyReturn:
    def test_a_deposit_is_not_a_return(self):
        # Worth 100, 50 added, closes at 150: nothing earned.
        assert perf.daily_return(D(150), D(50), D(100)) == 0

    def test_growth_net_of_the_flow(self):
        # (198 − 99) ÷ 110 − 1 = −10 %
        assert perf.daily_return(D(198), D(99), D(110)) == D("-0.1")

    def test_a_day_starting_at_zero_contributes_nothing(self):
        assert perf.daily_return(D(100), D(100), D(0)) is None
        assert perf.chain(D("1.5"), D(100), D(100), D(0)) == D("1.5")

    def test_chain_links_and_rounds_as_stored(self):
        assert perf.chain(D(1), D(110), D(0), D(100)) == D("1.1")
        assert perf.chain(D(1), D(1), D(0), D(3)) == D("0.333333333333333333")


class TestTimeWeightedReturn:
    def test_percent_between_two_days_of_the_chain(self):
        # 1.1 × 0.9 = 0.99 → −1 %
        assert perf.time_weighted_return(D(1), D("0.99")) == D("-1.00000000")
        assert perf.time_weighted_return(D("1.1"), D("1.21")) == D("10.00000000")

    def test_nothing_chains_after_a_total_loss(self):
        assert perf.time_weighted_return(D(0), D(0)) is None


class TestMoneyWeightedReturn:
    def test_one_deposit_growing_ten_percent_in_a_year(self):
        flows = [(date(2025, 1, 1), D(100))]
        rate = perf.money_weighted_return(flows, end=date(2026, 1, 1), value_end=D(110))
        assert rate == D("10.00000000")

    def test_known_xirr_of_two_deposits(self):
        # 100 (1 + r)^(2/365) + 99 = 198  ⇒  r = 0.99^182.5 − 1 ≈ −84.0247 %
        flows = [(date(2026, 1, 1), D(100)), (date(2026, 1, 3), D(99))]
        rate = perf.money_weighted_return(flows, end=date(2026, 1, 3), value_end=D(198))
        assert rate is not None
        assert float(rate) == pytest.approx((0.99**182.5 - 1) * 100, abs=1e-5)

    def test_no_solution_is_null(self):
        # Money in and nothing back: no rate makes it add up.
        flows = [(date(2026, 1, 1), D(100))]
        assert (
            perf.money_weighted_return(flows, end=date(2026, 2, 1), value_end=D(0))
            is None
        )
        assert (
            perf.money_weighted_return([], end=date(2026, 2, 1), value_end=D(5)) is None
        )


def test_profit_is_value_less_net_invested():
    assert perf.profit(D(120), D(80)) == D(40)
