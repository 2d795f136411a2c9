"""Market-data imports: files staff upload, the bundled data and the live feed.

``import_markets`` validates every row of a file before anything is written; a
file with any bad row changes nothing unless ``skip_invalid`` is given, and
every import is recorded as an ImportRun.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from capsite.text import shown, text_problem
from valuations import metrics
from valuations.imports.apply import (
    ImportPlan,
    apply_plan,
    plan_import,
    record_run,
    stored_error,
)
from valuations.imports.formats import (
    CSV_HEADER,
    Format,
    FormatError,
    MarketRow,
    RowError,
    detect_format,
    parse,
    parse_number,
)
from valuations.models import Asset, Category, ImportRun, SupplyUnlock
from valuations.signals import announce_snapshots
from valuations.state import refresh_market_state

__all__ = [
    "CSV_HEADER",
    "Format",
    "FormatError",
    "ImportReport",
    "MarketRow",
    "RowError",
    "detect_format",
    "import_markets",
    "import_unlocks",
    "load_bundled_market_data",
    "preview_markets",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUNDLED_MARKETS = DATA_DIR / "coins_markets_usd_100_2026-04-30.json"
BUNDLED_HISTORY = DATA_DIR / "history_15coins_daily_2023-03-20_to_2026-04-30.csv"
BUNDLED_CATEGORIES = DATA_DIR / "categories.json"


@dataclass
class ImportReport:
    format: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    assets_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    # One message per coin that waits for staff to map it; the rows it has.
    waiting: list[RowError] = field(default_factory=list)
    waiting_rows: int = 0
    applied: bool = False
    run: ImportRun | None = None

    @classmethod
    def from_plan(cls, plan: ImportPlan, fmt: str, *, applied: bool) -> ImportReport:
        return cls(
            format=fmt,
            rows=plan.rows,
            created=len(plan.new_snapshots),
            updated=len(plan.changed_snapshots),
            unchanged=plan.unchanged,
            skipped=plan.skipped,
            assets_created=len(plan.new_assets),
            errors=list(plan.errors),
            waiting=list(plan.unmatched),
            waiting_rows=plan.waiting_rows,
            applied=applied,
        )


def preview_markets(text: str, *, fmt: str | None = None) -> tuple[str, ImportPlan]:
    """Parse and classify a file without writing: its format and what it would change.

    Raises FormatError when the file as a whole cannot be read.
    """
    fmt = fmt or detect_format(text)
    rows, errors = parse(text, fmt)
    return fmt, plan_import(rows, errors)


def import_markets(
    text: str,
    *,
    fmt: str | None = None,
    source: str,
    triggered_by: str,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import a market-data file: all rows, or none when any row is bad.

    With ``skip_invalid`` the good rows are applied and the bad ones still
    reported. Rows no asset can be matched to with confidence wait for staff
    to map them and never hold back the rest. Importing the same file twice
    changes nothing the second time. Raises FormatError when the file as a
    whole cannot be read.
    """
    started = timezone.now()
    fmt, plan = preview_markets(text, fmt=fmt)
    rejected = bool(plan.errors) and not skip_invalid
    with transaction.atomic():
        if not rejected:
            apply_plan(plan)
        status = ImportRun.Status.REJECTED if rejected else ImportRun.Status.APPLIED
        run = record_run(
            plan,
            source=source,
            fmt=fmt,
            triggered_by=triggered_by,
            status=status,
            started=started,
        )
        if not rejected:
            # Prices, caps and tiers moved: alerts are evaluated once it commits.
            from alerts import hooks  # alerts read portfolios and market data

            hooks.market_changed()
    report = ImportReport.from_plan(plan, fmt, applied=not rejected)
    report.run = run
    return report


@transaction.atomic
def apply_category_mapping(path: Path) -> int:
    """Create a mapping file's categories and set each listed asset's categories."""
    with path.open(encoding="utf-8") as fh:
        mapping = json.load(fh)
    for item in mapping["categories"]:
        Category.objects.update_or_create(
            slug=item["slug"],
            defaults={"name": item["name"], "is_stablecoin": item["is_stablecoin"]},
        )
    categories = dict(Category.objects.values_list("slug", "pk"))
    assets = dict(
        Asset.objects.filter(slug__in=mapping["assets"]).values_list("slug", "pk")
    )
    through = Asset.categories.through
    through.objects.filter(asset_id__in=assets.values()).delete()
    through.objects.bulk_create(
        [
            through(asset_id=assets[slug], category_id=categories[cat])
            for slug, cats in mapping["assets"].items()
            if slug in assets
            for cat in cats
        ]
    )
    refresh_market_state(asset_ids=[], caps_changed=False)
    # Stablecoin membership decides a holding's bucket on every past day too.
    announce_snapshots(asset_ids=assets.values(), since=None)
    return len(assets)


def load_bundled_market_data(
    *, triggered_by: str = "load_market_data"
) -> dict[str, int]:
    """Load the bundled daily history, the CoinGecko snapshot and the category mapping.

    Idempotent: a second run finds every row unchanged and writes no duplicates.
    """
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for path in (BUNDLED_HISTORY, BUNDLED_MARKETS):
        report = import_markets(
            path.read_text(encoding="utf-8"),
            source=path.name,
            triggered_by=triggered_by,
        )
        if not report.applied:
            raise FormatError(
                f"Bundled file {path.name} has bad rows: {report.errors[:3]}"
            )
        for key in counts:
            counts[key] += getattr(report, key)
    counts["categorised"] = apply_category_mapping(BUNDLED_CATEGORIES)
    counts["assets"] = Asset.objects.count()
    return counts


