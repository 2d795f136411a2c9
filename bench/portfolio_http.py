"""Portfolio reads and writes over HTTP at 200 to 20,000 transactions.

Run from the repository root:

    .venv/bin/python bench/portfolio_http.py                 # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/capsite_bench_portfolio \\
        .venv/bin/python bench/portfolio_http.py             # PostgreSQL

A PostgreSQL database must have "bench" in its name: it is dropped and created
again. The script:

1. migrates, then generates 200 assets with a daily snapshot each for five
   years up to today (a random walk), and runs ANALYZE;
2. serves the site with gunicorn (2 sync workers, DEBUG off) and imports four
   portfolios (cost basis ``--method``, default fifo) of the same 200 holdings with 200, 2,000, 10,000 and 20,000
   transactions over those five years through ``POST …/transactions/import/``
   (timed: the import goal is 20,000 rows in 5 s);
3. runs wrk (2 threads, 8 connections) in interleaved rounds over a bare view
   (the reference) and, for every portfolio, the detail page, allocation,
   holdings, rebalance, history (1 year and all of it, one page),
   performance (with its benchmarks) and the realised-gains report; it prints the medians over rounds of rps, p50, p95, p99, each
   path's rps ÷ the bare view's, and each read's p50 at every size ÷ at 200;
4. times, one request at a time, appending a transaction (``POST``) and
   editing one dated three years back (``PATCH``) in the 20,000 portfolio.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from market_http import BASE, LUA, _env, _serve  # noqa: E402 - bench is no package

SEED = 20261202
ASSETS = 200
DAYS = 5 * 365 + 1
SIZES = (200, 2_000, 10_000, 20_000)
REFERENCE = "/bench/bare/"


def _django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _fresh_database(url: str) -> None:
    if url.startswith("postgres"):
        name = url.rsplit("/", 1)[-1]
        if "bench" not in name:
            sys.exit("Give a PostgreSQL database whose name contains 'bench'.")
        server = url.rsplit("/", 1)[0]
        for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
            subprocess.run(
                ["psql", f"{server}/postgres", "-qc", sql], check=True, cwd=ROOT
            )


def _generate() -> dict[int, list[Decimal]]:
    """200 assets with five years of daily snapshots; their price per day."""
    from django.db import connection

    from valuations.indices import refresh_indices
    from valuations.models import Asset, MarketSnapshot
    from valuations.state import refresh_market_state

    rng = random.Random(SEED)
    first = datetime.now(UTC).date() - timedelta(days=DAYS - 1)
    assets = Asset.objects.bulk_create(
        Asset(
            slug=f"coin-{n:03d}",
            symbol=f"c{n}",
            name=f"Coin {n}",
            price=Decimal(rng.randint(10, 100_000)) / 100,
            circulating_supply=Decimal(10 ** rng.randint(6, 10)),
            volume_24h=Decimal(10**7),
        )
        for n in range(ASSETS)
    )
    prices: dict[int, list[Decimal]] = {}
    for asset in Asset.objects.order_by("slug"):
        price, path = float(asset.price), []
        for _ in range(DAYS):
            price = max(price * (1 + rng.gauss(0, 0.03)), 0.0001)
            path.append(Decimal(f"{price:.6f}"))
        prices[asset.pk] = path
        MarketSnapshot.objects.bulk_create(
            (
                MarketSnapshot(
                    asset=asset,
                    taken_at=datetime.combine(
                        first + timedelta(days=d), datetime.min.time(), tzinfo=UTC
                    )
                    + timedelta(hours=23),
                    price=p,
                    circulating_supply=asset.circulating_supply,
                    volume_24h=asset.volume_24h,
                )
                for d, p in enumerate(path)
            ),
            batch_size=2000,
        )
        asset.price = path[-1]
        asset.save(update_fields=["price"])
    refresh_market_state()
    # The benchmarks' stored index levels, as the import signal would keep them.
    refresh_indices()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    assert len(assets) == ASSETS
    return prices


def _ledger_csv(size: int, prices: dict[int, list[Decimal]]) -> str:
    """``size`` trades of the 200 assets over five years, each at its day's price.

    The first 200 buy every asset once; later ones buy, or sell a third of
    what is held. Times end an hour before now, so none is in the future.
    """
    rng = random.Random(SEED + size)
    ids = sorted(prices)
    slugs = {pk: f"coin-{n:03d}" for n, pk in enumerate(ids)}
    now = datetime.now(UTC) - timedelta(hours=1)
    first = datetime.combine(
        now.date() - timedelta(days=DAYS - 1), datetime.min.time(), tzinfo=UTC
    )
    span = int((now - first).total_seconds())
    times = sorted(first + timedelta(seconds=rng.randint(0, span)) for _ in range(size))
    held: dict[int, Decimal] = {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["executed_at", "asset", "kind", "quantity", "unit_price", "fee"])
    for n, when in enumerate(times):
        pk = ids[n] if n < ASSETS else rng.choice(ids)
        price = prices[pk][min((when.date() - first.date()).days, DAYS - 1)]
        quantity = held.get(pk, Decimal(0))
        if n >= ASSETS and quantity > 3 and rng.random() < 0.3:
            kind, amount = "sell", (quantity / 3).quantize(Decimal("0.0001"))
            held[pk] = quantity - amount
        else:
            kind, amount = "buy", Decimal(rng.randint(1, 100))
            held[pk] = quantity + amount
        writer.writerow([when.isoformat(), slugs[pk], kind, amount, price, "0.5"])
    return out.getvalue()


def _request(method: str, path: str, token: str, body: bytes, kind: str) -> dict:
    request = urllib.request.Request(
        BASE + path,
        data=body,
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": kind},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read() or b"{}")


def _finished(url: str, token: str) -> dict:
    """Poll a job (GET /api/v1/jobs/<id>/) until it is done; fail if it failed."""
    while True:
        request = urllib.request.Request(
            url, headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            job = json.loads(response.read())
        if job["status"] == "done":
            return job
        if job["status"] == "failed":
            raise SystemExit(f"import job failed: {job['errors'][:3]}")
        time.sleep(0.05)


def _session(username: str) -> tuple[str, str]:
    """An API token and a session cookie for the bench user."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user(username, password=username)
    token, _ = Token.objects.get_or_create(user=user)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return token.key, session.session_key or ""


