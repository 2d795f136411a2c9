"""Operating it: health probes, Prometheus metrics, request ids and JSON access logs.

Before issue 13 /health/ and /metrics were 404 and logs had no timestamp,
level or request id.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from jobs import services as job_services
from jobs.models import Job
from valuations.state import refresh_market_state

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: pytest-django makes any query here raise.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_cache(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_naming_a_database_that_does_not_answer(client, monkeypatch):
    from capsite import observability

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(observability.connection, "cursor", down)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable (OperationalError)"
    assert response.json()["checks"]["cache"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_naming_a_broker_that_does_not_answer(client, settings):
    from capsite.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = ""

    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert response.json()["checks"]["broker"].startswith("unreachable")


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.django_db
def test_metrics_count_requests_by_view_and_status_and_database_queries(client):
    client.get("/api/v1/market/")
    before = _metric(
        client.get("/metrics").text,
        "django_http_responses_total_by_status_view_method_total",
        view="api:market",
        status="200",
    )
    client.get("/api/v1/market/")

    text = client.get("/metrics").text

    after = _metric(
        text,
        "django_http_responses_total_by_status_view_method_total",
        view="api:market",
        status="200",
    )
    assert after == (before or 0) + 1
    assert _metric(
        text,
        "django_http_requests_latency_seconds_by_view_method_count",
        view="api:market",
    )
    assert _metric(text, "django_db_execute_total") is not None


@pytest.mark.django_db
def test_metrics_give_the_age_of_the_market_data(client):
    from tests.factories import AssetFactory

    AssetFactory(last_updated=timezone.now() - timedelta(seconds=90))
    refresh_market_state()

    age = _metric(client.get("/metrics").text, "capsite_market_data_age_seconds")

    assert age is not None and 90 <= age < 150


@pytest.mark.django_db
def test_metrics_count_job_outcomes(client, user):
    def metric(status: str) -> float:
        text = client.get("/metrics").text
        return (
            _metric(
                text, "capsite_jobs_total", kind="transaction_import", status=status
            )
            or 0
        )

    before = metric("failed")
    job = Job.objects.create(owner=user, kind=Job.Kind.TRANSACTION_IMPORT, title="t")
    job_services.run(job.pk, lambda job, report: job_services.Outcome(applied=False))

    assert metric("failed") == before + 1


@pytest.mark.django_db
def test_metrics_want_the_bearer_token_when_one_is_set(client, settings):
    settings.CAPSITE_METRICS_TOKEN = "s3cret"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


# Request ids and the access log


@pytest.mark.django_db
def test_a_request_id_is_taken_from_the_header_and_echoed(client):
    given = "0123456789abcdef0123456789abcdef"

    response = client.get("/api/v1/market/", HTTP_X_REQUEST_ID=given)

    assert response["X-Request-ID"] == given


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "not-a-uuid", "x" * 5000, "\x00"])
def test_a_missing_or_unusable_request_id_is_replaced_by_a_new_one(client, header):
    extra = {"HTTP_X_REQUEST_ID": header} if header is not None else {}

    first = client.get("/api/v1/market/", **extra)["X-Request-ID"]
    second = client.get("/api/v1/market/", **extra)["X-Request-ID"]

    assert HEX32.match(first) and HEX32.match(second)
    assert first != second


@pytest.mark.django_db
def test_each_request_logs_one_access_line_with_its_id_user_status_and_time(
    user, caplog
):
    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    given = "fedcba9876543210fedcba9876543210"

    with caplog.at_level(logging.INFO, logger="capsite.access"):
        api.get("/api/v1/portfolios/", HTTP_X_REQUEST_ID=given)

    [line] = [r for r in caplog.records if r.name == "capsite.access"]
    assert line.getMessage() == "GET /api/v1/portfolios/ 200"
    assert (line.method, line.path, line.status) == ("GET", "/api/v1/portfolios/", 200)
    assert line.user_id == user.pk  # DRF's token user, known after the view
    assert line.duration_ms >= 0
    assert line.client == "127.0.0.1"


def test_the_json_format_has_timestamp_level_request_id_and_user(settings):
    from logging.config import dictConfig

    from django_guid import set_guid

    config = json.loads(json.dumps(settings.LOGGING))
    config["handlers"]["console"]["formatter"] = "json"
    config["handlers"]["console"]["class"] = "logging.StreamHandler"
    stream = __import__("io").StringIO()
    config["handlers"]["console"]["stream"] = stream
    config["root"]["level"] = "INFO"
    dictConfig(config)
    try:
        set_guid("0123456789abcdef0123456789abcdef")
        logging.getLogger("capsite.test").info(
            "hello %s", "world", extra={"status": 201}
        )
        line = json.loads(stream.getvalue().splitlines()[-1])
    finally:
        set_guid(None)
        dictConfig(settings.LOGGING)

    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == "capsite.test"
    assert line["request_id"] == "0123456789abcdef0123456789abcdef"
    assert line["status"] == 201
    assert "user_id" in line
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$", line["timestamp"])


def test_the_probes_are_not_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()

    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/market/").status_code == 301


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/share/s3cr3t-t0ken/", "/share/…/"),
        ("/api/v1/share/s3cr3t-t0ken/", "/api/v1/share/…/"),
        ("/accounts/confirm/MQ/abc-123/", "/accounts/confirm/MQ/…/"),
    ],
)
def test_secrets_in_paths_stay_out_of_the_access_log(client, caplog, path, logged):
    with caplog.at_level(logging.INFO, logger="capsite.access"):
        client.get(path)

    [line] = [r for r in caplog.records if r.name == "capsite.access"]
    assert line.path == logged
    assert "s3cr3t" not in line.getMessage() and "abc-123" not in line.getMessage()
