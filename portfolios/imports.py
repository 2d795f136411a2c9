"""CSV export and import of a portfolio's transactions, in one shared format."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from capsite.text import shown, text_problem
from portfolios import services
from portfolios.amounts import amount_errors, time_error
from portfolios.models import Portfolio, Transaction
from valuations.fields import DECIMAL_PLACES, MAX_DIGITS
from valuations.models import Asset

COLUMNS = ["executed_at", "asset", "kind", "quantity", "unit_price", "fee", "note"]
REQUIRED = {"executed_at", "asset", "kind", "quantity", "unit_price"}
MAX_ROWS = 50_000


def export_rows(portfolio: Portfolio) -> Iterator[list[str]]:
    """Yield the CSV header and one row per transaction, oldest first."""
    yield COLUMNS
    ledger = (
        Transaction.objects.filter(portfolio=portfolio)
        .select_related("asset")
        .order_by("executed_at", "pk")
    )
    for tx in ledger.iterator(chunk_size=1000):
        yield [
            tx.executed_at.isoformat(),
            tx.asset.slug,
            tx.kind,
            plain(tx.quantity),
            plain(tx.unit_price),
            plain(tx.fee),
            tx.note,
        ]


def plain(value: Decimal) -> str:
    """A decimal as a CSV cell: no exponent, no trailing zeros."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class RowError:
    line: int
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)
    format: str = "capsite"
    # Rows deliberately not imported (cash moves, stocks…), with the reason.
    skipped: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _decimal(raw: str, name: str, line: int, errors: list[RowError]) -> Decimal | None:
    # A hostile file's megabyte of digits or control characters stays out of reports.
    echo = shown(raw)
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        errors.append(RowError(line, name, f"“{echo}” is not a number."))
        return None
    if not value.is_finite():
        errors.append(RowError(line, name, f"“{echo}” is not a number."))
        return None
    # What a ledger column holds (valuations.fields): said here, with the line,
    # rather than by the database or the model after the other rows are fixed.
    if value and value.adjusted() >= MAX_DIGITS - DECIMAL_PLACES:
        errors.append(
            RowError(
                line,
                name,
                f"{echo} is too large (at most {MAX_DIGITS - DECIMAL_PLACES} "
                "digits before the point).",
            )
        )
        return None
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -DECIMAL_PLACES
        and value
        != value.quantize(
            Decimal(1).scaleb(-DECIMAL_PLACES),
            rounding=ROUND_DOWN,
            context=Context(prec=MAX_DIGITS + 10),  # 22 + 18 digits: past 28
        )
    ):
        errors.append(
            RowError(
                line, name, f"{echo} has more than {DECIMAL_PLACES} decimal places."
            )
        )
        return None
    return value


Progress = Callable[[int, int, str], None]
PROGRESS_EVERY = 250  # rows between two progress reports
CHECKING_ROWS = "Step 1 of 4: reading and checking rows"


