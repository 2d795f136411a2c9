"""Time market-data imports of 10,000 generated rows, and count their queries.

Run from the repository root:

    .venv/bin/python bench/imports.py                      # throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/capsite_bench_imports \\
        .venv/bin/python bench/imports.py                  # PostgreSQL

The database rules are bench/market_page.py's: without DATABASE_URL a SQLite
file under /tmp, deleted at the end; on PostgreSQL only a database whose name
contains "bench", dropped and created again.

For each format (CoinGecko coins/markets JSON and the capsite CSV) it generates
1,000 assets × 10 days, then, BENCH_RUNS times (default 3), empties the tables
and imports the file twice through ``valuations.imports.import_markets``: the
first import creates every asset and snapshot, the second finds every row
unchanged. Timed runs do not capture queries; one more pair of imports counts
them with CaptureQueriesContext.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from market_page import _configure  # noqa: E402  (same database rules)

ASSETS = 1_000
DAYS = 10
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SEED = 20260430
START = datetime(2026, 4, 21, 0, 5, tzinfo=UTC)


def _generated_rows() -> list[dict[str, object]]:
    """ASSETS × DAYS rows with a seeded, realistic spread of prices and supplies.

    Prices run from $0.000001 to $1,000; a third of the assets have no max
    supply, a few have no total supply; each day moves the price by up to 5 %.
    """
    rng = random.Random(SEED)
    assets = []
    for n in range(1, ASSETS + 1):
        circulating = Decimal(f"{10 ** rng.uniform(5, 12):.0f}")
        maximum = (
            None
            if rng.random() < 0.33
            else (circulating * Decimal(f"{rng.uniform(1, 4):.4f}")).quantize(1)
        )
        total = None if rng.random() < 0.05 else (maximum or circulating)
        assets.append(
            {
                "id": f"bench-coin-{n:04d}",
                "symbol": f"bc{n}",
                "name": f"Bench Coin {n}",
                "price": Decimal(f"{10 ** rng.uniform(-6, 3):.8g}"),
                "circulating": circulating,
                "total": total,
                "max": maximum,
            }
        )
    rows = []
    for day in range(DAYS):
        taken_at = START + timedelta(days=day, seconds=rng.randint(0, 600))
        for asset in assets:
            price = asset["price"] * Decimal(f"{rng.uniform(0.95, 1.05):.6f}")
            rows.append(
                {
                    "id": asset["id"],
                    "symbol": asset["symbol"],
                    "name": asset["name"],
                    "price": f"{price:.8g}",
                    "circulating_supply": str(asset["circulating"]),
                    "total_supply": str(asset["total"] or ""),
                    "max_supply": str(asset["max"] or ""),
                    "volume_24h": f"{price * asset['circulating'] / 50:.2f}",
                    "last_updated": taken_at.isoformat().replace("+00:00", "Z"),
                }
            )
    return rows


def _coingecko_json(rows: list[dict[str, object]]) -> str:
    """The rows as a CoinGecko coins/markets response (numbers, not strings)."""

    def number(text: object) -> object:
        return float(text) if text else None

    return json.dumps(
        [
            {
                "id": row["id"],
                "symbol": row["symbol"],
                "name": row["name"],
                "image": f"https://example.com/{row['id']}.png",
                "current_price": number(row["price"]),
                "market_cap": None,
                "circulating_supply": number(row["circulating_supply"]),
                "total_supply": number(row["total_supply"]),
                "max_supply": number(row["max_supply"]),
                "total_volume": number(row["volume_24h"]),
                "price_change_percentage_24h": 0.0,
                "last_updated": row["last_updated"],
            }
            for row in rows
        ]
    )


def _capsite_csv(rows: list[dict[str, object]]) -> str:
    from valuations.imports import CSV_HEADER

    columns = CSV_HEADER.split(",")
    lines = [CSV_HEADER]
    lines += [",".join(str(row[c]) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def _empty_tables() -> None:
    from valuations.models import Asset, ImportRun

    Asset.objects.all().delete()  # snapshots and provider ids cascade
    ImportRun.objects.all().delete()


def _import(text: str, *, counted: bool = False):
    """Import once; return (seconds, report, queries or None)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from valuations.imports import import_markets

    start = time.perf_counter()
    if counted:
        with CaptureQueriesContext(connection) as captured:
            report = import_markets(text, source="bench", triggered_by="bench")
        queries = len(captured)
    else:
        report = import_markets(text, source="bench", triggered_by="bench")
        queries = None
    return time.perf_counter() - start, report, queries


def _check(report, *, first: bool, rows: int) -> None:
    expected = (rows, 0, 0) if first else (0, 0, rows)
    got = (report.created, report.updated, report.unchanged)
    if not report.applied or report.errors or got != expected:
        sys.exit(f"Unexpected import result {got} (wanted {expected}): {report}")


def _bench_format(label: str, text: str, rows: int) -> list[dict[str, object]]:
    from valuations.imports.formats import detect_format, parse

    start = time.perf_counter()
    parse(text, detect_format(text))
    parse_seconds = time.perf_counter() - start

    timings: dict[str, list[float]] = {"first": [], "again": []}
    for _ in range(RUNS):
        _empty_tables()
        for kind in ("first", "again"):
            seconds, report, _ = _import(text)
            _check(report, first=kind == "first", rows=rows)
            timings[kind].append(seconds)
    _empty_tables()
    counts = {}
    for kind in ("first", "again"):
        _, report, queries = _import(text, counted=True)
        _check(report, first=kind == "first", rows=rows)
        counts[kind] = queries
    return [
        {
            "file": label,
            "import": "first (empty db)" if kind == "first" else "again (same file)",
            "median": statistics.median(timings[kind]),
            "best": min(timings[kind]),
            "queries": counts[kind],
            "parse": parse_seconds,
        }
        for kind in ("first", "again")
    ]


def main() -> None:
    sqlite_file = _configure()
    warnings.filterwarnings("ignore", message="No directory at")

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from valuations.models import Asset, MarketSnapshot

    rows = _generated_rows()
    files = [
        ("CoinGecko JSON", _coingecko_json(rows)),
        ("capsite CSV", _capsite_csv(rows)),
    ]
    print(
        f"capsite import bench on {connection.vendor} "
        f"({connection.settings_dict['NAME']}), Django {django.get_version()}: "
        f"{len(rows):,} rows ({ASSETS:,} assets × {DAYS} days), "
        f"{RUNS} runs per import"
    )
    try:
        call_command("migrate", verbosity=0, interactive=False)
        results = []
        for label, text in files:
            results += _bench_format(label, text, len(rows))
            if (Asset.objects.count(), MarketSnapshot.objects.count()) != (
                ASSETS,
                len(rows),
            ):
                sys.exit("The imports did not leave 1,000 assets and 10,000 snapshots.")
        print(
            f"\n  {'file':<15} {'import':<18} {'median s':>9} {'best s':>7}"
            f" {'rows/s':>8} {'queries':>8}"
        )
        for r in results:
            print(
                f"  {r['file']:<15} {r['import']:<18} {r['median']:>9.2f}"
                f" {r['best']:>7.2f} {len(rows) / r['median']:>8,.0f}"
                f" {r['queries']:>8}"
            )
        print(
            "\n  parsing alone (no database): "
            + ", ".join(f"{r['file']} {r['parse']:.2f} s" for r in results[::2])
        )
    finally:
        connection.close()
        if sqlite_file is not None:
            sqlite_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
