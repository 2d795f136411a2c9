"""Large imports run as jobs a person can watch: the API resource, the page, the rules.

Before issue 13 every import ran inside its request with no progress shown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client

from jobs import progress, services
from jobs.models import Job
from portfolios import tasks
from portfolios.models import Transaction
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db

HEADER = "executed_at,asset,kind,quantity,unit_price,fee,note\n"
START = datetime(2025, 1, 1, tzinfo=UTC)


def _ledger(rows: int, *, bad_line: int | None = None) -> str:
    lines = [HEADER]
    for n in range(rows):
        quantity = "lots" if bad_line == n + 2 else "0.5"
        at = (START + timedelta(hours=n)).isoformat()
        lines.append(f"{at},coin,buy,{quantity},100,0,\n")
    return "".join(lines)


@pytest.fixture
def coin():
    return AssetFactory(slug="coin", symbol="cn", name="Coin")


def _import_url(portfolio) -> str:
    return f"/api/v1/portfolios/{portfolio.pk}/transactions/import/"


def _send(client, portfolio, text: str, **headers):
    return client.generic(
        "POST", _import_url(portfolio), text, content_type="text/csv", **headers
    )


# The API ------------------------------------------------------------------------


def test_prefer_respond_async_answers_202_with_the_job_and_applies_nothing_yet(
    api_client, portfolio, coin
):
    response = _send(api_client, portfolio, _ledger(3), HTTP_PREFER="respond-async")

    job = Job.objects.get()
    body = response.json()["job"]
    assert response.status_code == 202
    assert response["Location"] == f"http://testserver/api/v1/jobs/{job.pk}/"
    assert response["Preference-Applied"] == "respond-async"
    assert body["status"] == "queued"
    assert body["total"] == 3
    assert body["page"] == f"http://testserver/jobs/{job.pk}/"
    # It runs once the request's transaction commits, never inside it.
    assert Transaction.objects.count() == 0


def test_a_job_runs_after_commit_and_its_resource_says_what_it_did(
    api_client, portfolio, coin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(api_client, portfolio, _ledger(3), HTTP_PREFER="respond-async")

    job = api_client.get(response["Location"]).json()
    assert job["status"] == "done"
    assert (job["done"], job["total"], job["percent"]) == (3, 3, 100)
    assert job["result"] == {"format": "capsite", "created": 3, "skipped": []}
    assert job["errors"] == []
    assert job["result_url"] == f"/portfolios/{portfolio.pk}/transactions/"
    assert Transaction.objects.filter(portfolio=portfolio).count() == 3


def test_a_file_over_the_line_limit_is_a_job_without_asking(
    api_client, portfolio, coin, settings, django_capture_on_commit_callbacks
):
    settings.CAPSITE_IMPORT_JOB_LINES = 4
    small = _send(api_client, portfolio, _ledger(3))  # 4 lines: in the request
    with django_capture_on_commit_callbacks(execute=True):
        large = _send(api_client, portfolio, _ledger(4))  # 5 lines: a job

    assert small.status_code == 201
    assert large.status_code == 202
    assert Transaction.objects.count() == 7


def test_a_refused_file_fails_the_job_with_every_bad_line_and_applies_nothing(
    api_client, portfolio, coin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(
            api_client, portfolio, _ledger(5, bad_line=4), HTTP_PREFER="respond-async"
        )

    job = api_client.get(response["Location"]).json()
    assert job["status"] == "failed"
    assert job["errors"] == [
        {"line": 4, "field": "quantity", "message": "“lots” is not a number."}
    ]
    assert job["result"]["created"] == 0
    assert Transaction.objects.count() == 0


def test_a_running_job_shows_the_live_progress_from_the_cache(api_client, user):
    job = Job.objects.create(
        owner=user, kind=Job.Kind.TRANSACTION_IMPORT, title="t", total=20_000
    )
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    progress.Reporter(job.pk)(12_500, 20_000, "Step 3 of 4: saving transactions")

    body = api_client.get(f"/api/v1/jobs/{job.pk}/").json()

    assert (body["status"], body["done"], body["total"]) == ("running", 12_500, 20_000)
    assert body["percent"] == 62
    assert body["stage"] == "Step 3 of 4: saving transactions"


def test_the_job_list_is_newest_first_and_only_ones_own(api_client, user, other_user):
    mine = [
        Job.objects.create(owner=user, kind=Job.Kind.TRANSACTION_IMPORT, title=t)
        for t in ("first", "second")
    ]
    Job.objects.create(owner=other_user, kind=Job.Kind.TRANSACTION_IMPORT, title="x")

    body = api_client.get("/api/v1/jobs/").json()

    assert [j["id"] for j in body["results"]] == [str(mine[1].pk), str(mine[0].pk)]


def test_another_users_job_is_404_in_the_api_and_on_the_page(
    other_api_client, other_user, user
):
    job = Job.objects.create(owner=user, kind=Job.Kind.TRANSACTION_IMPORT, title="t")
    page = Client()
    page.force_login(other_user)

    assert other_api_client.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert page.get(f"/jobs/{job.pk}/").status_code == 404


def test_jobs_need_a_login(anon_client, user):
    job = Job.objects.create(owner=user, kind=Job.Kind.TRANSACTION_IMPORT, title="t")

    assert anon_client.get("/api/v1/jobs/").status_code == 401
    assert anon_client.get(f"/api/v1/jobs/{job.pk}/").status_code == 401
    assert Client().get(f"/jobs/{job.pk}/").status_code == 302


# The rules every job follows -------------------------------------------------------


def test_a_job_delivered_twice_imports_once(portfolio, coin):
    job = tasks.start_import(portfolio=portfolio, text=_ledger(2), fmt=None)

    tasks.import_transactions.apply(args=[str(job.pk)])
    tasks.import_transactions.apply(args=[str(job.pk)])

    assert Transaction.objects.count() == 2
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.payload == ""  # the file is not kept once applied


def test_an_unexpected_error_fails_the_job_with_a_plain_message(user, caplog):
    job = Job.objects.create(owner=user, kind=Job.Kind.TRANSACTION_IMPORT, title="t")

    def broken(job, report):
        raise RuntimeError("disk on fire")

    services.run(job.pk, broken)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.errors[0]["message"].startswith("The job stopped on an unexpected error")
    assert "disk on fire" not in str(job.errors)
    assert "disk on fire" in caplog.text  # the traceback goes to the log


def test_a_job_whose_portfolio_was_deleted_fails_saying_so(portfolio, coin):
    job = tasks.start_import(portfolio=portfolio, text=_ledger(2), fmt=None)
    portfolio.delete()

    tasks.import_transactions.apply(args=[str(job.pk)])

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.errors[0]["message"] == "The portfolio was deleted."


def test_progress_is_reported_through_every_step_of_an_import(portfolio, coin):
    heard: list[tuple[int, int, str]] = []
    from portfolios import imports

    imports.import_transactions(
        portfolio=portfolio,
        text=_ledger(600),
        progress=lambda done, total, stage: heard.append((done, total, stage)),
    )

    steps = [stage[:9] for _, _, stage in heard]
    assert sorted(set(steps)) == ["Step 1 of", "Step 2 of", "Step 3 of", "Step 4 of"]
    assert steps == sorted(steps)  # in order, never back
    assert (0, 600) in [(d, t) for d, t, s in heard if s.startswith("Step 1")]
    assert heard[-1] == (
        600,
        600,
        "Step 4 of 4: recomputing holdings and daily history",
    )


def test_the_reporter_writes_at_most_five_times_a_second_but_always_the_end(user):
    reporter = progress.Reporter("abc")
    for done in range(1000):
        reporter(done, 1000, "Step 1")
    held = progress.read("abc")
    reporter(1000, 1000, "Step 1")

    assert held is not None and held["done"] < 999  # later calls were not written
    assert progress.read("abc") == {"done": 1000, "total": 1000, "stage": "Step 1"}


# The page -------------------------------------------------------------------------


def test_a_large_upload_on_the_page_goes_to_the_jobs_page_which_shows_the_result(
    client_logged_in, portfolio, coin, settings, django_capture_on_commit_callbacks
):
    settings.CAPSITE_IMPORT_JOB_LINES = 3
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("ledger.csv", _ledger(5).encode(), "text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_logged_in.post(
            f"/portfolios/{portfolio.pk}/transactions/import/", {"file": upload}
        )
    job = Job.objects.get()
    page = client_logged_in.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert page.status_code == 200
    assert "5 transactions recorded" in page.text
    assert f'href="/portfolios/{portfolio.pk}/transactions/"' in page.text
    assert '<progress id="job-bar" max="5" value="5"' in page.text


def test_a_queued_job_page_has_the_script_and_a_no_script_refresh(
    client_logged_in, user
):
    job = Job.objects.create(
        owner=user, kind=Job.Kind.TRANSACTION_IMPORT, title="Importing", total=10
    )

    page = client_logged_in.get(f"/jobs/{job.pk}/")

    assert 'src="/static/jobs/progress.js"' in page.text
    assert '<meta http-equiv="refresh" content="2">' in page.text
    assert f'data-status-url="/api/v1/jobs/{job.pk}/"' in page.text
    assert "Waiting to start" in page.text


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
