"""Benchmark GET /api/v1/market/history/ at 100 and 10,000 assets, and its refresh.

Run: .venv/bin/python bench/market_history.py  (SQLite under /tmp), or with
DATABASE_URL=postgres://…/capsite_bench_history for PostgreSQL (the name must
contain "bench": the database is dropped and recreated). Loads the bundled
market (100 assets, ~17,000 daily snapshots), stores the history
(valuations.history), and times the endpoint; then grows to 10,000 assets with
a week of snapshots each, refreshes again and times it again. Exits 1 if the
endpoint's query count grows with the assets.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("CAPSITE_API_ANON_RATE", "100000/min")
os.environ.setdefault("CAPSITE_API_USER_RATE", "100000/min")

from market_page import (  # noqa: E402 - the bench folder is not a package
    _analyze,
    _bundled_market,
    _exit_if_grew,
    _grew,
    _grow_to,
    _measure,
    _print_table,
    django_bench,
)

URLS = [
    "/api/v1/market/history/",
    "/api/v1/market/history/?start=2026-01-01&end=2026-03-31",
]
SNAPSHOT_DAYS = 7


def _week_of_snapshots() -> int:
    """A snapshot a day for SNAPSHOT_DAYS days for every generated asset."""
    from valuations.models import Asset, MarketSnapshot

    last = MarketSnapshot.objects.latest().taken_at
    rows = [
        MarketSnapshot(
            asset_id=pk,
            taken_at=last - timedelta(days=day),
            price=price,
            circulating_supply=supply,
        )
        for pk, price, supply in Asset.objects.filter(source="bench").values_list(
            "pk", "price", "circulating_supply"
        )
        for day in range(SNAPSHOT_DAYS)
    ]
    MarketSnapshot.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _timed_refresh(label: str, since=None) -> None:
    from valuations.history import refresh_market_history

    start = time.perf_counter()
    days = refresh_market_history(since=since)
    print(f"  refresh {label}: {days} days in {(time.perf_counter() - start):.2f} s")


def main() -> None:
    with django_bench():
        from django.db import connection
        from django.test import Client

        from valuations.models import MarketSnapshot
        from valuations.state import refresh_market_state

        print(
            f"market history bench on {connection.vendor} "
            f"({connection.settings_dict['NAME']})"
        )
        _bundled_market()
        _timed_refresh("of the bundled history")
        _analyze()
        client = Client()
        small = [_measure(client, url) for url in URLS]
        _print_table("100 assets", small)

        added = _grow_to(10_000)
        snapshots = _week_of_snapshots()
        refresh_market_state()
        print(f"\n  added {added} assets and {snapshots} snapshots")
        _timed_refresh("of every day")
        last = MarketSnapshot.objects.latest().taken_at.astimezone(UTC).date()
        _timed_refresh("of the last day (a daily import)", since=last)
        _analyze()
        large = [_measure(client, url) for url in URLS]
        _print_table("10,000 assets", large)
        _exit_if_grew(_grew(small, large))


if __name__ == "__main__":
    main()
