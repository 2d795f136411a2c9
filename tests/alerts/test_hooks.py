"""Ledger writes start the evaluation once they commit (alerts.hooks.ledger_changed)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from alerts.models import AlertState, Kind, Notification
from portfolios import services
from portfolios.models import Transaction
from tests.alerts.conftest import BOUGHT, buy, set_target

D = Decimal

pytestmark = pytest.mark.django_db

ALL_LARGE = (
    "Drift out of band in ‘Main’: large 100.0 % vs target 50 % (±5); "
    "mid 0.0 % vs target 30 % (±5); small 0.0 % vs target 15 % (±5)"
)


def _buy(portfolio, asset, quantity="1"):
    return buy(portfolio, asset, quantity)


def test_recording_a_transaction_fires_drift_once_it_commits(
    portfolio, market, django_capture_on_commit_callbacks
):
    # 1 BIG: large 100 %; stable 0 % is exactly 5 points under, still inside.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _buy(portfolio, market["big"])

    assert len(callbacks) == 1
    assert list(Notification.objects.values_list("title", flat=True)) == [ALL_LARGE]
    assert [m.subject for m in mail.outbox] == [ALL_LARGE]


def test_nothing_runs_before_the_write_commits(portfolio, market):
    _buy(portfolio, market["big"])

    assert not Notification.objects.exists()


def test_every_ledger_write_evaluates_the_portfolio(
    portfolio, market, django_capture_on_commit_callbacks
):
    def state() -> bool:
        return AlertState.objects.get(portfolio=portfolio, kind=Kind.DRIFT).active

    with django_capture_on_commit_callbacks(execute=True):
        tx = _buy(portfolio, market["big"])
    assert state() is True

    # Deleting the only entry empties the portfolio: nothing left to drift.
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_transaction(tx=tx)
    assert state() is False

    # An import of two rows: out of band again, a second event.
    with django_capture_on_commit_callbacks(execute=True):
        services.record_transactions(
            portfolio=portfolio,
            rows=[
                {
                    "asset": market["big"],
                    "kind": Transaction.Kind.BUY,
                    "quantity": D("1"),
                    "unit_price": D("20000"),
                    "executed_at": BOUGHT,
                },
                {
                    "asset": market["mid"],
                    "kind": Transaction.Kind.BUY,
                    "quantity": D("1"),
                    "unit_price": D("20"),
                    "executed_at": BOUGHT,
                },
            ],
        )
    assert state() is True
    assert Notification.objects.count() == 2

    # A target of everything in large caps: 20,000 ÷ 20,020 = 99.9 %, inside.
    with django_capture_on_commit_callbacks(execute=True):
        set_target(portfolio, "100", "0", "0", "0")
    assert state() is False

    # Editing an entry: 1 MID becomes 2,000 MID ($40,000), back out of band.
    mid = Transaction.objects.get(portfolio=portfolio, asset=market["mid"])
    with django_capture_on_commit_callbacks(execute=True):
        services.update_transaction(tx=mid, quantity=D("2000"))
    assert state() is True
    assert Notification.objects.count() == 3


def test_renaming_a_portfolio_does_not_evaluate_it(
    portfolio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.update_portfolio(portfolio=portfolio, name="Renamed")

    assert callbacks == []


def test_a_refused_write_starts_nothing(
    portfolio, market, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError):
            services.record_transaction(
                portfolio=portfolio,
                asset=market["big"],
                kind=Transaction.Kind.SELL,
                quantity=D("1"),
                unit_price=D("20000"),
                executed_at=BOUGHT,
            )

    assert callbacks == []


def test_a_market_change_evaluates_every_portfolio_once_it_commits(
    drifted, django_capture_on_commit_callbacks
):
    from alerts import hooks

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        hooks.market_changed()

    assert len(callbacks) == 1
    assert Notification.objects.filter(portfolio=drifted).count() == 1


def test_a_market_import_that_moves_a_holding_to_another_tier_alerts_once_committed(
    drifted, market, django_capture_on_commit_callbacks
):
    import json

    from alerts import evaluation
    from tests.valuations.markets import _coingecko
    from valuations.imports import import_markets

    evaluation.evaluate_portfolio(drifted.pk)  # first sight: tiers remembered
    before = Notification.objects.filter(kind=Kind.TIER_CHANGE).count()
    # Midcoin at $10 × 50,000,000 = $500M: from mid (≥ $1B) down to small.
    row = _coingecko(
        "midcoin",
        symbol="mid",
        name="Midcoin",
        current_price="10",
        circulating_supply="50000000",
        last_updated="2026-05-01T11:00:00.000Z",
    )

    with django_capture_on_commit_callbacks(execute=True):
        report = import_markets(
            json.dumps([row]), fmt="coingecko", source="t.json", triggered_by="test"
        )

    assert report.applied
    tier = Notification.objects.filter(kind=Kind.TIER_CHANGE)
    assert tier.count() == before + 1
    assert "Midcoin" in tier.latest("created").title
