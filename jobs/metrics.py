"""Prometheus counters for job outcomes (scraped at /metrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

if TYPE_CHECKING:
    from jobs.models import Job

JOBS = Counter(
    "capsite_jobs_total",
    "Background jobs finished, by kind and outcome.",
    ["kind", "status"],
)
JOB_SECONDS = Histogram(
    "capsite_job_seconds",
    "Time from a job's start to its end.",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)


def job_finished(job: Job) -> None:
    JOBS.labels(kind=job.kind, status=job.status).inc()
    if job.started and job.finished:
        JOB_SECONDS.labels(kind=job.kind).observe(
            (job.finished - job.started).total_seconds()
        )
