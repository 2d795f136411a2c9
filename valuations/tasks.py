"""Background work on market data: the scheduled refresh and large staff uploads."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import User
from django.urls import reverse

from jobs import services as jobs
from jobs.models import Job
from jobs.progress import Reporter
from valuations import feed
from valuations.imports.staged import NotPending, PreviewExpired, confirm_staged_import
from valuations.models import ImportRun

logger = logging.getLogger(__name__)


@shared_task(
    name="valuations.refresh_markets",
    autoretry_for=(feed.FeedError,),
    dont_autoretry_for=(feed.RefreshRunning,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=3,
)
def refresh_markets(pages: int | None = None) -> dict[str, Any]:
    """Fetch the live market pages and import them (beat runs it on a schedule).

    Never two at once: a refresh that finds another running stops at once and
    is not retried. A failed fetch is retried with backoff (30 s, 60 s, 120 s,
    with jitter). Every attempt, applied or failed, is recorded as an import run
    (valuations.feed). Alerts are evaluated after each applied import
    (valuations.imports.import_markets).
    """
    try:
        report = feed.fetch_markets(
            pages=pages or settings.MARKET_DATA_PAGES, triggered_by="celery beat"
        )
    except feed.RefreshRunning as exc:
        logger.info("market refresh skipped: %s", exc)
        return {"status": "skipped", "reason": str(exc)}
    return {
        "status": "applied",
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "skipped": report.skipped,
    }


@shared_task(name="valuations.confirm_upload")
def confirm_upload(job_id: str) -> None:
    jobs.run(job_id, _confirm)


def _confirm(job: Job, progress: Reporter) -> jobs.Outcome:
    run = ImportRun.objects.filter(pk=job.options.get("run")).first()
    if run is None:
        return _refused("This upload is gone: it was confirmed or cancelled.")
    progress(0, run.rows, "Matching rows and writing snapshots")
    try:
        report = confirm_staged_import(
            run=run,
            triggered_by=job.options.get("by", ""),
            skip_invalid=bool(job.options.get("skip_invalid")),
        )
    except NotPending:
        return _refused("This upload was already handled.")
    except PreviewExpired:
        return _refused("This preview is more than a day old; upload the file again.")
    assert report.run is not None  # import_markets records every run
    url = reverse("admin:valuations_importrun_change", args=[report.run.pk])
    result = {
        "run": report.run.pk,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "assets_created": report.assets_created,
        "summary": (
            f"Snapshots: {report.created} new, {report.updated} updated, "
            f"{report.unchanged} unchanged; {report.assets_created} new assets; "
            f"{report.skipped} bad rows skipped"
        ),
    }
    if not report.applied:
        errors = [
            {
                "line": 0,
                "field": "file",
                "message": f"{report.skipped} bad rows: nothing imported.",
            }
        ]
        return jobs.Outcome(applied=False, result=result, errors=errors, result_url=url)
    return jobs.Outcome(applied=True, result=result, result_url=url)


def _refused(message: str) -> jobs.Outcome:
    return jobs.Outcome(
        applied=False, errors=[{"line": 0, "field": "upload", "message": message}]
    )


def start_confirm(*, run: ImportRun, user: User, skip_invalid: bool) -> Job:
    return jobs.start(
        owner=user,
        kind=Job.Kind.MARKET_UPLOAD,
        title=f"Importing market data from {run.source}",
        task=confirm_upload,
        options={
            "run": run.pk,
            "skip_invalid": skip_invalid,
            "by": user.get_username(),
        },
        total=run.rows,
    )
