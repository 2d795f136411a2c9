"""Alert evaluation: each kind fires once per event, and again only after it clears."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from alerts.evaluation import evaluate_all, evaluate_portfolio
from alerts.models import AlertState, Kind, Notification
from portfolios import services
from portfolios.models import Transaction
from tests.alerts.conftest import (
    BOUGHT,
    DRIFT_TITLE,
    buy,
    reprice,
    set_target,
)
from tests.factories import (
    AlertSettingsFactory,
    AssetFactory,
    PortfolioFactory,
    SupplyUnlockFactory,
    UserFactory,
)

D = Decimal

pytestmark = pytest.mark.django_db


def _titles(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user)
        .order_by("pk")
        .values_list("title", flat=True)
    )


# Drift -------------------------------------------------------------------------


def test_drift_out_of_band_fires_once_with_the_figures(drifted, user):
    fired = evaluate_portfolio(drifted.pk)

    assert [n.title for n in fired] == [DRIFT_TITLE]
    notification = Notification.objects.get()
    assert notification.user == user
    assert notification.kind == Kind.DRIFT
    assert notification.portfolio == drifted
    assert notification.url == f"/portfolios/{drifted.pk}/"
    assert notification.read_at is None
    assert notification.body.splitlines()[:3] == [
        "Large cap: 62.0 % of the portfolio ($6,200) against a target of 50 %, "
        "12.0 points over (band ±5 points).",
        "Mid cap: 18.0 % of the portfolio ($1,800) against a target of 30 %, "
        "12.0 points under (band ±5 points).",
        "Portfolio value: $10,000.",
    ]
    data = notification.data
    assert D(data["value"]) == D("10000") and D(data["tolerance"]) == 5
    buckets = {row["bucket"]: row for row in data["buckets"]}
    assert {b: (D(r["weight"]), D(r["drift"])) for b, r in buckets.items()} == {
        "large": (D(62), D(12)),
        "mid": (D(18), D(-12)),
        "small": (D(15), D(0)),
        "stable": (D(5), D(0)),
        "unranked": (D(0), D(0)),
    }
    assert [b for b, r in buckets.items() if r["outside_band"]] == ["large", "mid"]
    assert all(isinstance(r["weight"], str) for r in buckets.values())
    # By email too, to the owner, naming the portfolio and the figures.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == DRIFT_TITLE
    assert "Large cap: 62.0 % of the portfolio ($6,200)" in message.body
    assert f"/portfolios/{drifted.pk}/" in message.body
    notification.refresh_from_db()
    assert (notification.email_status, notification.webhook_status) == ("sent", "")


def test_drift_does_not_fire_again_while_it_stays_out_of_band(drifted, user):
    evaluate_portfolio(drifted.pk)
    assert evaluate_portfolio(drifted.pk) == []
    evaluate_portfolio(drifted.pk)

    assert _titles(user) == [DRIFT_TITLE]
    assert len(mail.outbox) == 1


def test_drift_fires_again_after_it_clears_and_returns(drifted, user):
    evaluate_portfolio(drifted.pk)
    # A target equal to the mix: every bucket back inside, the event clears.
    set_target(drifted, "62", "18", "15", "5")
    assert evaluate_portfolio(drifted.pk) == []
    state = AlertState.objects.get(portfolio=drifted, kind=Kind.DRIFT)
    assert state.active is False and state.cleared_at is not None

    set_target(drifted, "50", "30", "15", "5")
    evaluate_portfolio(drifted.pk)

    assert _titles(user) == [DRIFT_TITLE, DRIFT_TITLE]
    assert len(mail.outbox) == 2


def test_a_drift_exactly_on_the_tolerance_is_inside_the_band(portfolio, market):
    # 0.31 BIG + 90 MID + 37.5 ALP + 500 USDX with a target of 57/23/15/5:
    # large +5 and mid −5 points, exactly the tolerance: still inside.
    for key, quantity in [("big", "0.31"), ("mid", "90"), ("alpha", "37.5")]:
        buy(portfolio, market[key], quantity)
    buy(portfolio, market["usdx"], "500")
    set_target(portfolio, "57", "23", "15", "5")

    assert evaluate_portfolio(portfolio.pk) == []


def test_an_empty_portfolio_has_no_drift(portfolio, market):
    assert evaluate_portfolio(portfolio.pk) == []
    assert not AlertState.objects.exists()


# Tier changes ------------------------------------------------------------------


@pytest.fixture
def alpha_only(portfolio, market, user):
    """‘Main’ holds 100 ALP ($20M cap, small); only tier alerts are on."""
    AlertSettingsFactory(user=user, drift=False, unlock=False)
    buy(portfolio, market["alpha"], "100")
    return portfolio


def test_the_first_sight_of_a_holding_records_its_tier_without_an_alert(
    alpha_only, market
):
    assert evaluate_portfolio(alpha_only.pk) == []

    state = AlertState.objects.get(portfolio=alpha_only, kind=Kind.TIER_CHANGE)
    assert (state.subject, state.value) == ("alpha", "small")
    assert mail.outbox == []


def test_a_tier_change_fires_once_and_the_move_back_fires_again(
    alpha_only, market, user
):
    evaluate_portfolio(alpha_only.pk)
    # $2,000 × 500,000 = $1,000,000,000: mid, the boundary belongs to the upper tier.
    reprice(market["alpha"], "2000")

    fired = evaluate_portfolio(alpha_only.pk)
    assert evaluate_portfolio(alpha_only.pk) == []

    assert [n.title for n in fired] == [
        "Tier change in ‘Main’: Alpha (ALP) moved from small cap to mid cap"
    ]
    notification = fired[0]
    assert notification.body == (
        "Alpha (ALP), held in ‘Main’, is now mid cap: its market cap is "
        "$1,000,000,000 (price × circulating supply). It was small cap at the "
        "previous check."
    )
    assert notification.data["from_tier"] == "small"
    assert notification.data["to_tier"] == "mid"
    assert D(notification.data["market_cap"]) == D("1000000000")
    assert [m.subject for m in mail.outbox] == [notification.title]

    # $40 again: back to small is a new event.
    reprice(market["alpha"], "40")
    evaluate_portfolio(alpha_only.pk)
    evaluate_portfolio(alpha_only.pk)

    assert _titles(user) == [
        "Tier change in ‘Main’: Alpha (ALP) moved from small cap to mid cap",
        "Tier change in ‘Main’: Alpha (ALP) moved from mid cap to small cap",
    ]
    assert len(mail.outbox) == 2


def test_an_asset_losing_its_price_becomes_unranked(alpha_only, market):
    evaluate_portfolio(alpha_only.pk)
    reprice(market["alpha"], "0")

    [notification] = evaluate_portfolio(alpha_only.pk)

    assert notification.title == (
        "Tier change in ‘Main’: Alpha (ALP) moved from small cap to unranked"
    )
    assert "its market cap is unknown" in notification.body


def test_a_holding_sold_and_bought_again_is_a_first_sight(alpha_only, market):
    evaluate_portfolio(alpha_only.pk)
    services.record_transaction(
        portfolio=alpha_only,
        asset=market["alpha"],
        kind=Transaction.Kind.SELL,
        quantity=D("100"),
        unit_price=D("40"),
        executed_at=BOUGHT.replace(day=2),
    )
    evaluate_portfolio(alpha_only.pk)
    assert not AlertState.objects.filter(kind=Kind.TIER_CHANGE).exists()

    reprice(market["alpha"], "2000")
    buy(alpha_only, market["alpha"], "1")

    assert evaluate_portfolio(alpha_only.pk) == []


# Unlocks -----------------------------------------------------------------------


@pytest.fixture
def alpha_unlocks(portfolio, market, user):
    """‘Main’ holds 100 ALP; only unlock alerts are on, with a 30-day window."""
    AlertSettingsFactory(user=user, drift=False, tier_change=False, unlock_days=30)
    buy(portfolio, market["alpha"], "100")
    return portfolio


def test_an_unlock_within_the_window_fires_once_with_the_figures(
    alpha_unlocks, market, user
):
    unlock = SupplyUnlockFactory(
        asset=market["alpha"], date=date(2026, 5, 11), amount=D("100000")
    )

    [notification] = evaluate_portfolio(alpha_unlocks.pk)
    evaluate_portfolio(alpha_unlocks.pk)

    assert notification.title == (
        "Token unlock ahead in ‘Main’: 100,000 ALP of Alpha on 2026-05-11 (in 10 days)"
    )
    # 100,000 × $40 = $4,000,000; 100,000 ÷ 500,000 circulating = 20 %.
    assert notification.body == (
        "100,000 Alpha (ALP) tokens unlock on 2026-05-11, in 10 days, within your "
        "30-day window; Alpha is held in ‘Main’. They are worth $4,000,000 at "
        "today's price of $40.00 and 20 % of the circulating supply. New supply "
        "entering circulation can weigh on the price."
    )
    data = notification.data
    assert (data["unlock_id"], data["date"], data["days"]) == (
        unlock.pk,
        "2026-05-11",
        10,
    )
    assert D(data["amount"]) == D("100000")
    assert D(data["value"]) == D("4000000")
    assert D(data["circulating_share"]) == D("20")
    assert _titles(user) == [notification.title]
    assert [m.subject for m in mail.outbox] == [notification.title]


@pytest.mark.parametrize(
    ("when", "days", "fires"),
    [
        (date(2026, 4, 30), 30, False),  # yesterday: past
        (date(2026, 5, 1), 30, True),  # today
        (date(2026, 5, 31), 30, True),  # 30 days ahead: the window's last day
        (date(2026, 6, 1), 30, False),  # 31 days ahead
        (date(2026, 6, 15), 30, False),  # 45 days ahead
        (date(2026, 6, 15), 60, True),  # ... within a 60-day window
    ],
)
def test_the_unlock_window_runs_from_today_to_n_days_ahead(
    alpha_unlocks, market, user, when, days, fires
):
    user.alert_settings.unlock_days = days
    user.alert_settings.save()
    SupplyUnlockFactory(asset=market["alpha"], date=when)

    assert len(evaluate_portfolio(alpha_unlocks.pk)) == int(fires)


def test_each_unlock_is_its_own_event_and_never_fires_twice(
    alpha_unlocks, market, user
):
    SupplyUnlockFactory(asset=market["alpha"], date=date(2026, 5, 11))
    evaluate_portfolio(alpha_unlocks.pk)
    # Sold and bought back: still the same unlock, not told again.
    services.record_transaction(
        portfolio=alpha_unlocks,
        asset=market["alpha"],
        kind=Transaction.Kind.SELL,
        quantity=D("100"),
        unit_price=D("40"),
        executed_at=BOUGHT.replace(day=2),
    )
    evaluate_portfolio(alpha_unlocks.pk)
    buy(alpha_unlocks, market["alpha"], "100")
    assert evaluate_portfolio(alpha_unlocks.pk) == []

    SupplyUnlockFactory(asset=market["alpha"], date=date(2026, 5, 20))
    [second] = evaluate_portfolio(alpha_unlocks.pk)

    assert "2026-05-20 (in 19 days)" in second.title
    assert Notification.objects.count() == 2


def test_an_unlock_of_an_asset_not_held_is_ignored(alpha_unlocks, market):
    SupplyUnlockFactory(asset=market["big"], date=date(2026, 5, 11))

    assert evaluate_portfolio(alpha_unlocks.pk) == []


# Who gets what -----------------------------------------------------------------


def test_a_user_who_turned_every_kind_off_gets_nothing(drifted, market, user):
    AlertSettingsFactory(user=user, drift=False, tier_change=False, unlock=False)
    SupplyUnlockFactory(asset=market["alpha"], date=date(2026, 5, 11))
    evaluate_portfolio(drifted.pk)
    reprice(market["alpha"], "2000")

    assert evaluate_portfolio(drifted.pk) == []
    assert evaluate_all() == 0
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_each_kind_turned_off_is_left_out(drifted, market, user):
    AlertSettingsFactory(user=user, drift=False, tier_change=True, unlock=False)
    SupplyUnlockFactory(asset=market["alpha"], date=date(2026, 5, 11))
    evaluate_portfolio(drifted.pk)
    reprice(market["alpha"], "2000")

    fired = evaluate_portfolio(drifted.pk)

    assert [n.kind for n in fired] == [Kind.TIER_CHANGE]


def test_with_email_off_the_alert_is_only_on_the_site(drifted, user):
    AlertSettingsFactory(user=user, email=False)

    [notification] = evaluate_portfolio(drifted.pk)

    assert mail.outbox == []
    notification.refresh_from_db()
    assert notification.email_status == ""


def test_a_user_without_an_email_address_gets_no_email(drifted, user):
    user.email = ""
    user.save()

    [notification] = evaluate_portfolio(drifted.pk)

    assert mail.outbox == []
    notification.refresh_from_db()
    assert notification.email_status == "skipped: no email address"


def test_a_missing_portfolio_is_a_no_op(db):
    assert evaluate_portfolio(987654) == []


def test_evaluate_all_visits_portfolios_that_hold_something_of_users_with_alerts(
    drifted, market, other_user
):
    quiet = UserFactory(username="quiet")
    AlertSettingsFactory(user=quiet, drift=False, tier_change=False, unlock=False)
    buy(PortfolioFactory(owner=quiet, name="Quiet"), market["big"], "1")
    PortfolioFactory(owner=other_user, name="Empty")
    theirs = PortfolioFactory(owner=other_user, name="Theirs")
    buy(theirs, market["big"], "1")

    assert evaluate_all() == 2

    assert sorted(Notification.objects.values_list("user__username", "title")) == [
        ("alice", DRIFT_TITLE),
        (
            "mallory",
            "Drift out of band in ‘Theirs’: large 100.0 % vs target 50 % (±5); "
            "mid 0.0 % vs target 30 % (±5); small 0.0 % vs target 15 % (±5)",
        ),
    ]


def test_evaluate_all_goes_on_after_a_portfolio_fails(
    drifted, market, other_user, monkeypatch, caplog
):
    theirs = PortfolioFactory(owner=other_user, name="Theirs")
    buy(theirs, market["big"], "1")
    from alerts import evaluation

    real = evaluation.evaluate_portfolio

    def broken_for_alice(pk, **kwargs):
        if pk == drifted.pk:
            raise RuntimeError("boom")
        return real(pk, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate_portfolio", broken_for_alice)

    assert evaluate_all() == 1
    assert list(Notification.objects.values_list("user", flat=True)) == [other_user.pk]
    assert f"alerts of portfolio {drifted.pk} failed" in caplog.text


# Query budget ------------------------------------------------------------------


def _portfolio_with(n: int, owner, name: str):
    """n small-cap holdings, each asset with an unlock in 10 days."""
    portfolio = PortfolioFactory(owner=owner, name=name)
    for i in range(n):
        asset = AssetFactory(
            slug=f"{name}-{i}", price=D("40"), circulating_supply=D("500000")
        )
        SupplyUnlockFactory(asset=asset, date=date(2026, 5, 11))
        buy(portfolio, asset, "1")
    return portfolio


# A savepoint around four reads: the portfolio with its owner's settings, the
# states, the holdings, the unlocks; then the writes: the notifications, the
# new states and, after the savepoint, the email outcomes.
FIRST_QUERIES = 9
STEADY_QUERIES = 6


def test_evaluation_runs_the_same_queries_for_2_and_20_holdings(
    user, django_assert_num_queries
):
    small = _portfolio_with(2, user, "two")
    large = _portfolio_with(20, user, "twenty")
    reverse("alerts:notifications")  # the URLconf's own first load stays out

    with django_assert_num_queries(FIRST_QUERIES):
        assert len(evaluate_portfolio(small.pk)) == 1 + 2  # drift and 2 unlocks
    with django_assert_num_queries(FIRST_QUERIES):
        assert len(evaluate_portfolio(large.pk)) == 1 + 20
    with django_assert_num_queries(STEADY_QUERIES):
        assert evaluate_portfolio(small.pk) == []
    with django_assert_num_queries(STEADY_QUERIES):
        assert evaluate_portfolio(large.pk) == []
