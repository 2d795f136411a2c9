"""Concurrent ledger writes on PostgreSQL: the portfolio row lock serialises them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from portfolios import services
from portfolios.models import Holding, Portfolio, Transaction
from tests.factories import AssetFactory
from valuations.models import Asset

D = Decimal

# SQLite serialises writers with a database lock; rows are not locked.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT = 10


@pytest.fixture
def holding(portfolio) -> tuple[Portfolio, Asset]:
    """2 CN held, committed so other connections see them."""
    coin = AssetFactory(slug="coin", symbol="cn")
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind=Transaction.Kind.BUY,
        quantity=D("2"),
        unit_price=D("10"),
        executed_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    return portfolio, coin


def _lock_waiters() -> int:
    """Backends of this database blocked on a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _race(write: Callable[[], object]) -> tuple[list[object], int]:
    """Run ``write`` in two threads started together, each on its own connection.

    The first to take the portfolio lock keeps its transaction open until the other
    is seen waiting for that lock, so the two writes really overlap. Returns each
    thread's outcome ("ok" or the ValidationError's message_dict) and the most
    lock waiters seen.
    """
    barrier = threading.Barrier(2)
    release = threading.Event()
    outcomes: list[object] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            with transaction.atomic():
                write()
                release.wait(timeout=TIMEOUT)
            outcomes.append("ok")
        except ValidationError as exc:
            outcomes.append(exc.message_dict)
        except Exception as exc:  # anything else fails the outcome assertions
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    waiters, deadline = 0, time.monotonic() + TIMEOUT
    while waiters == 0 and time.monotonic() < deadline:
        waiters = _lock_waiters()
        time.sleep(0.02)
    release.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    return outcomes, waiters


def test_two_simultaneous_sells_of_the_whole_holding_let_exactly_one_through(
    holding,
):
    portfolio, coin = holding

    def sell_all() -> None:
        services.record_transaction(
            portfolio=Portfolio.objects.get(pk=portfolio.pk),
            asset=Asset.objects.get(pk=coin.pk),
            kind=Transaction.Kind.SELL,
            quantity=D("2"),
            unit_price=D("12"),
            executed_at=datetime(2026, 4, 2, tzinfo=UTC),
        )

    outcomes, waiters = _race(sell_all)

    assert waiters == 1
    assert sorted(outcomes, key=str) == [
        "ok",
        {"quantity": ["Only 0 CN held on 2026-04-02 00:00."]},
    ]
    held = Holding.objects.get(portfolio=portfolio, asset=coin)
    assert (held.quantity, held.cost_basis, held.realized_pnl) == (
        D("0"),
        D("0"),
        D("4"),
    )
    assert Transaction.objects.filter(kind=Transaction.Kind.SELL).count() == 1


def test_two_simultaneous_buys_both_count_in_the_holding(holding):
    portfolio, coin = holding

    def buy_one() -> None:
        services.record_transaction(
            portfolio=Portfolio.objects.get(pk=portfolio.pk),
            asset=Asset.objects.get(pk=coin.pk),
            kind=Transaction.Kind.BUY,
            quantity=D("1"),
            unit_price=D("13"),
            executed_at=datetime(2026, 4, 2, tzinfo=UTC),
        )

    outcomes, waiters = _race(buy_one)

    assert waiters == 1
    assert outcomes == ["ok", "ok"]
    held = Holding.objects.get(portfolio=portfolio, asset=coin)
    # Neither rebuild overwrote the other: 2 + 1 + 1, cost 20 + 13 + 13.
    assert (held.quantity, held.cost_basis) == (D("4"), D("46"))
