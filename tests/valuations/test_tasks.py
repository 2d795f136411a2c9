"""Market data in the background: the scheduled refresh and large staff uploads."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from capsite.celery import app as celery_app
from jobs.models import Job
from tests.valuations.markets import _coingecko
from tests.valuations.test_feed import PAGE_SHORT, Reply, _held_by_another_thread
from valuations import tasks
from valuations.models import Asset, ImportRun

pytestmark = pytest.mark.django_db


def test_beat_runs_the_refresh_task_on_the_configured_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["market-refresh"]

    assert entry["task"] == tasks.refresh_markets.name
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == settings.MARKET_DATA_REFRESH_SECONDS == 600


def test_the_refresh_task_imports_and_records_an_applied_run(market_api):
    market_api.script(Reply(body=PAGE_SHORT))

    outcome = tasks.refresh_markets.apply().get()

    assert outcome == {
        "status": "applied",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "skipped": 0,
    }
    run = ImportRun.objects.get()
    assert (run.status, run.triggered_by) == (ImportRun.Status.APPLIED, "celery beat")


def test_a_failed_refresh_is_retried_and_each_attempt_is_recorded(market_api, settings):
    settings.MARKET_DATA_RETRIES = 0
    # A 400 is not retried by the HTTP client: the task's own retry takes over.
    market_api.script(Reply(status=400, body=b"{}"), Reply(body=PAGE_SHORT))

    outcome = tasks.refresh_markets.apply().get()

    assert outcome["status"] == "applied"
    statuses = list(
        ImportRun.objects.order_by("started").values_list("status", flat=True)
    )
    assert statuses == [ImportRun.Status.FAILED, ImportRun.Status.APPLIED]


def test_a_refresh_that_finds_another_running_stops_without_retrying(market_api):
    with _held_by_another_thread("market-refresh") as held:
        assert held
        outcome = tasks.refresh_markets.apply().get()

    assert outcome["status"] == "skipped"
    assert "Another market refresh is running" in outcome["reason"]
    assert market_api.seen == []  # not fetched, not retried
    assert Asset.objects.count() == 0


def test_a_large_staff_upload_is_applied_by_a_job_with_its_result_linked(
    staff_client: Client, settings, django_capture_on_commit_callbacks
):
    settings.CAPSITE_IMPORT_JOB_LINES = 1
    markets = [_coingecko("bitcoin", current_price="76134"), _coingecko("ethereum")]
    staff_client.post(
        reverse("admin:valuations_importrun_upload"),
        {"file": _upload_file(json.dumps(markets))},
    )
    run = ImportRun.objects.get(status=ImportRun.Status.PENDING)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:valuations_importrun_preview", args=[run.pk]),
            {"confirm": "Confirm import"},
        )

    job = Job.objects.get()
    applied = ImportRun.objects.get(status=ImportRun.Status.APPLIED)
    page = staff_client.get(response["Location"])
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.status, job.total) == ("market_upload", "done", 2)
    assert job.result["created"] == 2
    assert Asset.objects.count() == 2
    assert job.result_url == reverse(
        "admin:valuations_importrun_change", args=[applied.pk]
    )
    assert "Snapshots: 2 new, 0 updated, 0 unchanged; 2 new assets" in page.text


def _upload_file(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("top.json", text.encode(), "application/json")
