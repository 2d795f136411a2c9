"""Rebuild the stored market history from every market snapshot."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from valuations.history import refresh_market_history
from valuations.state import bump_version


class Command(BaseCommand):
    help = (
        "Recompute the stored market history (covered cap, Bitcoin and Ethereum "
        "caps, caps per tier) for every day with snapshots. Snapshot writes do "
        "this for the days they change; run it after changing CAPSITE_TIER_* "
        "thresholds or after an upgrade."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        days = refresh_market_history()
        bump_version()  # pages cached per market version show the new figures
        self.stdout.write(
            self.style.SUCCESS(
                f"Market history: {days} days recomputed in "
                f"{time.perf_counter() - started:.2f} s."
            )
        )
