"""Live progress of running jobs, in the shared cache.

A job's work may run inside one database transaction (an import is all or
nothing), where its own writes are invisible to others; progress goes to the
cache, which the web processes read. With REDIS_URL the cache is shared by
every app server and worker; without it (one process, `make run`) the
local-memory cache is, since the job runs in a thread of the web process.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from django.core.cache import cache

KEEP_SECONDS = 24 * 3600
EVERY_SECONDS = 0.2  # at most five writes a second, however fast the rows go


def _key(job_id: UUID | str) -> str:
    return f"job-progress:{job_id}"


def read(job_id: UUID | str) -> dict[str, Any] | None:
    value = cache.get(_key(job_id))
    return value if isinstance(value, dict) else None


class Reporter:
    """Tell watchers how far a job is: ``reporter(done, total, stage)``."""

    def __init__(self, job_id: UUID | str) -> None:
        self.job_id = job_id
        self.last: dict[str, Any] = {"done": 0, "total": 0, "stage": ""}
        self._sent_at = 0.0

    def __call__(self, done: int, total: int, stage: str = "") -> None:
        stage = stage or self.last["stage"]
        moved_on = stage != self.last["stage"] or done >= total
        self.last = {"done": done, "total": total, "stage": stage}
        now = time.monotonic()
        if moved_on or now - self._sent_at >= EVERY_SECONDS:
            cache.set(_key(self.job_id), self.last, KEEP_SECONDS)
            self._sent_at = now
