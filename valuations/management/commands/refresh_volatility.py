"""Rebuild the stored asset and tier volatility from the snapshots and indices."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from valuations.peers import store_category_peers
from valuations.state import bump_version
from valuations.volatility import refresh_volatility


class Command(BaseCommand):
    help = (
        "Recompute every asset's 30/90/365-day volatility, each tier's index "
        "volatility (run refresh_indices first if the indices are stale) and the "
        "category peer ranks. Snapshot writes do this themselves."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        refresh_volatility(None)
        bump_version()  # pages cached per market version show the new figures
        store_category_peers()
        self.stdout.write(
            self.style.SUCCESS(
                f"Volatility and category peers recomputed in "
                f"{time.perf_counter() - started:.2f} s."
            )
        )
