"""Where a Celery task runs: on a worker when a broker is set, else in this process.

``enqueue`` is the one way code starts background work. With CELERY_BROKER_URL
the task goes to the broker once the current transaction commits (a worker
never looks for rows that are not there yet). Without one (``make run``, the
embedded default) it runs in a background thread of the web process, so pages
can still show progress; CAPSITE_JOBS_INLINE runs it at once in the caller's
thread instead (tests, management commands).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from celery import Task
from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any) -> None:
    """Run ``task(*args)`` in the background after the current transaction commits."""
    transaction.on_commit(lambda: _send(task, args))


def _send(task: Task, args: tuple[Any, ...]) -> None:
    if settings.CELERY_BROKER_URL:
        task.apply_async(args=args)
    elif settings.CAPSITE_JOBS_INLINE:
        task.apply(args=args, throw=False)
    else:
        _threads().submit(_run_here, task, args)


@cache
def _threads() -> ThreadPoolExecutor:
    # One thread: in-process jobs run one after another, as on a single worker,
    # and an SQLite database never sees two of them write at once.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="capsite-job")


def _run_here(task: Task, args: tuple[Any, ...]) -> None:
    try:
        task.apply(args=args, throw=False)
    except Exception:  # a thread's exception is otherwise lost with its future
        logger.exception("in-process task %s failed", task.name)
    finally:
        connections.close_all()  # this thread's own connections