def _portfolios(
    token: str, prices: dict[int, list[Decimal]], method: str
) -> dict[int, int]:
    """Create one portfolio per size through the API; import its ledger (timed)."""
    ids = {}
    for size in SIZES:
        body = json.dumps(
            {
                "name": f"{size} transactions",
                "target": {"large": "50", "mid": "30", "small": "15", "stable": "5"},
                "cost_basis_method": method,
            }
        ).encode()
        portfolio = _request(
            "POST", "/api/v1/portfolios/", token, body, "application/json"
        )
        text = _ledger_csv(size, prices).encode()
        started = time.perf_counter()
        result = _request(
            "POST",
            f"/api/v1/portfolios/{portfolio['id']}/transactions/import/",
            token,
            text,
            "text/csv",
        )
        if "job" in result:  # a long file is imported as a job: follow it
            result = _finished(result["job"]["url"], token)["result"]
        seconds = time.perf_counter() - started
        print(
            f"import {size:>6,} rows: {seconds:6.2f} s "
            f"({result['created'] / seconds:,.0f} rows/s, {len(text) / 2**20:.1f} MB)"
        )
        ids[size] = portfolio["id"]
    return ids


def _paths(portfolio_id: int) -> dict[str, str]:
    year_ago = (datetime.now(UTC).date() - timedelta(days=364)).isoformat()
    api = f"/api/v1/portfolios/{portfolio_id}"
    return {
        "detail page": f"/portfolios/{portfolio_id}/",
        "allocation": f"{api}/allocation/",
        "holdings": f"{api}/holdings/?page_size=100",
        "rebalance": f"{api}/rebalance/",
        "history 1 year": f"{api}/history/?start={year_ago}&page_size=366",
        "history all": f"{api}/history/?page_size={DAYS}",
        "performance": f"{api}/performance/",
        "realized gains": f"{api}/realized/",
    }


