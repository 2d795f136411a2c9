"""Staged market-data uploads: keep a file as a pending run, then confirm or cancel it.

Staff upload a file, see what it would change, and only then apply it. Between
the two steps the file waits in a pending ImportRun's payload; a preview older
than PREVIEW_TTL can no longer be confirmed and the next upload cancels it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from valuations.imports import ImportReport, import_markets, preview_markets
from valuations.imports.apply import ImportPlan, plan_import, record_run
from valuations.imports.formats import MarketRow, RowError, detect_format, parse
from valuations.models import ImportRun

__all__ = [
    "PREVIEW_TTL",
    "NotPending",
    "PreviewExpired",
    "StagedImportError",
    "StagedPreview",
    "cancel_staged_import",
    "check_pending",
    "confirm_staged_import",
    "expire_stale_previews",
    "is_preview_expired",
    "preview_staged_import",
    "stage_upload",
]

# A preview older than this can no longer be confirmed; the next upload cancels
# it and drops its stored file.
PREVIEW_TTL = timedelta(days=1)


class StagedImportError(Exception):
    """A staged upload that cannot be confirmed."""


class NotPending(StagedImportError):
    """The run is no longer waiting: it was confirmed, cancelled or expired."""


class PreviewExpired(StagedImportError):
    """The run is still pending, but its preview is older than PREVIEW_TTL."""


@dataclass
class StagedPreview:
    """What a pending run's file would change if it were confirmed now."""

    format: str
    plan: ImportPlan
    # Each unmatched row's error with the row it came from (None if not found).
    unmatched: list[tuple[RowError, MarketRow | None]] = field(default_factory=list)


def is_preview_expired(*, run: ImportRun, now: datetime | None = None) -> bool:
    """Return True when the run was staged more than PREVIEW_TTL before ``now``.

    Exactly PREVIEW_TTL old is still valid: only older previews expire.
    """
    return run.started < (now or timezone.now()) - PREVIEW_TTL


def check_pending(*, run: ImportRun) -> None:
    """Do nothing when the run can still be previewed and confirmed.

    Raises NotPending when the run is no longer waiting, and PreviewExpired
    when it waits but its preview is too old.
    """
    if run.status != ImportRun.Status.PENDING:
        raise NotPending(run.get_status_display())
    if is_preview_expired(run=run):
        raise PreviewExpired(run.source)


@transaction.atomic
def expire_stale_previews(*, now: datetime | None = None) -> int:
    """Cancel every pending run older than PREVIEW_TTL and drop its stored file.

    Returns the number of runs cancelled. Other runs are left as they are.
    """
    now = now or timezone.now()
    return ImportRun.objects.filter(
        status=ImportRun.Status.PENDING, started__lt=now - PREVIEW_TTL
    ).update(status=ImportRun.Status.CANCELLED, payload="", finished=now)


@transaction.atomic
def stage_upload(
    *, text: str, source: str, triggered_by: str, fmt: str | None = None
) -> ImportRun:
    """Keep a market-data file as a pending ImportRun without applying it.

    Returns the pending run, whose counts say what the file would change. Stale
    previews are cancelled on the way, so their files are not kept forever.
    Raises FormatError (and stores nothing) when the file cannot be read.
    """
    fmt, plan = preview_markets(text, fmt=fmt or None)
    expire_stale_previews()
    return record_run(
        plan,
        source=source,
        fmt=fmt,
        triggered_by=triggered_by,
        status=ImportRun.Status.PENDING,
        payload=text,
    )


def preview_staged_import(*, run: ImportRun) -> StagedPreview:
    """Plan a pending run's file again, without writing anything.

    Returns the file's format, the plan, and each unmatched row with its parsed
    row. Planned on every call: a provider id mapped since the upload counts.
    """
    fmt = run.format or detect_format(run.payload)
    rows, errors = parse(run.payload, fmt)
    plan = plan_import(rows, errors)
    by_position = {row.position: row for row in rows}
    unmatched = [(error, by_position.get(error.position)) for error in plan.unmatched]
    return StagedPreview(format=fmt, plan=plan, unmatched=unmatched)


@transaction.atomic
def confirm_staged_import(
    *, run: ImportRun, triggered_by: str, skip_invalid: bool = False
) -> ImportReport:
    """Import a pending run's file and delete the pending run.

    Returns the import's report; its ``run`` is the new applied (or rejected)
    run, recorded by ``import_markets``. Raises NotPending when the run was
    already confirmed or cancelled, PreviewExpired when its preview is too old;
    either way nothing is written.
    """
    # The lock makes a double-click import once: the second request waits,
    # then finds the pending run gone.
    pending = (
        ImportRun.objects.select_for_update()
        .filter(pk=run.pk, status=ImportRun.Status.PENDING)
        .first()
    )
    if pending is None:
        raise NotPending(run.source)
    if is_preview_expired(run=pending):
        raise PreviewExpired(pending.source)
    report = import_markets(
        pending.payload,
        fmt=pending.format,
        source=pending.source,
        triggered_by=triggered_by,
        skip_invalid=skip_invalid,
    )
    # The import recorded its own run; the preview's has served its turn.
    pending.delete()
    return report


@transaction.atomic
def cancel_staged_import(*, run: ImportRun) -> bool:
    """Cancel a pending run and drop its stored file; nothing is imported.

    Returns True when the run was pending and is now cancelled, False when it
    had already been confirmed, cancelled or expired (then nothing changes).
    """
    # Conditional update: a second click, or a confirm racing it, does nothing.
    cancelled = ImportRun.objects.filter(
        pk=run.pk, status=ImportRun.Status.PENDING
    ).update(status=ImportRun.Status.CANCELLED, payload="", finished=timezone.now())
    return cancelled == 1
