"""Load the bundled real market data (CoinGecko top 100, daily history, categories)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from valuations.imports import load_bundled_market_data


class Command(BaseCommand):
    help = "Load the bundled CoinGecko snapshot, daily history and category mapping."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_bundled_market_data()
        self.stdout.write(
            self.style.SUCCESS(
                f"Market data: {counts['assets']} assets; snapshots {counts['created']} new, "
                f"{counts['updated']} updated, {counts['unchanged']} unchanged; "
                f"{counts['categorised']} categorised."
            )
        )