def _wrk(path: str, headers: list[str], args: argparse.Namespace, script: str):
    command = [
        "wrk",
        "-t2",
        f"-c{args.conns}",
        f"-d{args.duration}s",
        "-s",
        script,
        *headers,
        BASE + path,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    import re

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p95, p99 = (
        int(v) / 1000 for v in re.search(r"PCT (\d+) (\d+) (\d+)", out).groups()
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p50, p95, p99, float(errors.group(1) if errors else 0)


def _reads(
    ids: dict[int, int], token: str, session: str, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(LUA)
    auth = ["-H", f"Authorization: Token {token}"]
    cookie = ["-H", f"Cookie: sessionid={session}"]
    targets = {"bare view (reference)": (REFERENCE, [])}
    for size, pk in ids.items():
        for label, path in _paths(pk).items():
            headers = cookie if label == "detail page" else auth
            targets[f"{label} @ {size:,}"] = (path, headers)
    runs: dict[str, list[tuple[float, ...]]] = {label: [] for label in targets}
    for _ in range(args.rounds):
        for label, (path, headers) in targets.items():
            runs[label].append(_wrk(path, headers, args, handle.name))
    return {
        label: {
            key: statistics.median(r[i] for r in rows)
            for i, key in enumerate(("rps", "p50", "p95", "p99", "errors"))
        }
        for label, rows in runs.items()
    }


def _writes(ids: dict[int, int], token: str, session: str):
    """Append one transaction, and edit one dated three years back, one at a time."""
    from portfolios.models import Transaction

    pk = ids[max(SIZES)]
    ledger = f"/api/v1/portfolios/{pk}/transactions/"
    appends = []
    for n in range(40):
        body = json.dumps(
            {
                "asset": f"coin-{n % ASSETS:03d}",
                "kind": "buy",
                "quantity": "1",
                "price": "2.5",
                "executed_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        started = time.perf_counter()
        _request("POST", ledger, token, body, "application/json")
        appends.append((time.perf_counter() - started) * 1000)
    three_years = datetime.now(UTC) - timedelta(days=3 * 365)
    old = (
        Transaction.objects.filter(
            portfolio_id=pk, kind="buy", executed_at__lte=three_years
        )
        .order_by("-executed_at")
        .first()
    )
    edits = []
    for n in range(12):
        quantity = old.quantity + (1 if n % 2 == 0 else 0)
        body = json.dumps({"quantity": str(quantity)}).encode()
        started = time.perf_counter()
        _request("PATCH", f"{ledger}{old.pk}/", token, body, "application/json")
        edits.append((time.perf_counter() - started) * 1000)
    # The first read after a write misses the cache: time each read then.
    misses: dict[str, list[float]] = {label: [] for label in _paths(pk)}
    for n in range(5):
        for label, path in _paths(pk).items():
            body = json.dumps({"note": f"bench {n} {label}"}).encode()
            _request("PATCH", f"{ledger}{old.pk}/", token, body, "application/json")
            started = time.perf_counter()
            _get(path, token, session)
            misses[label].append((time.perf_counter() - started) * 1000)
    return appends, edits, old.executed_at.date(), misses


def _get(path: str, token: str, session: str) -> None:
    headers = {"Authorization": f"Token {token}", "Cookie": f"sessionid={session}"}
    request = urllib.request.Request(BASE + path, headers=headers)
    with urllib.request.urlopen(request, timeout=300) as response:
        response.read()


def _print(table: dict[str, dict[str, float]]) -> None:
    bare = table["bare view (reference)"]["rps"]
    print(
        f"\n{'read':34} {'rps':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        f" {'÷bare':>6} {'non2xx':>6}"
    )
    for label, row in table.items():
        print(
            f"{label:34} {row['rps']:7.0f} {row['p50']:7.2f} {row['p95']:7.2f}"
            f" {row['p99']:7.2f} {row['rps'] / bare:6.2f} {row['errors']:6.0f}"
        )
    print(f"\np50 at each size ÷ p50 at {SIZES[0]} transactions")
    for label in _paths(0):
        base = table[f"{label} @ {SIZES[0]:,}"]["p50"]
        ratios = "  ".join(
            f"{size:,}: {table[f'{label} @ {size:,}']['p50'] / base:.2f}"
            for size in SIZES[1:]
        )
        print(f"{label:34} {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--conns", type=int, default=8)
    parser.add_argument(
        "--method",
        default="fifo",
        choices=["average", "fifo", "lifo", "hifo"],
        help="The portfolios' cost-basis method (default fifo: lots, not a pool).",
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    scratch = None
    if not url:
        scratch = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        url = f"sqlite:///{scratch}"
    _fresh_database(url)
    env = _env(url)
    _django(env)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG is off
    started = time.perf_counter()
    prices = _generate()
    print(
        f"{'PostgreSQL' if url.startswith('postgres') else 'SQLite'}: {ASSETS} "
        f"assets × {DAYS:,} days of snapshots in {time.perf_counter() - started:.0f} s"
    )
    token, session = _session("bench")
    server = _serve(env)
    try:
        ids = _portfolios(token, prices, args.method)
        table = _reads(ids, token, session, args)
        appends, edits, day, misses = _writes(ids, token, session)
    finally:
        server.terminate()
        server.wait()
    _print(table)
    print(
        f"\nappend one transaction at {max(SIZES):,}: median "
        f"{statistics.median(appends):.1f} ms, p95 "
        f"{statistics.quantiles(appends, n=20)[-1]:.1f} ms ({len(appends)} requests)"
    )
    print(
        f"edit one dated {day} (three years back): median "
        f"{statistics.median(edits):.1f} ms, max {max(edits):.1f} ms "
        f"({len(edits)} requests)"
    )
    print(f"\nfirst read after a write (a cache miss) at {max(SIZES):,}, median of 5")
    for label, times in misses.items():
        print(f"{label:34} {statistics.median(times):7.1f} ms")
    if scratch:
        scratch.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
