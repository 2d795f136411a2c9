"""Background work on portfolios: large ledger imports (capsite.jobs runs them)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.urls import reverse

from jobs import services as jobs
from jobs.models import Job
from jobs.progress import Reporter
from portfolios import imports
from portfolios.models import Portfolio


@shared_task(name="portfolios.import_transactions")
def import_transactions(job_id: str) -> None:
    jobs.run(job_id, _import)


def _import(job: Job, progress: Reporter) -> jobs.Outcome:
    portfolio = Portfolio.objects.filter(
        pk=job.options.get("portfolio"), owner=job.owner_id
    ).first()
    if portfolio is None:
        return jobs.Outcome(
            applied=False,
            errors=[
                {
                    "line": 0,
                    "field": "portfolio",
                    "message": "The portfolio was deleted.",
                }
            ],
        )
    report = imports.import_transactions(
        portfolio=portfolio,
        text=job.payload,
        fmt=job.options.get("format") or None,
        progress=progress,
    )
    skipped = [vars(e) for e in report.skipped]
    if not report.ok:
        return jobs.Outcome(
            applied=False,
            result={"format": report.format, "created": 0, "skipped": skipped},
            errors=[vars(e) for e in report.errors],
            result_url=reverse("portfolios:transaction-import", args=[portfolio.pk]),
        )
    return jobs.Outcome(
        applied=True,
        result={"format": report.format, "created": report.created, "skipped": skipped},
        result_url=reverse("portfolios:transactions", args=[portfolio.pk]),
    )


def start_import(*, portfolio: Portfolio, text: str, fmt: str | None) -> Job:
    """Import a ledger file in the background; return the job to watch."""
    rows = max(text.count("\n") - 1, 0)  # an estimate until the file is read
    return jobs.start(
        owner=portfolio.owner,
        kind=Job.Kind.TRANSACTION_IMPORT,
        title=f"Importing about {rows:,} rows into ‘{portfolio.name}’",
        task=import_transactions,
        payload=text,
        options={"portfolio": portfolio.pk, "format": fmt or ""},
        total=rows,
    )


def in_background(text: str, *, asked: bool = False) -> bool:
    """Whether a file is imported as a job: asked for, or too long for a request."""
    return asked or text.count("\n") > settings.CAPSITE_IMPORT_JOB_LINES
