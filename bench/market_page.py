"""Time the market and asset pages on the bundled data, then on 10,000 assets.

Run from the repository root:

    .venv/bin/python bench/market_page.py                  # throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/capsite_bench \\
        .venv/bin/python bench/market_page.py              # PostgreSQL

On PostgreSQL the database is created when missing, and dropped and created again
when present, so only a database whose name contains "bench" is accepted.
Requests go through django.test.Client in this process, with DEBUG off: the
times are server time (middleware, view, queries, template), without a network.
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_ASSETS = 10_000
WARMUP = 3
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
BATCH = 1_000
SEED = 20260430
PAGES = ["/", "/?sort=-volume_24h", "/?tier=small", "/assets/bitcoin/"]


def _configure() -> Path | None:
    """Point Django at the bench database; return the SQLite file to delete later."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "capsite.settings"
    # Measure what production runs: DEBUG off (no query log, cached templates).
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"  # the test client speaks HTTP
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if os.environ.get("DATABASE_URL"):
        _recreate_postgres_database(os.environ["DATABASE_URL"])
        return None
    handle, name = tempfile.mkstemp(prefix="capsite-bench-", suffix=".sqlite3")
    os.close(handle)
    os.environ["DATABASE_URL"] = f"sqlite:///{name}"
    return Path(name)


def _recreate_postgres_database(url: str) -> None:
    """Start from an empty database: create it, dropping a previous run's copy."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    if not config["ENGINE"].endswith("postgresql"):
        return
    name = config["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to drop and recreate {name!r}: use a name with 'bench'.")
    with psycopg.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _generated_assets(count: int, categories: list[int]) -> tuple[list, list]:
    """Assets with a realistic spread of caps, and their category links.

    log10(cap) is normal around $10M (σ 1.2): about 0.6 % large, 5 % mid, the
    rest small, and one in twenty unranked (no price, or nothing circulating).
    Volume is 0.1 % to 200 % of the cap, so some trade thinly.
    """
    from valuations.models import Asset

    rng = random.Random(SEED)
    assets, links = [], []
    for n in range(1, count + 1):
        price = Decimal(f"{10 ** rng.uniform(-6, 3):.6e}")
        cap = Decimal(f"{10 ** min(rng.gauss(7, 1.2), 11.5):.6e}")
        circulating = (cap / price).quantize(Decimal(1))
        roll = rng.random()
        if roll < 0.03:
            price = None
        elif roll < 0.05:
            circulating = Decimal(0)
        supply = {"max_supply": None, "total_supply": None}
        if rng.random() < 0.5:
            supply["max_supply"] = (circulating * Decimal(rng.uniform(1, 5))).quantize(
                Decimal(1)
            )
        elif rng.random() < 0.8:
            supply["total_supply"] = (
                circulating * Decimal(rng.uniform(1, 3))
            ).quantize(Decimal(1))
        volume = (cap * Decimal(f"{10 ** rng.uniform(-3, 0.3):.4e}")).quantize(
            Decimal("0.01")
        )
        assets.append(
            Asset(
                slug=f"bench-{n:05d}",
                symbol=f"b{n}",
                name=f"Bench Coin {n}",
                price=price,
                circulating_supply=circulating,
                volume_24h=volume,
                source="bench",
                **supply,
            )
        )
        if categories and rng.random() < 0.3:
            links.append((f"bench-{n:05d}", rng.choice(categories)))
    return assets, links


def _grow_to(target: int) -> int:
    """Bulk-create generated assets until the table holds ``target``; return added."""
    from django.db import transaction

    from valuations.models import Asset, Category

    missing = target - Asset.objects.count()
    if missing <= 0:
        return 0
    assets, links = _generated_assets(
        missing, list(Category.objects.values_list("pk", flat=True))
    )
    through = Asset.categories.through
    with transaction.atomic():
        Asset.objects.bulk_create(assets, batch_size=BATCH)
        ids = dict(Asset.objects.filter(source="bench").values_list("slug", "pk"))
        through.objects.bulk_create(
            [through(asset_id=ids[slug], category_id=cat) for slug, cat in links],
            batch_size=BATCH,
        )
    return missing


def _analyze() -> None:
    """Refresh planner statistics, as autovacuum would after a real bulk load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _bundled_market() -> dict[str, int]:
    """Migrate the empty database and load the bundled market data (100 assets,
    ~17,000 daily snapshots), then ANALYZE; return the import's counts."""
    from django.core.management import call_command

    from valuations.imports import load_bundled_market_data

    call_command("migrate", verbosity=0, interactive=False)
    loaded = load_bundled_market_data()
    _analyze()
    return loaded


