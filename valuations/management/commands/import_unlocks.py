"""Import a token unlock schedule CSV (asset,date,amount,note)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from valuations.imports import FormatError, import_unlocks


class Command(BaseCommand):
    help = "Import unlocks from a CSV with header asset,date,amount,note: all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            report = import_unlocks(
                file.read_text(encoding="utf-8"),
                source=file.name,
                triggered_by="import_unlocks",
            )
        except (OSError, UnicodeDecodeError, FormatError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        for error in report.errors:
            self.stderr.write(f"{file.name}: {error}")
        if report.errors:
            raise CommandError(f"Nothing imported: {len(report.errors)} bad row(s).")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.created} unlocks added, {report.updated} updated."
            )
        )
