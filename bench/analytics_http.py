"""Volatility and category-peer reads over HTTP: gunicorn on PostgreSQL, wrk.

Run from the repository root (the database name must contain "bench": it is
dropped and created again):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/capsite_bench \\
        .venv/bin/python bench/analytics_http.py --sizes 10000 --days 120

For each size it loads the bundled market, adds generated assets (market_http),
gives every asset a daily snapshot for ``--days`` days, times the write side
(indices, asset and tier volatility, category peers), then serves the site as
market_http does and measures the new reads beside the references. The reads
take stored rows only, so their latency should not move with size or days.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import market_http
from market_http import LUA, REFERENCES, _env, _print, _run, _serve

PATHS = [
    "/api/v1/market/volatility/",
    "/volatility/",
    "/api/v1/assets/bitcoin/",
    "/assets/bitcoin/",
    "/api/v1/assets/?page_size=100",
    "/api/v1/assets/?page_size=100 (304)",
]


def _generate(count: int) -> None:
    """Generated assets as market_http's, with the columns added since (flags)
    and every tenth in one of the bundled categories."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO valuations_asset (slug, symbol, name, price,
                circulating_supply, total_supply, max_supply, volume_24h,
                last_updated, source, tier, liquidity, quality_flags)
            SELECT 'gen-' || g, 'g' || g, 'Generated coin ' || g, p, c, c * 2,
                   c * 4, round(p * c * 0.05, 2), now(), 'bench', 'unranked',
                   NULL, ''
            FROM (
                SELECT g, round(power(10, random() * 8 - 4)::numeric, 8) AS p,
                       round(power(10, random() * 6 + 4)::numeric, 2) AS c
                FROM generate_series(1, %s) AS g
            ) generated
            """,
            [count],
        )
        cursor.execute(
            """
            INSERT INTO valuations_asset_categories (asset_id, category_id)
            SELECT a.id, (SELECT id FROM valuations_category
                          ORDER BY id OFFSET (a.id %% 5) LIMIT 1)
            FROM valuations_asset a WHERE a.source = 'bench' AND a.id %% 10 = 0
            """,
            [],
        )


def _snapshots(days: int) -> None:
    """A daily snapshot per asset for ``days`` days to today, in one statement:
    a random walk of ±5 % a day around today's price (generated in SQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO valuations_marketsnapshot (asset_id, taken_at, price,
                circulating_supply, total_supply, max_supply, volume_24h)
            SELECT a.id, date_trunc('day', now()) - interval '1 day' * d
                       + interval '12 hours',
                   round((a.price * exp((random() - 0.5) * 0.1 * sqrt(d + 1)))
                         ::numeric, 10),
                   a.circulating_supply, a.total_supply, a.max_supply, a.volume_24h
            FROM valuations_asset a CROSS JOIN generate_series(1, %s) AS d
            WHERE a.price IS NOT NULL
            ON CONFLICT DO NOTHING
            """,
            [days],
        )


def _prepare(size: int, days: int, env: dict[str, str]) -> tuple[float, float]:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from market_page import _recreate_postgres_database

    from valuations.imports import load_bundled_market_data
    from valuations.indices import refresh_indices
    from valuations.peers import store_category_peers
    from valuations.state import refresh_market_state
    from valuations.volatility import refresh_volatility

    connection.close()
    _recreate_postgres_database(env["DATABASE_URL"])
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    load_bundled_market_data()
    missing = size - market_http._count()
    if missing > 0:
        _generate(missing)
    _snapshots(days)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    refresh_market_state()
    started = time.perf_counter()
    refresh_indices()
    refresh_volatility(None)
    volatility = time.perf_counter() - started
    started = time.perf_counter()
    store_category_peers()
    peers = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return volatility, peers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--conns", type=int, default=8)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name has 'bench'.")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    market_http.PATHS = PATHS
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA)
    env = _env(url)
    for size in (int(s) for s in args.sizes.split(",")):
        volatility, peers = _prepare(size, args.days, env)
        print(
            f"\nwrite side at {size:,} assets × {args.days} days: indices + "
            f"volatility {volatility:.1f} s, category peers {peers:.2f} s"
        )
        server = _serve(env)
        try:
            table = _run(args, handle.name)
        finally:
            server.terminate()
            server.wait()
        _print(size, (volatility, peers), table)
    print(f"\nreferences: {', '.join(REFERENCES)}")


if __name__ == "__main__":
    main()
