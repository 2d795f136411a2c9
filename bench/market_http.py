"""Market reads over HTTP: gunicorn on PostgreSQL, wrk, ratios to references.

Run from the repository root (the database name must contain "bench": it is
dropped and created again for every size):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/capsite_bench \\
        .venv/bin/python bench/market_http.py --sizes 100,10000
    … --sizes 100,1000000          # the million-asset run (about 10 minutes)

For each size it loads the bundled market, adds generated assets in SQL, runs
the same market-state refresh an import runs (timed), serves the site with
gunicorn (2 sync workers, DEBUG off, bench_settings adds the references) and
runs wrk against every path in interleaved rounds. It prints rps, p50, p95 and
p99 (medians over rounds) and each path's ratio to the references in the same
run, then each path's median latency at every size against the smallest.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from market_page import (  # noqa: E402 - the bench folder is not a package
    _analyze,
    _recreate_postgres_database,
)

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"

REFERENCES = ["/bench/bare/", "/bench/values/"]
PATHS = [
    "/api/v1/assets/?page_size=100",
    "/api/v1/market/",
    "/api/v1/assets/?page_size=100 (304)",
    "/api/v1/assets/?tier=small&ordering=-volume_24h&page_size=100",
    "/api/v1/assets/?search=coin%2042&page_size=100",
    "/",
]
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("PCT %d %d %d\\n", latency:percentile(50),
    latency:percentile(95), latency:percentile(99)))
end
"""


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="false",
        # Plain HTTP on loopback, as an app server behind a TLS proxy sees it:
        # with DEBUG off every request would otherwise be redirected to https.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(48),
        DJANGO_SETTINGS_MODULE="bench_settings",
        PYTHONPATH=f"{BENCH}:{ROOT}",
        LOG_LEVEL="WARNING",
        # Throttling would answer 429 to a benchmark's burst of requests.
        CAPSITE_API_ANON_RATE="100000000/min",
        CAPSITE_API_USER_RATE="100000000/min",
    )
    return env


def _arguments(doc: str, sizes: str) -> argparse.ArgumentParser:
    """The options every wrk bench takes; the caller may add its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--sizes", default=sizes)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--conns", type=int, default=8)
    return parser


def _checked_database_url() -> str:
    """DATABASE_URL, when it names a PostgreSQL bench database and wrk is here."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name has 'bench'.")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    return url


def _lua_script() -> str:
    """A file holding LUA, for wrk's -s."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA)
    return handle.name


def _fresh_market(
    size: int, env: dict[str, str], generate: Callable[[int], None]
) -> None:
    """Set Django up on a dropped and recreated database, migrated, with static
    files collected, the bundled market loaded and ``generate(missing)`` called
    for the assets missing up to ``size``. The caller runs ANALYZE."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from valuations.imports import load_bundled_market_data

    connection.close()
    _recreate_postgres_database(env["DATABASE_URL"])
    call_command("migrate", verbosity=0)
    # DEBUG off serves hashed static files from the manifest, as in production.
    call_command("collectstatic", interactive=False, verbosity=0)
    load_bundled_market_data()
    missing = size - _count()
    if missing > 0:
        generate(missing)


def _prepare(size: int, env: dict[str, str]) -> tuple[float, float]:
    """Fresh database with ``size`` assets; return the seconds of a full
    recompute and of the refresh after an import that moves 1 % of the caps."""
    _fresh_market(size, env, _bulk_load)
    from django.db import connection

    from valuations.state import refresh_market_state

    _analyze()
    started = time.perf_counter()
    refresh_market_state()
    full = time.perf_counter() - started
    moved = _move_caps(size // 100)
    started = time.perf_counter()
    refresh_market_state(asset_ids=moved)
    incremental = time.perf_counter() - started
    _analyze()
    connection.close()
    return full, incremental


def _bulk_load(count: int) -> None:
    """Load generated assets as a bulk load does: secondary indexes off, rows in,
    stored tiers and bands written, indexes rebuilt."""
    from django.db import connection

    from valuations.models import Asset
    from valuations.state import _store_figures

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
            "'valuations_asset' AND indexname NOT LIKE '%%pkey' "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%%'"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    _generate(count)
    _store_figures(Asset.objects.all())
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)


