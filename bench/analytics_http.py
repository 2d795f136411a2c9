"""Volatility and category-peer reads over HTTP: gunicorn on PostgreSQL, wrk.

Run from the repository root (the database name must contain "bench": it is
dropped and created again):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/capsite_bench \\
        .venv/bin/python bench/analytics_http.py --sizes 10000 --days 120

For each size it loads the bundled market, adds generated assets (market_http's
generator), gives every asset a daily snapshot for ``--days`` days, times the
write side (indices, asset and tier volatility, category peers), then serves the
site as market_http does and measures the new reads beside the references. The
reads take stored rows only, so their latency should not move with size or days.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from market_http import (  # noqa: E402 - the bench folder is not a package
    REFERENCES,
    _analyze,
    _arguments,
    _checked_database_url,
    _env,
    _fresh_market,
    _generate,
    _lua_script,
    _print_table,
    _serve_and_run,
)

PATHS = [
    "/api/v1/market/volatility/",
    "/volatility/",
    "/api/v1/market/history/",
    "/api/v1/market/history/?start=2026-01-01&end=2026-03-31",
    "/",
    "/api/v1/assets/compare/?ids=bitcoin,ethereum,solana,dogecoin,tether",
    "/compare/?assets=bitcoin,ethereum,solana,dogecoin,tether",
    "/api/v1/assets/bitcoin/",
    "/assets/bitcoin/",
    "/api/v1/assets/?page_size=100",
    "/api/v1/assets/?page_size=100 (304)",
]


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


def _prepare(size: int, days: int, env: dict[str, str]) -> tuple[float, float, float]:
    """Fresh database with ``size`` assets and ``days`` of snapshots; return the
    seconds of indices + volatility, of category peers and of market history."""
    _fresh_market(size, env, _generate)
    from django.db import connection

    from valuations.history import refresh_market_history
    from valuations.indices import refresh_indices
    from valuations.peers import store_category_peers
    from valuations.state import refresh_market_state
    from valuations.volatility import refresh_volatility

    _snapshots(days)
    _analyze()
    refresh_market_state()
    started = time.perf_counter()
    refresh_indices()
    refresh_volatility(None)
    volatility = time.perf_counter() - started
    started = time.perf_counter()
    store_category_peers()
    peers = time.perf_counter() - started
    started = time.perf_counter()
    refresh_market_history()  # every day, with what each covers of today
    history = time.perf_counter() - started
    _analyze()
    connection.close()
    return volatility, peers, history


def main() -> None:
    parser = _arguments(__doc__, "10000")
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    env = _env(_checked_database_url())
    script = _lua_script()
    for size in (int(s) for s in args.sizes.split(",")):
        volatility, peers, history = _prepare(size, args.days, env)
        print(
            f"\nwrite side at {size:,} assets × {args.days} days: indices + "
            f"volatility {volatility:.1f} s, category peers {peers:.2f} s, "
            f"market history {history:.1f} s"
        )
        table = _serve_and_run(env, args, script, PATHS)
        print(f"\nreads at {size:,} assets × {args.days} days")
        _print_table(table)
    print(f"\nreferences: {', '.join(REFERENCES)}")


if __name__ == "__main__":
    main()