UNLOCK_HEADER = "asset,date,amount,note"


@dataclass
class UnlockReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    run: ImportRun | None = None

    @property
    def unchanged(self) -> int:
        return 0 if self.errors else self.rows - self.created - self.updated


UNLOCK_FORMAT = "unlocks"


def import_unlocks(
    text: str, *, source: str = "unlocks.csv", triggered_by: str = "import_unlocks"
) -> UnlockReport:
    """Import a token unlock schedule CSV (asset,date,amount,note): all rows or none.

    An unlock is identified by asset and date, so importing again updates it.
    The import is recorded as an ImportRun, with the unlocks or without them.
    """
    with transaction.atomic():
        report = _apply_unlocks(text)
        report.run = ImportRun.objects.create(
            source=shown(source, 499),
            format=UNLOCK_FORMAT,
            triggered_by=triggered_by[:150],
            status=ImportRun.Status.REJECTED
            if report.errors
            else ImportRun.Status.APPLIED,
            finished=timezone.now(),
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            skipped=len({e.position for e in report.errors}),
            errors=[stored_error(e) for e in report.errors[:1000]],
        )
    return report


# Unlock schedules run years ahead, but not centuries.
UNLOCK_HORIZON = timedelta(days=100 * 365)


def _apply_unlocks(text: str) -> UnlockReport:
    report = UnlockReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"asset", "date", "amount"} - set(reader.fieldnames or [])
    if missing:
        raise FormatError(
            f"Missing column(s): {', '.join(sorted(missing))}; use {UNLOCK_HEADER}"
        )
    try:
        # reader.line_num, not a count of rows: blank lines are skipped.
        raw_rows = [(reader.line_num, raw) for raw in reader]
    except csv.Error as exc:  # a field past csv.field_size_limit, …
        raise FormatError(
            f"Line {reader.line_num} cannot be read as CSV: {exc}."
        ) from exc
    report.rows = len(raw_rows)
    texts = [
        {name: (raw.get(name) or "").strip() for name in ("asset", "date", "note")}
        for _, raw in raw_rows
    ]
    # Only ids that can be stored are looked up: PostgreSQL refuses a NUL byte.
    assets = Asset.objects.in_bulk(
        {t["asset"] for t in texts if not text_problem(t["asset"], 200)},
        field_name="slug",
    )
    today = timezone.now().date()
    parsed: dict[tuple[int, date], tuple[Decimal, str]] = {}
    for (line, raw), cells in zip(raw_rows, texts, strict=True):
        position = f"line {line}"
        for name, limit in (("asset", 200), ("note", 200)):
            if problem := text_problem(cells[name], limit):
                report.errors.append(RowError(position, name, problem))
        asset = assets.get(cells["asset"])
        if asset is None and not text_problem(cells["asset"], 200):
            report.errors.append(
                RowError(position, "asset", f"Unknown asset “{shown(cells['asset'])}”.")
            )
        try:
            when = date.fromisoformat(cells["date"][:32])
        except ValueError:
            report.errors.append(
                RowError(position, "date", f"“{shown(cells['date'])}” is not a date.")
            )
            when = None
        if when is not None and not (
            metrics.EARLIEST.date() <= when <= today + UNLOCK_HORIZON
        ):
            report.errors.append(
                RowError(
                    position,
                    "date",
                    f"{when} is not a plausible unlock date (from "
                    f"{metrics.EARLIEST:%Y-%m-%d}, within {UNLOCK_HORIZON.days // 365} "
                    "years from today).",
                )
            )
            when = None
        found: list[RowError] = []
        amount = parse_number(raw.get("amount"), "amount", position, found)
        if not found and not amount:
            reason = "Missing amount." if amount is None else "Must be more than zero."
            found.append(RowError(position, "amount", reason))
        report.errors.extend(found)
        amount = None if found else amount
        if asset and when and amount is not None:
            if (asset.pk, when) in parsed:
                report.errors.append(
                    RowError(position, "date", "Same asset and date twice.")
                )
            parsed[(asset.pk, when)] = (amount, cells["note"])
    if report.errors:
        return report
    existing = {
        (u.asset_id, u.date): u
        for u in SupplyUnlock.objects.filter(asset_id__in={k[0] for k in parsed})
    }
    new, changed = [], []
    for (asset_id, when), (amount, note) in parsed.items():
        unlock = existing.get((asset_id, when))
        if unlock is None:
            new.append(
                SupplyUnlock(asset_id=asset_id, date=when, amount=amount, note=note)
            )
        elif unlock.amount != amount or unlock.note != note:
            unlock.amount, unlock.note = amount, note
            changed.append(unlock)
    SupplyUnlock.objects.bulk_create(new)
    SupplyUnlock.objects.bulk_update(changed, ["amount", "note"])
    if new or changed:
        refresh_market_state(asset_ids=[], caps_changed=False)
    report.created, report.updated = len(new), len(changed)
    return report
