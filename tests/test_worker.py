"""Background work through a real Celery worker on Redis, against the test database.

The suite otherwise runs tasks in-process (CAPSITE_JOBS_INLINE); here a worker
process takes them from a Redis broker, as in production: a large import, the
market refresh, and the alert path after a ledger write. PostgreSQL only: the
worker is another process and must see what the test commits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from capsite.celery import app
from jobs.models import Job
from portfolios.models import Transaction
from tests.factories import AssetFactory
from tests.valuations.test_feed import PAGE_SHORT, MarketAPI, Reply
from valuations import tasks as market_tasks
from valuations.models import Asset, ImportRun

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("CAPSITE_TEST_BROKER", "redis://127.0.0.1:6379/9")


def _wait_for(check: Callable[[], object], what: str, seconds: float = 60) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"the worker did not {what} within {seconds} s")


@pytest.fixture(scope="module")
def market_api_for_worker() -> Iterator[MarketAPI]:
    api = MarketAPI()
    api.thread.start()
    yield api
    api.stop.set()
    api.server.shutdown()
    api.server.server_close()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, market_api_for_worker, tmp_path_factory):
    """A celery worker on its own Redis queue, using the test database."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the worker is another process")
    queue = f"capsite-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    mail = tmp_path_factory.mktemp("mail")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_QUEUE": queue,
        "MARKET_DATA_URL": market_api_for_worker.url,
        "MARKET_DATA_BACKOFF": "0.01",
        "NO_PROXY": "127.0.0.1",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail),
        "CAPSITE_WEBHOOK_ALLOW_PRIVATE": "true",
        "LOG_FORMAT": "text",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "capsite",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous = (app.conf.broker_url, app.conf.task_default_queue)
    app.conf.broker_url, app.conf.task_default_queue = BROKER, queue
    try:
        _wait_for(
            lambda: app.control.ping(
                destination=[f"{queue}@{os.uname().nodename}"], timeout=1
            ),
            "answer a ping",
            seconds=60,
        )
        yield {
            "queue": queue,
            "name": f"{queue}@{os.uname().nodename}",
            "mail": mail,
            "market_api": market_api_for_worker,
        }
    finally:
        app.conf.broker_url, app.conf.task_default_queue = previous
        process.terminate()
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        print(output[-4000:])  # shown when a test fails


@pytest.fixture
def through_the_broker(settings, worker):
    settings.CELERY_BROKER_URL = BROKER
    settings.CAPSITE_JOBS_INLINE = False
    yield worker
    # The test database is emptied after each test: not while a task (alerts
    # after an import, say) still reads it.
    _wait_for(lambda: _idle(worker), "fall idle", seconds=60)


def _idle(worker: dict) -> bool:
    import redis

    queued = redis.Redis.from_url(BROKER).llen(worker["queue"])
    active = app.control.inspect(destination=[worker["name"]], timeout=1).active()
    return queued == 0 and active is not None and active.get(worker["name"]) == []


def test_a_large_import_is_run_by_the_worker(through_the_broker, api_client, portfolio):
    AssetFactory(slug="coin", symbol="cn", name="Coin")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        f"{(start + timedelta(hours=n)).isoformat()},coin,buy,0.5,100,0,"
        for n in range(3000)
    ]
    body = "executed_at,asset,kind,quantity,unit_price,fee,note\n" + "\n".join(rows)

    response = api_client.generic(
        "POST",
        f"/api/v1/portfolios/{portfolio.pk}/transactions/import/",
        body,
        content_type="text/csv",
    )

    assert response.status_code == 202
    job_id = response.json()["job"]["id"]
    _wait_for(
        lambda: Job.objects.filter(pk=job_id, status__in=Job.FINISHED).exists(),
        "finish the import",
    )
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.result["created"]) == ("done", 3000)
    assert Transaction.objects.filter(portfolio=portfolio).count() == 3000


def test_the_market_refresh_is_run_by_the_worker(through_the_broker):
    through_the_broker["market_api"].script(Reply(body=PAGE_SHORT))

    market_tasks.refresh_markets.delay()

    _wait_for(
        lambda: ImportRun.objects.filter(status=ImportRun.Status.APPLIED).exists(),
        "apply the refresh",
    )
    run = ImportRun.objects.get()
    assert run.triggered_by == "celery beat"
    assert Asset.objects.count() == 3


def test_a_ledger_write_fires_a_drift_alert_through_the_worker(
    through_the_broker, user
):
    import hashlib
    import hmac
    import threading
    from decimal import Decimal
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from alerts.models import AlertSettings, Notification
    from portfolios import services
    from tests.factories import PortfolioFactory

    received: list[tuple[dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        prefs = AlertSettings.objects.create(
            user=user, webhook_url=f"http://127.0.0.1:{server.server_port}/hook"
        )
        coin = AssetFactory(
            slug="bigcoin",
            symbol="big",
            name="Bigcoin",
            price=Decimal("20000"),
            circulating_supply=Decimal("1000000"),
            volume_24h=Decimal("900000000"),
        )
        portfolio = PortfolioFactory(owner=user, name="Watched")  # 50/30/15/5 ±5

        # All in one large cap: large 100 % against a 50 % target.
        services.record_transaction(
            portfolio=portfolio,
            asset=coin,
            kind="buy",
            quantity=Decimal("1"),
            unit_price=Decimal("20000"),
            fee=Decimal("0"),
            executed_at=datetime(2026, 1, 2, tzinfo=UTC),
        )

        _wait_for(lambda: received, "post the webhook")
        notification = Notification.objects.get(portfolio=portfolio)
        headers, body = received[0]
        signed = f"{headers['x-capsite-timestamp']}.".encode() + body
        expected = hmac.new(prefs.webhook_secret.encode(), signed, hashlib.sha256)
        assert headers["x-capsite-signature"] == f"sha256={expected.hexdigest()}"
        assert headers["x-capsite-event"] == "drift"
        assert notification.kind == "drift"
        link = f"/portfolios/{portfolio.pk}/"
        mails = [
            text
            for path in through_the_broker["mail"].iterdir()
            if f"\n{link}\n" in (text := path.read_text())
        ]
        assert len(mails) == 1
        assert f"To: {user.email}" in mails[0]
        assert "Large cap: 100.0 % of the portfolio ($20,000)" in mails[0]
    finally:
        server.shutdown()
        server.server_close()
