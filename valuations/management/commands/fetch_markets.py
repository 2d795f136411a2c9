"""Refresh market data from the live API (MARKET_DATA_URL), 250 coins a page."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from valuations.feed import failure_message, fetch_markets


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number ≥ 1.")
    return number


class Command(BaseCommand):
    help = (
        "Fetch the top coins by market cap from the CoinGecko-compatible API at "
        "MARKET_DATA_URL (250 a page) and import them. Every page is fetched "
        "before anything is written: on any failure nothing changes, the failure "
        "is listed with the import runs, and the command exits non-zero. The "
        "fetch stops after MARKET_DATA_DEADLINE seconds, a page larger than "
        "MARKET_DATA_MAX_BYTES is refused, and a second refresh started while one "
        "is running stops at once. Rows the importer rejects are skipped and "
        "listed. Add --traceback to see where an unexpected error came from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pages",
            type=_positive,
            default=1,
            help="Pages of 250 coins to fetch (default 1); stops early at a short page.",
        )

    def handle(self, *args: Any, pages: int, **options: Any) -> None:
        try:
            report = fetch_markets(pages=pages, triggered_by="fetch_markets")
        except Exception as exc:
            # Whatever went wrong (a database error too), the operator gets one
            # plain line and exit status 1, not a traceback.
            raise CommandError(f"{failure_message(exc)} Nothing was imported.") from exc
        for error in report.errors:
            self.stderr.write(f"skipped {error}")
        applied = report.created + report.updated + report.unchanged
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.rows} coins fetched: {applied} rows applied, "
                f"{report.skipped} skipped; snapshots {report.created} new, "
                f"{report.updated} updated, {report.unchanged} unchanged; "
                f"{report.assets_created} new assets."
            )
        )
