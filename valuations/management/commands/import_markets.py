"""Import a market-data file: CoinGecko or CoinMarketCap JSON, or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from valuations.imports import CSV_HEADER, Format, FormatError, import_markets


class Command(BaseCommand):
    help = (
        "Import market data from FILE. Formats (detected, or named with --format): "
        "coingecko (coins/markets JSON), coinmarketcap (listings/latest JSON, with or "
        f"without its status/data wrapper), csv (header: {CSV_HEADER}), history (the "
        "daily history CSV). A file with any bad row changes nothing unless "
        "--skip-invalid is given. Rows that match no asset with confidence wait "
        "for staff to map them in the admin; the rest of the file applies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=Format.ALL, dest="fmt")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Apply the good rows and report the bad ones instead of rejecting the file.",
        )

    def handle(self, *args: Any, file: Path, fmt: str | None, **options: Any) -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            report = import_markets(
                text,
                fmt=fmt,
                source=file.name,
                triggered_by="import_markets",
                skip_invalid=options["skip_invalid"],
            )
        except FormatError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        for error in report.errors:
            self.stderr.write(f"{file.name}: {error}")
        for waiting in report.waiting:
            self.stderr.write(f"{file.name}: {waiting}")
        summary = (
            f"{file.name} ({report.format}): {report.rows} rows; snapshots {report.created} "
            f"new, {report.updated} updated, {report.unchanged} unchanged; "
            f"{report.assets_created} new assets; {report.skipped} rows skipped; "
            f"{report.waiting_rows} rows wait for mapping."
        )
        if not report.applied:
            raise CommandError(
                f"Nothing imported: {len(report.errors)} problem(s). {summary} "
                "Fix the rows, or run again with --skip-invalid."
            )
        if report.rows and report.skipped == report.rows:
            # --skip-invalid skipped every row: nothing happened, so say so.
            raise CommandError(f"Nothing imported: every row was skipped. {summary}")
        self.stdout.write(self.style.SUCCESS(summary))