def _plain_static_files() -> None:
    """DEBUG off would want collectstatic's manifest; the plain storage needs none."""
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


def _measure(
    client,
    url: str,
    *,
    warmup: int = WARMUP,
    requests: int = REQUESTS,
    before_each: Callable[[], object] | None = None,
) -> dict[str, object]:
    """Warm up, then time ``requests`` GETs; count queries on one more request.

    ``before_each`` runs before every timed request, outside the timing (e.g.
    ``cache.clear`` to time answers computed every time). "SQL ms" is the
    database time of the counted request, for a rough split between the
    database and Python (view and template).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def fail(response) -> None:
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")

    for _ in range(warmup):
        fail(client.get(url))
    samples = []
    for _ in range(requests):
        if before_each is not None:
            before_each()
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        fail(response)
    # Counted apart from the timed requests: capturing forces a logging cursor.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return {
        "url": url,
        "median": statistics.median(samples),
        "p90": statistics.quantiles(samples, n=10, method="inclusive")[-1],
        "queries": len(queries),
        "sql": sum(float(q["time"]) for q in queries.captured_queries) * 1000,
        "kb": len(response.content) / 1024,
    }


@contextmanager
def django_bench() -> Iterator[None]:
    """Configure the database (``_configure``), start Django for in-process
    requests through django.test.Client, and at the end close the connection
    and delete a throwaway SQLite file."""
    sqlite_file = _configure()
    warnings.filterwarnings("ignore", message="No directory at")

    import django

    django.setup()

    from django.conf import settings
    from django.db import connection

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    _plain_static_files()
    try:
        yield
    finally:
        connection.close()
        if sqlite_file is not None:
            sqlite_file.unlink(missing_ok=True)


def _exit_if_grew(grew: list[str], suffix: str = "") -> None:
    """Say whether any query count changed with size; exit 1 if one did."""
    print(
        "\nquery counts "
        + (f"GREW on {', '.join(grew)}" if grew else "unchanged by size")
        + suffix
    )
    if grew:
        sys.exit(1)


def _grew(before: list[dict], after: list[dict]) -> list[str]:
    """The urls whose query count differs between two runs of ``_measure``."""
    return [
        a["url"]
        for b, a in zip(before, after, strict=True)
        if b["queries"] != a["queries"]
    ]


def _print_table(title: str, rows: list[dict[str, object]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'page':<22} {'median ms':>10} {'p90 ms':>8} {'queries':>8}"
        f" {'SQL ms':>7} {'KB':>7}"
    )
    for row in rows:
        print(
            f"  {row['url']:<22} {row['median']:>10.1f} {row['p90']:>8.1f}"
            f" {row['queries']:>8} {row['sql']:>7.1f} {row['kb']:>7.1f}"
        )


def main() -> None:
    with django_bench():
        import django
        from django.db import connection
        from django.test import Client

        from valuations.models import Asset, MarketSnapshot

        print(
            f"capsite bench on {connection.vendor} "
            f"({connection.settings_dict['NAME']}), Django {django.get_version()}, "
            f"{REQUESTS} requests after {WARMUP} warm-up"
        )
        started = time.perf_counter()
        loaded = _bundled_market()
        print(
            f"migrate and bundled data {time.perf_counter() - started:.1f} s "
            f"({loaded['assets']} assets, {MarketSnapshot.objects.count():,} snapshots)"
        )

        client = Client()
        before = [_measure(client, url) for url in PAGES]
        _print_table(f"{Asset.objects.count():,} assets (bundled data)", before)

        grow_start = time.perf_counter()
        added = _grow_to(TARGET_ASSETS)
        _analyze()
        print(
            f"\nadded {added:,} generated assets in "
            f"{time.perf_counter() - grow_start:.1f} s"
        )
        after = [_measure(client, url) for url in PAGES]
        _print_table(
            f"{Asset.objects.count():,} assets, "
            f"{MarketSnapshot.objects.count():,} snapshots",
            after,
        )
        _exit_if_grew(
            _grew(before, after), f"; total {time.perf_counter() - started:.0f} s"
        )


if __name__ == "__main__":
    main()
