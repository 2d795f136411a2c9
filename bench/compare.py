"""Benchmark compare (issue 16): the API and the page at 100 and 10,000 assets.

Run: .venv/bin/python bench/compare.py  (SQLite under /tmp), or with
DATABASE_URL=postgres://…/capsite_bench_compare for PostgreSQL (the name must
contain "bench": the database is dropped and recreated). The compared assets
are bundled ones with three years of daily snapshots each (~1,100 days), so
the history is the real size. Requests run in-process: server time. Target:
the API's median at 10,000 assets on PostgreSQL ≤ 50 ms. Exits 1 if a query
count grows with the number of assets.
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

URLS = [
    "/api/v1/assets/compare/?ids=bitcoin,ethereum",
    "/api/v1/assets/compare/?ids=bitcoin,ethereum,solana,dogecoin,tether",
    "/compare/?assets=bitcoin,ethereum,solana,dogecoin,tether",
]
TARGET_MS = 50
COLD_REQUESTS = 30


def _cold(client, url: str) -> dict[str, object]:
    """``_measure`` with the cache emptied before each request and no warm-up:
    every answer computed from the database, as after a market write."""
    from django.core.cache import cache

    return _measure(
        client, url, warmup=0, requests=COLD_REQUESTS, before_each=cache.clear
    )


def main() -> None:
    with django_bench():
        from django.db import connection
        from django.test import Client

        from valuations.models import Asset, MarketSnapshot

        print(
            f"capsite compare bench on {connection.vendor} "
            f"({connection.settings_dict['NAME']})"
        )
        _bundled_market()
        days = MarketSnapshot.objects.filter(asset__slug="bitcoin").count()
        print(f"{days:,} snapshots per compared asset")
        client = Client()
        small = [_measure(client, url) for url in URLS]
        _print_table(f"{Asset.objects.count():,} assets", small)
        _grow_to(10_000)
        _analyze()
        large = [_measure(client, url) for url in URLS]
        _print_table(f"{Asset.objects.count():,} assets", large)
        print("\ncomputed every time (cache emptied before each request)")
        for url in URLS[:2]:
            cold = _cold(client, url)
            print(
                f"  {url:<22} median {cold['median']:.1f} ms, p90 {cold['p90']:.1f} ms"
            )
        api = large[1]["median"]
        print(
            f"\nAPI, 5 assets, 10,000 in the market: median {api:.1f} ms "
            f"(target ≤ {TARGET_MS} ms on PostgreSQL)"
        )
        _exit_if_grew(_grew(small, large))


if __name__ == "__main__":
    main()
