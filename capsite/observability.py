"""What an operator watches: health probes, Prometheus metrics, request logs.

- ``/healthz``: the process answers (no database touched), for a liveness probe.
- ``/readyz``: the database, the cache and the broker answer; 503 naming the
  one that does not, for a load balancer's readiness check.
- ``/metrics``: django-prometheus's request, latency and query metrics, the job
  counters (jobs.metrics) and the age of the market data. Under gunicorn with
  PROMETHEUS_MULTIPROC_DIR set, every worker's numbers are summed.
- One JSON access-log line per request with its request id (django-guid takes
  it from X-Request-ID or makes one, and echoes it) and the user's id.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, empty
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from capsite import logcontext
from capsite.clientip import client_ip

access_log = logging.getLogger("capsite.access")
logger = logging.getLogger(__name__)


# Probes -----------------------------------------------------------------------------


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database, "cache": _cache}
    if settings.CELERY_BROKER_URL:  # else tasks run in this process: no broker
        checks["broker"] = _broker
    results = {name: check() for name, check in checks.items()}
    ready = all(problem is None for problem in results.values())
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {name: problem or "ok" for name, problem in results.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready", never a 500
        logger.warning("readyz: database: %s", exc)
        return f"unreachable ({type(exc).__name__})"
    return None


def _cache() -> str | None:
    try:
        cache.set("readyz", "1", 10)
        if cache.get("readyz") != "1":
            return "does not keep values"
    except Exception as exc:
        logger.warning("readyz: cache: %s", exc)
        return f"unreachable ({type(exc).__name__})"
    return None


def _broker() -> str | None:
    from capsite.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        logger.warning("readyz: broker: %s", exc)
        return f"unreachable ({type(exc).__name__})"
    return None


# Metrics ----------------------------------------------------------------------------


class MarketDataAge(Collector):
    """Seconds since the newest market data, read when scraped (one row by key)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from valuations.state import current_state

        gauge = GaugeMetricFamily(
            "capsite_market_data_age_seconds",
            "Seconds since the newest market data was updated (NaN: none yet).",
        )
        try:
            as_of = current_state().as_of
        except Exception as exc:  # a scrape reports what it can, never a 500
            logger.warning("metrics: market data age unknown: %s", exc)
            as_of = None
        age = (timezone.now() - as_of).total_seconds() if as_of else float("nan")
        gauge.add_metric([], age)
        yield gauge


# auto_describe off: describing would run the query once at import.
_scraped_live = CollectorRegistry(auto_describe=False)
_scraped_live.register(MarketDataAge())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. With CAPSITE_METRICS_TOKEN set, a bearer token is needed."""
    token = settings.CAPSITE_METRICS_TOKEN
    if token and request.headers.get("Authorization", "") != f"Bearer {token}":
        return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_scraped_live)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


# Logs -------------------------------------------------------------------------------


# Secrets that travel in paths (share links, email confirmation links) stay out of logs.
_SECRET_IN_PATH = re.compile(r"(/share/|/accounts/confirm/[^/]+/)[^/]+")


def _loggable(path: str) -> str:
    return _SECRET_IN_PATH.sub(r"\1…", path)


def _known_user_id(request: HttpRequest) -> int | None:
    """The user's id if the request already knows who it is, without a query.

    Django's user is lazy: asking a page that never looked would cost a session
    and a user query. DRF sets the user it authenticated (a token) in the view.
    """
    user = request.__dict__.get("user")
    if user is None or (
        isinstance(user, SimpleLazyObject) and user._wrapped is empty  # type: ignore[attr-defined]
    ):
        return None
    return user.pk if user.is_authenticated else None


class AccessLogMiddleware:
    """Log one line per request: method, path, status, duration, client, user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        token = logcontext.user_id.set(None)
        try:
            response = self.get_response(request)
            user_id = _known_user_id(request)
            logcontext.user_id.set(user_id)
            path = _loggable(request.path)
            access_log.info(
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client": client_ip(request),
                    "user_id": user_id,
                },
            )
            return response
        finally:
            logcontext.user_id.reset(token)
