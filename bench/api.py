"""Benchmark the REST API: the asset list at 100 and 10,000 assets, portfolio analytics.

Run: .venv/bin/python bench/api.py  (SQLite under /tmp), or with
DATABASE_URL=postgres://…/capsite_bench_api for PostgreSQL (name must contain
"bench": the database is dropped and recreated). Requests run in-process, so
times are server time. Exits 1 if a query count grows with size.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Throttling would answer 429 to a benchmark's burst of requests.
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
from portfolio_page import (  # noqa: E402
    LARGE_HOLDINGS,
    SMALL_HOLDINGS,
    TRANSACTIONS,
    _assets_for,
    _portfolio,
    _spread,
)

MARKET_URLS = ["/api/v1/assets/?page_size=100", "/api/v1/market/"]


def _portfolio_urls(pk: int) -> list[str]:
    base = f"/api/v1/portfolios/{pk}"
    return [
        f"{base}/allocation/",
        f"{base}/holdings/?page_size=250",
        f"{base}/rebalance/",
    ]


def main() -> None:
    with django_bench():
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from valuations.models import Asset

        print(
            f"capsite API bench on {connection.vendor} "
            f"({connection.settings_dict['NAME']})"
        )
        _bundled_market()
        client = Client()
        small_market = [_measure(client, url) for url in MARKET_URLS]
        _print_table(f"{Asset.objects.count():,} assets", small_market)
        _grow_to(10_000)
        _analyze()
        large_market = [_measure(client, url) for url in MARKET_URLS]
        _print_table(f"{Asset.objects.count():,} assets", large_market)

        user = get_user_model().objects.create_user("bench", password=None)
        client.force_login(user)
        assets = _assets_for(LARGE_HOLDINGS)
        small = _portfolio(
            user, "Small", _spread(assets, SMALL_HOLDINGS), SMALL_HOLDINGS * 5
        )
        large = _portfolio(user, "Large", assets, TRANSACTIONS)
        _analyze()
        small_rows = [_measure(client, url) for url in _portfolio_urls(small.pk)]
        _print_table(f"{SMALL_HOLDINGS} holdings", small_rows)
        large_rows = [_measure(client, url) for url in _portfolio_urls(large.pk)]
        _print_table(
            f"{LARGE_HOLDINGS} holdings, {TRANSACTIONS:,} transactions", large_rows
        )
        _exit_if_grew(_grew(small_market, large_market) + _grew(small_rows, large_rows))


if __name__ == "__main__":
    main()
