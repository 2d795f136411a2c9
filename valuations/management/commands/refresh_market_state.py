"""Recompute every asset's stored rank, tier and band and the market-state row."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from valuations.state import refresh_market_state


class Command(BaseCommand):
    help = (
        "Recompute stored ranks, tiers, turnover bands and market totals for every "
        "asset. Imports do this for what they change; run it after changing "
        "CAPSITE_TIER_* or CAPSITE_LIQUIDITY_* thresholds, or after an upgrade."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        state = refresh_market_state()
        self.stdout.write(
            self.style.SUCCESS(
                f"Market state v{state.version}: {state.asset_count} assets, "
                f"recomputed in {time.perf_counter() - started:.2f} s."
            )
        )
