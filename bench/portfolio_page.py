"""Time the portfolio page with 10 holdings, then with 200 holdings and 2,000 trades.

Run from the repository root:

    .venv/bin/python bench/portfolio_page.py               # throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/capsite_bench_portfolio \\
        .venv/bin/python bench/portfolio_page.py           # PostgreSQL

Database handling, warm-up, timing and the table are market_page.py's: on
PostgreSQL the database is dropped and created again, so only a name containing
"bench" is accepted. Requests go through django.test.Client in this process with
DEBUG off and a logged-in user (force_login): server time, without a network.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from market_page import (  # noqa: E402 - the bench folder is not a package
    REQUESTS,
    WARMUP,
    _analyze,
    _bundled_market,
    _exit_if_grew,
    _generated_assets,
    _grew,
    _measure,
    _print_table,
    django_bench,
)

SEED = 20260430
SMALL_HOLDINGS = 10
LARGE_HOLDINGS = 200
TRANSACTIONS = 2_000
SELL_SHARE = 0.3


def _pages(portfolio_pk: int) -> list[tuple[str, str]]:
    """(label, address) of each page measured."""
    base = f"/portfolios/{portfolio_pk}/"
    return [
        ("detail (1y history)", base),
        ("detail ?range=all", f"{base}?range=all"),
        ("detail buy-only plan", f"{base}?mode=buy_only&cash=10000"),
        ("transactions", f"{base}transactions/"),
        ("portfolio list", "/portfolios/"),
    ]


def _measure_pages(client, portfolio_pk: int) -> list[dict[str, object]]:
    rows = []
    for label, url in _pages(portfolio_pk):
        row = _measure(client, url)
        row["url"] = label
        rows.append(row)
    return rows


def _spread(assets: list, count: int) -> list:
    """Pick ``count`` assets round-robin across buckets, so that every bucket the
    target mix asks for is held and the page takes the same path at both sizes."""
    from portfolios.queries import bucket_case, is_stablecoin
    from valuations.models import Asset

    buckets = dict(
        Asset.objects.filter(pk__in=[a.pk for a in assets])
        .annotate(
            stable=is_stablecoin("pk"), bucket=bucket_case("market_cap", "stable")
        )
        .values_list("pk", "bucket")
    )
    queues: dict[str, list] = {}
    for asset in assets:
        queues.setdefault(buckets[asset.pk], []).append(asset)
    picked: list = []
    while len(picked) < count and any(queues.values()):
        for queue in queues.values():
            if queue and len(picked) < count:
                picked.append(queue.pop(0))
    return picked


def _assets_for(count: int) -> list:
    """The assets with bundled daily history first, then the largest others.

    Generated small caps (market_page.py's spread) fill the list when the
    bundled data has fewer than ``count`` priced assets.
    """
    from django.db.models import Exists, OuterRef

    from valuations.models import Asset, MarketSnapshot

    priced = Asset.objects.filter(price__gt=0).annotate(
        history=Exists(MarketSnapshot.objects.filter(asset=OuterRef("pk")))
    )
    assets = list(priced.order_by("-history", "-market_cap", "slug")[:count])
    missing = count - len(assets)
    if missing > 0:
        generated, _ = _generated_assets(missing * 2, [])
        Asset.objects.bulk_create(
            [a for a in generated if a.price][:missing], batch_size=1_000
        )
        assets += list(Asset.objects.filter(source="bench").order_by("slug"))
    return assets[:count]


def _ledger(assets: list, transactions: int, rng: random.Random) -> list[dict]:
    """Buys and some sells spread over the bundled history's dates.

    Each asset opens with a buy; later trades are buys, or with SELL_SHARE
    probability a sell of part of what is held then, so no sell ever exceeds the
    holding. Assets with history trade at that day's snapshot price; the others
    at their current price moved by up to ±60 %.
    """
    from valuations.models import MarketSnapshot

    days = sorted(
        {
            taken.date()
            for taken in MarketSnapshot.objects.values_list("taken_at", flat=True)
        }
    )
    if not days:
        today = datetime.now(UTC).date()
        days = [today - timedelta(days=n) for n in range(365, 0, -1)]
    prices = {
        (asset_id, taken.date()): price
        for asset_id, taken, price in MarketSnapshot.objects.filter(
            asset__in=assets
        ).values_list("asset_id", "taken_at", "price")
    }
    per_asset = [transactions // len(assets)] * len(assets)
    for n in range(transactions % len(assets)):
        per_asset[n] += 1
    rows = []
    for asset, count in zip(assets, per_asset, strict=True):
        when = sorted(rng.sample(days, count))
        held = Decimal(0)
        for n, day in enumerate(when):
            price = prices.get((asset.pk, day))
            if price is None:
                price = (
                    asset.price * Decimal(f"{rng.uniform(0.4, 1.6):.4f}")
                ).quantize(Decimal("1e-12"))
            budget = Decimal(rng.randint(50, 5_000))
            if n and held > 0 and rng.random() < SELL_SHARE:
                kind = "sell"
                quantity = (held * Decimal(f"{rng.uniform(0.1, 0.6):.3f}")).quantize(
                    Decimal("1e-8")
                )
            else:
                kind = "buy"
                quantity = (
                    (budget / price).quantize(Decimal("1e-8")) if price else Decimal(1)
                )
            if quantity <= 0:
                kind, quantity = "buy", Decimal(1)
            held += quantity if kind == "buy" else -quantity
            rows.append(
                {
                    "asset": asset,
                    "kind": kind,
                    "quantity": quantity,
                    "unit_price": price,
                    "fee": Decimal("1.50"),
                    "executed_at": datetime.combine(day, dtime(12, n % 60), tzinfo=UTC),
                    "note": "bench",
                }
            )
    return rows


def _portfolio(owner, name: str, assets: list, transactions: int):
    from portfolios import services

    portfolio = services.create_portfolio(owner=owner, name=name)
    rows = _ledger(assets, transactions, random.Random(f"{SEED}-{name}"))
    services.record_transactions(portfolio=portfolio, rows=rows)
    return portfolio


def main() -> None:
    with django_bench():
        import django
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from portfolios.models import Holding, Transaction
        from valuations.models import Asset, MarketSnapshot

        print(
            f"capsite portfolio bench on {connection.vendor} "
            f"({connection.settings_dict['NAME']}), Django {django.get_version()}, "
            f"{REQUESTS} requests after {WARMUP} warm-up"
        )
        started = time.perf_counter()
        _bundled_market()
        print(
            f"migrate and bundled data {time.perf_counter() - started:.1f} s "
            f"({Asset.objects.count()} assets, "
            f"{MarketSnapshot.objects.count():,} snapshots)"
        )
        user = get_user_model().objects.create_user("bench", password=None)
        client = Client()
        client.force_login(user)

        assets = _assets_for(LARGE_HOLDINGS)
        small = _portfolio(
            user, "Small", _spread(assets, SMALL_HOLDINGS), SMALL_HOLDINGS * 5
        )
        _analyze()
        before = _measure_pages(client, small.pk)
        _print_table(
            f"{small.holdings.count()} holdings, "
            f"{small.transactions.count()} transactions",
            before,
        )

        build = time.perf_counter()
        large = _portfolio(user, "Large", _assets_for(LARGE_HOLDINGS), TRANSACTIONS)
        _analyze()
        print(
            f"\nbuilt {large.holdings.count()} holdings from "
            f"{large.transactions.count():,} transactions in "
            f"{time.perf_counter() - build:.1f} s"
        )
        after = _measure_pages(client, large.pk)
        _print_table(
            f"{Holding.objects.filter(portfolio=large, quantity__gt=0).count()} "
            f"open holdings, {Transaction.objects.filter(portfolio=large).count():,} "
            "transactions",
            after,
        )
        _exit_if_grew(
            _grew(before, after), f"; total {time.perf_counter() - started:.0f} s"
        )


if __name__ == "__main__":
    main()