def _move_caps(count: int) -> list[int]:
    """Change the price of ``count`` assets, as an import of that many rows does."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE valuations_asset SET price = price * 1.5 WHERE id IN "
            "(SELECT id FROM valuations_asset WHERE source = 'bench' "
            "ORDER BY id LIMIT %s) RETURNING id",
            [count],
        )
        return [row[0] for row in cursor.fetchall()]


def _count() -> int:
    from valuations.models import Asset

    return Asset.objects.count()


def _generate(count: int) -> None:
    """Insert ``count`` assets in one SQL statement: caps from $1 to $100T."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO valuations_asset (slug, symbol, name, price,
                circulating_supply, total_supply, max_supply, volume_24h,
                last_updated, source, tier, liquidity, quality_flags)
            SELECT 'gen-' || g, 'g' || g, 'Generated coin ' || g, p, c, c * 2,
                   CASE WHEN g %% 3 = 0 THEN NULL ELSE c * 4 END,
                   CASE WHEN g %% 50 = 0 THEN NULL
                        ELSE round(p * c * power(10, random() * 3 - 3)::numeric, 2) END,
                   now() - interval '1 minute' * (g %% 600), 'bench', 'unranked',
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
                          ORDER BY id OFFSET (a.id % 5) LIMIT 1)
            FROM valuations_asset a WHERE a.source = 'bench' AND a.id % 10 = 0
            """
        )


def _serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "capsite.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{BASE}/bench/bare/", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    sys.exit("gunicorn did not start")


def _etag(path: str) -> str:
    with urllib.request.urlopen(BASE + path, timeout=30) as response:
        return response.headers["ETag"]


def _wrk(path: str, seconds: int, conns: int, script: str) -> tuple[float, ...]:
    headers: list[str] = []
    if path.endswith(" (304)"):
        path = path.removesuffix(" (304)")
        headers = ["-H", f"If-None-Match: {_etag(path)}"]
    command = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-s", script, *headers]
    out = subprocess.run(
        [*command, BASE + path], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p95, p99 = (
        int(v) / 1000 for v in re.search(r"PCT (\d+) (\d+) (\d+)", out).groups()
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p95, p99, float(errors.group(1) if errors else 0)


def _run(
    args: argparse.Namespace, script: str, paths: list[str] = PATHS
) -> dict[str, dict[str, float]]:
    """Medians over ``args.rounds`` interleaved rounds of the references and
    ``paths``, keyed by path."""
    results: dict[str, list[tuple[float, ...]]] = {p: [] for p in REFERENCES + paths}
    for _ in range(args.rounds):
        for path in results:
            results[path].append(_wrk(path, args.duration, args.conns, script))
    return {
        path: {
            key: statistics.median(r[i] for r in runs)
            for i, key in enumerate(("rps", "p50", "p95", "p99", "errors"))
        }
        for path, runs in results.items()
    }


def _serve_and_run(
    env: dict[str, str], args: argparse.Namespace, script: str, paths: list[str]
) -> dict[str, dict[str, float]]:
    """Serve the site with gunicorn for one ``_run`` of ``paths``."""
    server = _serve(env)
    try:
        return _run(args, script, paths)
    finally:
        server.terminate()
        server.wait()


def _print_table(table: dict[str, dict[str, float]]) -> None:
    """A ``_run`` table: each path's figures and its rps ÷ the references'."""
    bare, values = (table[p]["rps"] for p in REFERENCES)
    print(
        f"{'path':64} {'rps':>7} {'p50':>7} {'p95':>7} {'p99':>7}"
        f" {'÷bare':>6} {'÷values':>7} {'non2xx':>6}"
    )
    for path, row in table.items():
        print(
            f"{path[:64]:64} {row['rps']:7.0f} {row['p50']:7.2f} {row['p95']:7.2f}"
            f" {row['p99']:7.2f} {row['rps'] / bare:6.2f} {row['rps'] / values:7.2f}"
            f" {row['errors']:6.0f}"
        )


def main() -> None:
    args = _arguments(__doc__, "100,10000").parse_args()
    env = _env(_checked_database_url())
    script = _lua_script()
    tables: dict[int, dict[str, dict[str, float]]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        full, incremental = _prepare(size, env)
        tables[size] = _serve_and_run(env, args, script, PATHS)
        print(
            f"\n{size:,} assets; full market-state recompute {full:.2f} s; "
            f"refresh after moving {size // 100:,} caps {incremental:.2f} s"
        )
        _print_table(tables[size])
    smallest = min(tables)
    print(f"\nmedian p50 at each size ÷ at {smallest:,} assets")
    for path in PATHS:
        ratios = [
            f"{size:,}: {tables[size][path]['p50'] / tables[smallest][path]['p50']:.2f}"
            for size in sorted(tables)
            if size != smallest
        ]
        print(f"{path[:64]:64} {'  '.join(ratios)}")


if __name__ == "__main__":
    main()