def import_transactions(
    *,
    portfolio: Portfolio,
    text: str,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate every row of a ledger file, then record all of them or none.

    ``fmt`` is capsite's CSV or an exchange's export (portfolios.exchanges:
    binance, coinbase, kraken, ghostfolio); without it the format is detected
    from the file. Every bad row is reported with its line number, column and
    reason; any bad row, or a sell beyond the holding anywhere in the ledger,
    applies nothing. ``progress(done, total, stage)``, when given, hears how
    many rows have been read and checked, then that they are being recorded.
    """
    from portfolios import exchanges  # it reports with this module's RowError

    progress = progress or _no_progress
    fmt = fmt or exchanges.detect(text) or "capsite"
    if fmt != "capsite":
        return _import_exchange(portfolio, text, fmt, progress)
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as exc:  # a stray carriage return, a field past the limit…
        report.errors.append(RowError(1, "header", f"Cannot be read as CSV: {exc}."))
        return report
    # A column capsite does not read is refused, not dropped: it may hold what
    # the person meant (a "price" column beside an empty unit_price, say).
    problems = []
    if missing := REQUIRED - set(header):
        problems.append(f"missing column(s): {', '.join(sorted(missing))}")
    if unknown := [name for name in header if name not in COLUMNS]:
        named = ", ".join(
            f"“{shown(name, 40)}”" if name else "an unnamed column" for name in unknown
        )
        problems.append(f"unknown column(s): {named}")
    if problems:
        message = "; ".join(problems).capitalize()
        report.errors.append(
            RowError(1, "header", f"{message}. The columns are {', '.join(COLUMNS)}.")
        )
        return report
    raw_rows, lines = [], []
    try:
        for raw in reader:
            raw_rows.append(raw)
            lines.append(reader.line_num)  # blank lines are skipped, yet counted
    except csv.Error as exc:  # a field past csv.field_size_limit, …
        report.errors.append(
            RowError(reader.line_num, "file", f"Cannot be read as CSV: {exc}.")
        )
        return report
    report.rows = len(raw_rows)
    if not raw_rows:
        report.errors.append(RowError(1, "file", "The file has a header but no rows."))
        return report
    if len(raw_rows) > MAX_ROWS:
        report.errors.append(
            RowError(1, "file", f"At most {MAX_ROWS:,} rows per file.")
        )
        return report
    # Header names may carry spaces; strip them before any lookup by column.
    rows = [
        {key.strip(): (value or "") for key, value in raw.items() if key}
        for raw in raw_rows
    ]
    # Only ids that can be stored are looked up: PostgreSQL refuses a NUL byte.
    slugs = {
        slug for row in rows if not text_problem(slug := row["asset"].strip(), 200)
    }
    assets = Asset.objects.in_bulk(slugs, field_name="slug")
    kinds = set(Transaction.Kind.values)
    now = timezone.now()
    parsed: list[dict[str, Any]] = []
    for index, (line, row) in enumerate(zip(lines, rows, strict=True)):
        if index % PROGRESS_EVERY == 0:
            progress(index, report.rows, CHECKING_ROWS)
        errors: list[RowError] = [
            RowError(line, name, problem)
            for name in ("asset", "note")
            if (problem := text_problem(row.get(name, "").strip(), 200))
        ]
        asset = assets.get(row["asset"].strip())
        if asset is None and not any(e.field == "asset" for e in errors):
            errors.append(
                RowError(line, "asset", f"Unknown asset id “{shown(row['asset'])}”.")
            )
        kind = row["kind"].strip()
        if kind not in kinds:
            errors.append(
                RowError(
                    line,
                    "kind",
                    f"“{shown(kind)}” is not one of {', '.join(sorted(kinds))}.",
                )
            )
        try:
            executed_at = parse_datetime(row["executed_at"].strip()[:64])
        except (ValueError, OverflowError):  # 2024-02-30, hour 25, +25:00
            executed_at = None
        if executed_at is None:
            errors.append(
                RowError(
                    line,
                    "executed_at",
                    f"“{shown(row['executed_at'])}” is not an ISO 8601 time.",
                )
            )
        elif executed_at.tzinfo is None:
            errors.append(
                RowError(
                    line,
                    "executed_at",
                    "Give a time zone, e.g. 2024-01-31T12:00:00+00:00.",
                )
            )
        elif problem := _time_error(executed_at, now):
            errors.append(RowError(line, "executed_at", problem))
        quantity = _decimal(row["quantity"], "quantity", line, errors)
        unit_price = (
            None  # valued at the market price of its day (services.price_rewards)
            if kind == Transaction.Kind.REWARD and not row["unit_price"].strip()
            else _decimal(row["unit_price"], "unit_price", line, errors)
        )
        fee = _decimal(row.get("fee") or "0", "fee", line, errors)
        errors += [
            RowError(line, field, reason)
            for field, reason in amount_errors(
                quantity=quantity, unit_price=unit_price, fee=fee
            ).items()
        ]
        if errors:
            report.errors.extend(errors)
            continue
        parsed.append(
            {
                "asset": asset,
                "kind": kind,
                "quantity": quantity,
                "unit_price": unit_price,
                "fee": fee,
                "executed_at": executed_at,
                "note": row.get("note", "").strip(),
            }
        )
    if report.errors:
        return report
    return _record(portfolio, parsed, lines, report, progress)


def _no_progress(done: int, total: int, stage: str) -> None:
    pass


def _import_exchange(
    portfolio: Portfolio, text: str, fmt: str, progress: Progress
) -> ImportReport:
    from portfolios import exchanges

    report = ImportReport(format=fmt)
    try:
        result = exchanges.parse(text, fmt)
    except ValueError as exc:  # not that format at all
        report.errors.append(RowError(1, "file", str(exc)))
        return report
    report.rows = len(result.rows)
    report.errors, report.skipped = list(result.errors), list(result.skipped)
    if report.errors:
        return report
    if not result.rows:
        report.errors.append(
            RowError(1, "file", "Nothing to import: every row was skipped.")
        )
        return report
    if len(result.rows) > MAX_ROWS:
        report.errors.append(
            RowError(1, "file", f"At most {MAX_ROWS:,} rows per file.")
        )
        return report
    return _record(portfolio, result.rows, result.lines, report, progress)


def _record(
    portfolio: Portfolio,
    parsed: list[dict[str, Any]],
    lines: list[int],
    report: ImportReport,
    progress: Progress,
) -> ImportReport:
    """Record the parsed rows at once; the service's refusals go back to lines."""
    try:
        report.created = services.record_transactions(
            portfolio=portfolio, rows=parsed, progress=progress
        )
    except ValidationError as exc:
        # Rows the service refuses come as "row N: reason"; a sell beyond the
        # holding elsewhere in the ledger as a message with no row (line 0).
        fields = (
            exc.message_dict
            if hasattr(exc, "error_dict")
            else {"quantity": exc.messages}
        )
        for name, messages in fields.items():
            for message in messages:
                position, reason = _row_of(message)
                line = lines[position - 1] if position else 0
                report.errors.append(RowError(line, name, reason))
    return report


def _time_error(executed_at: datetime, now: datetime) -> str | None:
    try:
        return time_error(executed_at, now=now)
    except OverflowError:  # a zone that pushes it past year 9999
        return "Not a time that can be stored."


def _row_of(message: str) -> tuple[int | None, str]:
    """Split "row 3: reason" into (3, "reason"); (None, message) otherwise."""
    head, sep, reason = message.partition(": ")
    if sep and head.startswith("row ") and head[4:].isdigit():
        return int(head[4:]), reason
    return None, message
