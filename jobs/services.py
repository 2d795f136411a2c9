"""Start a job, and run one: the bookkeeping every background job shares."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from celery import Task
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from capsite import jobs as runner
from jobs import metrics
from jobs.models import Job
from jobs.progress import Reporter

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a job's work returns: applied (done) or refused (failed), and why."""

    applied: bool
    result: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    result_url: str = ""


def start(
    *,
    owner: User,
    kind: str,
    title: str,
    task: Task,
    payload: str = "",
    options: dict[str, Any] | None = None,
    total: int = 0,
) -> Job:
    """Record a job and hand it to a worker (or this process) once committed."""
    with transaction.atomic():
        job = Job.objects.create(
            owner=owner,
            kind=kind,
            title=title[:300],
            payload=payload,
            options=options or {},
            total=total,
        )
        runner.enqueue(task, str(job.pk))
    return job


def run(job_id: UUID | str, work: Callable[[Job, Reporter], Outcome]) -> Job | None:
    """Run ``work`` for the job: mark it running, then done or failed.

    Only a queued job is run: one already claimed (a task delivered twice) or
    gone (its owner was deleted) is left alone, so a file is never applied twice. An unexpected error fails the job with a plain
    message for its owner; the traceback goes to the log.
    """
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started=timezone.now()
    )
    job = Job.objects.filter(pk=job_id).first() if claimed else None
    if job is None:
        return None
    reporter = Reporter(job.pk)
    reporter(0, job.total, "Starting")
    try:
        outcome = work(job, reporter)
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        outcome = Outcome(
            applied=False,
            errors=[
                {
                    "line": 0,
                    "field": "job",
                    "message": "The job stopped on an unexpected error; nothing "
                    "was applied. Try again, or tell us if it happens again.",
                }
            ],
        )
    job.status = Job.Status.DONE if outcome.applied else Job.Status.FAILED
    job.result = outcome.result
    job.errors = outcome.errors
    job.result_url = outcome.result_url
    job.done = reporter.last["total"] if outcome.applied else reporter.last["done"]
    job.total = reporter.last["total"]
    job.stage = "Finished" if outcome.applied else "Stopped"
    job.payload = ""  # the file is applied or refused: no need to keep it
    job.finished = timezone.now()
    job.save()
    metrics.job_finished(job)
    return job
