"""The rebalancing plan people act on: names, cents that add up, token quantities.

The page rounds to cents (largest remainder, so the sums hold); the API keeps
the exact plan. Figures below are worked by hand.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from html import unescape

import pytest
import time_machine
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolios import services
from portfolios.models import Portfolio, Transaction
from portfolios.rebalancing import (
    CENT,
    in_cents,
    rebalance_plan,
    round_to_cents,
    trade_quantity,
)
from portfolios.targets import PRESETS, Target
from tests.factories import AssetFactory, PortfolioFactory
from valuations.templatetags.capsite_format import quantity
from valuations.tiermix import Position

D = Decimal
NOW = datetime(2026, 4, 30, 12, tzinfo=UTC)
BOUGHT = datetime(2026, 4, 1, 9, tzinfo=UTC)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _rows(html: str, css_class: str) -> list[list[str]]:
    """The text of each body cell of the table with this class, row by row."""
    table = re.search(rf'<table class="{css_class}"[^>]*>(.*?)</table>', html, re.S)
    assert table, f"no table {css_class}"
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S).group(1)
    return [
        [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _copy_text(html: str) -> str:
    match = re.search(r'<textarea id="plan-text"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, "no trades as text"
    return unescape(match.group(1))


# Rounding to cents ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "total", "expected"),
    [
        pytest.param(
            ["333.3333333333333333333333333"] * 2 + ["333.3333333333333333333333334"],
            "1000.00",
            ["333.33", "333.33", "333.34"],
            id="thirds-the-cent-goes-to-the-largest-remainder",
        ),
        pytest.param(
            [str(D(1000) / 3)] * 3,
            "1000.00",
            ["333.34", "333.33", "333.33"],
            id="equal-remainders-the-first-gets-it",
        ),
        pytest.param(
            ["1.005", "2.005"],
            "3.01",
            ["1.00", "2.01"],
            id="a-tie-goes-to-the-larger-amount",
        ),
        pytest.param(
            ["1.006", "2.003", "3.001"],
            "6.01",
            ["1.01", "2.00", "3.00"],
            id="largest-remainder-not-largest-amount",
        ),
        pytest.param(
            ["-666.666666", "333.333333", "333.333333"],
            "0.00",
            ["-666.66", "333.33", "333.33"],
            id="a-sell-rounds-too-and-the-plan-still-nets-to-zero",
        ),
        pytest.param(["825", "175"], "1000.00", ["825.00", "175.00"], id="whole"),
    ],
)
def test_amounts_round_to_cents_and_add_up_to_the_total(amounts, total, expected):
    rounded = round_to_cents([D(a) for a in amounts], D(total))

    assert rounded == [D(e) for e in expected]
    assert sum(rounded) == D(total)


def test_a_total_more_than_a_cent_per_amount_away_is_refused():
    with pytest.raises(ValueError):
        round_to_cents([D("1.00"), D("2.00")], D("3.03"))


# $1,300 of bitcoin (large) and three mid caps worth $100 each, target 50/50: a
# buy-only plan for $1,000 fills mid to 1,300 and splits 1,000 over the three
# by value, a third each.
THREE_MIDS = [
    Position("bitcoin", D(1300), "large"),
    Position("alpha", D(100), "mid"),
    Position("beta", D(100), "mid"),
    Position("gamma", D(100), "mid"),
]
HALF_HALF = Target(D(50), D(50), D(0), D(0))


def test_a_buy_only_thousand_in_thirds_is_333_34_plus_333_33_plus_333_33():
    exact = rebalance_plan(THREE_MIDS, HALF_HALF, "buy_only", D(1000))

    plan = in_cents(exact)

    # The exact split gives the last third the leftover digit, so its remainder
    # is the largest and it takes the cent.
    assert [(t.asset, t.amount) for t in plan.trades] == [
        ("alpha", D("333.33")),
        ("beta", D("333.33")),
        ("gamma", D("333.34")),
    ]
    assert sum(t.amount for t in plan.trades) == D("1000.00")
    assert plan.amounts["mid"] == D("1000.00")
    assert plan.cash == D("1000.00")
    assert exact.trades[0].amount == D("333.3333333333333333333333333")


def test_a_full_rebalance_in_cents_sells_what_it_buys_plus_the_cash():
    # $10 of large, $20 of mid, target 50/50 with $0.01 new cash: after $30.01,
    # each goal is $15.005: sell $4.995 of mid, buy $5.005 of large.
    positions = [Position("big", D(10), "large"), Position("med", D(20), "mid")]

    plan = in_cents(rebalance_plan(positions, HALF_HALF, "full", D("0.01")))

    assert plan.amounts["large"] == D("5.01")
    assert plan.amounts["mid"] == D("-5.00")
    assert [(t.asset, t.amount) for t in plan.trades] == [
        ("big", D("5.01")),
        ("med", D("-5.00")),
    ]
    assert plan.buys - plan.sells == plan.cash == D("0.01")


@pytest.mark.parametrize(
    ("amount", "price", "expected", "shown"),
    [
        ("1000", "95000", "0.0105263", "0.0105263"),  # 0.010526315… BTC
        ("1", "60000", "0.0000166667", "0.0000166667"),  # tiny: 6 significant
        ("500", "0.00001234", "40518639", "40,518,639"),  # 40,518,638.57…: whole
        ("333.33", "1", "333.33", "333.33"),  # no trailing zeros
        ("1000", "1", "1000", "1,000"),
        ("-250", "2", "125", "125"),  # a sell: tokens are never negative
        ("333.33", "0.08", "4166.63", "4,166.63"),  # 4,166.625 rounds half up
    ],
)
def test_the_quantity_is_amount_over_price_to_six_significant_digits(
    amount, price, expected, shown
):
    tokens = trade_quantity(D(amount), D(price))

    assert tokens == D(expected)
    assert quantity(tokens) == shown


def test_there_is_no_quantity_without_a_price():
    assert trade_quantity(D(100), None) is None
    assert quantity(None) == "—"


# Property: buy-only cents always add up to the cash --------------------------------

TIERS = ["large", "mid", "small", "unranked"]
money = st.decimals(min_value=D("0.01"), max_value=D("1e9"), places=6, allow_nan=False)
positions = st.lists(
    st.builds(
        Position,
        asset=st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        value=money,
        tier=st.sampled_from(TIERS),
        is_stablecoin=st.booleans(),
    ),
    max_size=8,
)
# Every bucket has candidates, so every bucket that buys has trades.
CANDIDATES = {b: [f"{b}-1", f"{b}-2", f"{b}-3"] for b in ("large", "mid", "small")}
CANDIDATES["stable"] = ["usd-1", "usd-2", "usd-3"]


@settings(max_examples=300, deadline=None)
@given(
    positions=positions,
    cash=money,
    target=st.sampled_from(
        [*PRESETS.values(), HALF_HALF, Target(D("33.33"), D("33.33"), D("33.34"), D(0))]
    ),
)
def test_rounded_buy_only_amounts_always_add_up_to_the_cash_in_cents(
    positions, cash, target
):
    exact = rebalance_plan(positions, target, "buy_only", cash, CANDIDATES)

    plan = in_cents(exact)

    cash_in_cents = cash.quantize(CENT, rounding=ROUND_HALF_UP)  # as shown
    assert sum(plan.amounts.values()) == cash_in_cents
    assert sum(t.amount for t in plan.trades) == cash_in_cents
    assert all(t.amount > 0 for t in plan.trades)
    for bucket, amount in plan.amounts.items():
        assert abs(amount - exact.amounts[bucket]) < CENT
        mine = [t.amount for t in plan.trades if t.bucket == bucket]
        assert sum(mine) == (amount if mine else 0)


# The page -----------------------------------------------------------------------------


@pytest.fixture
def three_mids(db, user) -> Portfolio:
    """The THREE_MIDS portfolio with real assets: alpha $4, beta $0.08, gamma $1,250."""
    portfolio = PortfolioFactory(
        owner=user,
        name="Thirds",
        target_large=D(50),
        target_mid=D(50),
        target_small=D(0),
        target_stable=D(0),
    )
    for slug, symbol, price, circulating, held in [
        ("bitcoin", "btc", "50000", "20000000", "0.026"),  # $1,300, large
        ("alpha", "alp", "4", "500000000", "25"),  # $2B cap: mid
        ("beta", "bet", "0.08", "20000000000", "1250"),  # $1.6B: mid
        ("gamma", "gam", "1250", "2000000", "0.08"),  # $2.5B: mid
    ]:
        asset = AssetFactory(
            slug=slug,
            symbol=symbol,
            name=slug.title(),
            price=D(price),
            circulating_supply=D(circulating),
            max_supply=None,
            total_supply=None,
            volume_24h=D("1000000000"),
        )
        services.record_transaction(
            portfolio=portfolio,
            asset=asset,
            kind=Transaction.Kind.BUY,
            quantity=D(held),
            unit_price=D(price),
            fee=D(0),
            executed_at=BOUGHT,
        )
    return portfolio


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_trades_show_name_symbol_cents_and_tokens_at_todays_price(
    client_logged_in, three_mids, frozen
):
    response = client_logged_in.get(
        three_mids.get_absolute_url(), {"mode": "buy_only", "cash": "1000"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Splits $1,000.00 of new cash" in _text(html)
    # 333.33 ÷ 4 = 83.3325; 333.33 ÷ 0.08 = 4,166.625 → 4,166.63; 333.34 ÷ 1,250.
    assert _rows(html, "trades") == [
        ["Alpha ALP", "buy $333.33", "83.3325", "$4.00", "mid"],
        ["Beta BET", "buy $333.33", "4,166.63", "$0.08000", "mid"],
        ["Gamma GAM", "buy $333.34", "0.266672", "$1,250.00", "mid"],
    ]
    link = reverse("valuations:asset-detail", args=["gamma"])
    assert f'<a href="{link}">Gamma</a> <span class="symbol">GAM</span>' in html
    assert _rows(html, "plan")[:2] == [
        ["large", "—", "50.00 %"],
        ["mid", "buy $1,000.00", "50.00 %"],
    ]


def test_the_trades_can_be_copied_as_plain_text(client_logged_in, three_mids, frozen):
    html = client_logged_in.get(
        three_mids.get_absolute_url(), {"mode": "buy_only", "cash": "1000"}
    ).content.decode()

    assert _copy_text(html).splitlines() == [
        "Buy 83.3325 ALP (Alpha) for $333.33 at $4.00",
        "Buy 4,166.63 BET (Beta) for $333.33 at $0.08000",
        "Buy 0.266672 GAM (Gamma) for $333.34 at $1,250.00",
    ]
    assert re.search(r'<textarea id="plan-text" readonly', html)
    # Without JavaScript the button stays hidden; the text is still selectable.
    assert re.search(
        r'<button type="button"[^>]*data-copy="plan-text"[^>]*hidden>', html
    )
    assert '<script src="/static/portfolios/plan.js" defer></script>' in html


def test_the_low_priority_trade_columns_are_marked_optional(
    client_logged_in, three_mids, frozen
):
    html = client_logged_in.get(three_mids.get_absolute_url()).content.decode()

    table = re.search(r'<table class="trades"[^>]*>(.*?)</table>', html, re.S).group(1)
    headers = re.findall(r"<th( [^>]*)?>(.*?)</th>", table)
    assert [(name, "opt" in attrs) for attrs, name in headers] == [
        ("Suggested trade", False),
        ("Amount", False),
        ("Quantity", False),
        ("Price", True),
        ("Bucket", True),
    ]


def test_a_full_rebalance_on_the_page_sells_and_buys_in_cents(
    client_logged_in, three_mids, frozen
):
    # $1,600 at 50/50: sell $500 of bitcoin (0.01 BTC), buy $500 of mid in
    # thirds. Exactly, the first two are 166.66…667 and the last 166.66…666, so
    # the two missing cents go to the first two: 166.67 + 166.67 + 166.66.
    html = client_logged_in.get(three_mids.get_absolute_url()).content.decode()

    assert "Sells $500.00 and buys $500.00 to reach the target exactly." in _text(html)
    assert [row[:3] for row in _rows(html, "trades")] == [
        ["Bitcoin BTC", "sell $500.00", "0.01"],
        ["Alpha ALP", "buy $166.67", "41.6675"],
        ["Beta BET", "buy $166.67", "2,083.38"],
        ["Gamma GAM", "buy $166.66", "0.133328"],
    ]


@pytest.mark.parametrize(
    ("cash", "error"),
    [
        ("abc", "Enter a number."),
        ("-5", "Ensure this value is greater than or equal to 0."),
    ],
)
def test_bad_cash_shows_the_error_and_no_plan(
    client_logged_in, three_mids, frozen, cash, error
):
    response = client_logged_in.get(
        three_mids.get_absolute_url(), {"mode": "buy_only", "cash": cash}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert f'<div class="error" id="id_cash-error">{error}</div>' in html
    assert '<table class="plan"' not in html
    assert '<table class="trades"' not in html
    assert 'id="plan-text"' not in html
    assert "Sells" not in _text(html)


def test_a_suggested_asset_for_an_empty_bucket_shows_its_name_not_its_slug(
    client_logged_in, user, frozen
):
    bitcoin = AssetFactory(
        slug="bitcoin",
        symbol="btc",
        name="Bitcoin",
        price=D(50000),
        circulating_supply=D(20000000),
    )
    AssetFactory(
        slug="avalanche-2",
        symbol="avax",
        name="Avalanche",
        price=D(20),
        circulating_supply=D(400000000),  # $8B: mid, the largest there
    )
    portfolio = PortfolioFactory(owner=user)  # balanced 50/30/15/5
    services.record_transaction(
        portfolio=portfolio,
        asset=bitcoin,
        kind=Transaction.Kind.BUY,
        quantity=D("0.02"),
        unit_price=D(50000),
        fee=D(0),
        executed_at=BOUGHT,
    )

    html = client_logged_in.get(
        portfolio.get_absolute_url(), {"mode": "buy_only", "cash": "600"}
    ).content.decode()

    # $1,000 of bitcoin + $600 = $1,600: mid short 480, small 240, stable 80;
    # water-filled to a common 66.66… below: 413.33… + 173.33… + 13.33…, and
    # the missing cent goes to mid, which holds the leftover digit.
    assert [row[:2] for row in _rows(html, "plan")] == [
        ["large", "—"],
        ["mid", "buy $413.34"],
        ["small", "buy $173.33"],
        ["stable", "buy $13.33"],
        ["unranked", "—"],
    ]
    # 413.34 ÷ 20 = 20.667 AVAX. No small cap or stablecoin exists to suggest.
    assert _rows(html, "trades") == [
        ["Avalanche AVAX candidate", "buy $413.34", "20.667", "$20.00", "mid"],
    ]
    assert "avalanche-2" not in _text(html)


def test_the_api_keeps_the_exact_plan(api_client, three_mids, frozen):
    response = api_client.get(
        f"/api/v1/portfolios/{three_mids.pk}/rebalance/",
        {"mode": "buy_only", "cash": "1000"},
    )

    assert response.status_code == 200
    assert [t["amount"] for t in response.json()["trades"]] == [
        "333.333333333333333333",
        "333.333333333333333333",
        "333.333333333333333333",
    ]
