"""The live feed against a real local HTTP server serving saved CoinGecko answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from valuations.feed import FeedError, fetch_markets
from valuations.imports import BUNDLED_MARKETS
from valuations.models import Asset, ImportRun, MarketSnapshot

DATA = Path(__file__).resolve().parent / "data"
# 250 coins, a full page; items 62, 145 and 227 have circulating > max supply.
PAGE_250 = (DATA / "coins_markets_usd_250.json").read_bytes()
QUIRKS = {"item 62", "item 145", "item 227"}
# Bitcoin, Ethereum and Tether two years later: a short second page.
PAGE_SHORT = json.dumps(json.loads(BUNDLED_MARKETS.read_text())[:3]).encode()


@dataclass
class Reply:
    status: int = 200
    body: bytes = PAGE_250
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


class MarketAPI:
    """Answer each GET with the next scripted Reply and record what was asked."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.seen: list[Seen] = []
        self.stop = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                api.seen.append(
                    Seen(
                        path=url.path,
                        query={k: v[0] for k, v in parse_qs(url.query).items()},
                        headers={k.lower(): v for k, v in self.headers.items()},
                        at=time.monotonic(),
                    )
                )
                reply = (
                    api.replies.pop(0)
                    if api.replies
                    else Reply(status=599, body=b"no reply scripted")
                )
                if reply.delay and api.stop.wait(reply.delay):
                    return
                try:
                    self.send_response(reply.status)
                    for name, value in {
                        "Content-Type": "application/json",
                        **reply.headers,
                    }.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: that is the timeout test

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v3"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        )

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)


@pytest.fixture
def market_api(settings, monkeypatch) -> Iterator[MarketAPI]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    api = MarketAPI()
    api.thread.start()
    settings.MARKET_DATA_URL = api.url
    settings.MARKET_DATA_API_KEY = ""
    settings.MARKET_DATA_API_KEY_HEADER = "x-cg-demo-api-key"
    settings.MARKET_DATA_TIMEOUT = 5
    settings.MARKET_DATA_RETRIES = 3
    settings.MARKET_DATA_BACKOFF = 0.01
    settings.MARKET_DATA_MAX_RETRY_AFTER = 60
    yield api
    api.stop.set()
    api.server.shutdown()
    api.server.server_close()
    api.thread.join(timeout=5)


def _nothing_written() -> bool:
    """No market data changed; the failure itself is recorded as a failed run."""
    return (
        Asset.objects.count() == 0
        and MarketSnapshot.objects.count() == 0
        and not ImportRun.objects.exclude(status=ImportRun.Status.FAILED).exists()
    )


@pytest.mark.django_db
def test_a_page_is_imported_and_recorded_with_quirky_rows_skipped(market_api):
    market_api.script(Reply(), Reply(body=b"[]"))

    report = fetch_markets(pages=2)

    assert [s.path for s in market_api.seen] == ["/api/v3/coins/markets"] * 2
    assert market_api.seen[0].query == {
        "vs_currency": "usd",
        "order": "market_cap_desc",
        "per_page": "250",
        "page": "1",
        "sparkline": "false",
    }
    assert report.applied
    assert (report.rows, report.created, report.skipped) == (250, 247, 3)
    assert {e.position for e in report.errors} == QUIRKS
    assert Asset.objects.count() == 247
    assert MarketSnapshot.objects.count() == 247
    assert Asset.objects.get(slug="bitcoin").price == Decimal("41778")
    assert not Asset.objects.filter(slug="flow").exists()
    run = ImportRun.objects.get()
    assert run == report.run
    assert run.status == ImportRun.Status.APPLIED
    assert run.source.startswith(f"{market_api.url}/coins/markets")
    assert run.triggered_by == "fetch_markets"
    assert (run.rows, run.created, run.skipped) == (250, 247, 3)


@pytest.mark.django_db
def test_pages_are_fetched_until_a_short_page_and_imported_together(market_api):
    market_api.script(Reply(body=PAGE_250), Reply(body=PAGE_SHORT))

    report = fetch_markets(pages=5)

    assert [s.query["page"] for s in market_api.seen] == ["1", "2"]
    assert (report.rows, report.created, report.skipped) == (253, 250, 3)
    assert Asset.objects.count() == 247
    # Page 2 is two years newer: its values become the current ones.
    assert Asset.objects.get(slug="bitcoin").price == Decimal("76134")
    assert ImportRun.objects.count() == 1


@pytest.mark.django_db
def test_a_short_first_page_stops_the_fetch(market_api):
    market_api.script(Reply(body=PAGE_SHORT))

    report = fetch_markets(pages=3)

    assert len(market_api.seen) == 1
    assert report.created == 3


@pytest.mark.django_db
def test_429_is_retried_after_the_servers_retry_after(market_api):
    market_api.script(
        Reply(status=429, body=b'{"error": "slow down"}', headers={"Retry-After": "1"}),
        Reply(body=PAGE_SHORT),
    )

    report = fetch_markets()

    assert len(market_api.seen) == 2
    assert market_api.seen[1].at - market_api.seen[0].at >= 0.95
    assert report.created == 3


@pytest.mark.django_db
def test_a_huge_retry_after_is_capped(market_api, settings):
    settings.MARKET_DATA_MAX_RETRY_AFTER = 0.2
    market_api.script(
        Reply(status=503, body=b"busy", headers={"Retry-After": "86400"}),
        Reply(body=PAGE_SHORT),
    )

    started = time.monotonic()
    report = fetch_markets()

    assert time.monotonic() - started < 3
    assert market_api.seen[1].at - market_api.seen[0].at >= 0.15
    assert report.created == 3


@pytest.mark.django_db
def test_a_500_is_retried_and_then_succeeds(market_api):
    market_api.script(Reply(status=500, body=b"oops"), Reply(body=PAGE_SHORT))

    report = fetch_markets()

    assert len(market_api.seen) == 2
    assert report.applied and report.created == 3


@pytest.mark.django_db
def test_a_persistent_500_fails_after_the_retries_and_writes_nothing(market_api):
    market_api.script(*[Reply(status=500, body=b"internal oops")] * 4)

    with pytest.raises(FeedError, match=r"page 1: HTTP 500 .*after 3 retries.*oops"):
        fetch_markets()

    assert len(market_api.seen) == 4
    assert _nothing_written()


@pytest.mark.django_db
def test_a_client_error_is_not_retried(market_api, settings):
    settings.MARKET_DATA_API_KEY = "wrong"
    market_api.script(Reply(status=401, body=b'{"error_message": "Invalid API Key"}'))

    with pytest.raises(FeedError, match="HTTP 401 .*Invalid API Key"):
        fetch_markets()

    assert len(market_api.seen) == 1
    assert _nothing_written()


@pytest.mark.django_db
def test_malformed_json_fails_and_writes_nothing(market_api):
    market_api.script(Reply(body=PAGE_250[:1000]))

    with pytest.raises(FeedError, match="page 1: not valid JSON"):
        fetch_markets()

    assert len(market_api.seen) == 1
    assert _nothing_written()


@pytest.mark.django_db
def test_json_that_is_not_a_list_fails_and_writes_nothing(market_api):
    market_api.script(Reply(body=b'{"status": {"error_code": 10002}}'))

    with pytest.raises(FeedError, match="expected a JSON array"):
        fetch_markets()

    assert _nothing_written()


@pytest.mark.django_db
def test_a_timeout_fails_after_the_retries_and_writes_nothing(market_api, settings):
    settings.MARKET_DATA_TIMEOUT = 0.2
    market_api.script(*[Reply(delay=2)] * 4)

    started = time.monotonic()
    with pytest.raises(FeedError, match=r"no answer within 0.2 s, after 3 retries"):
        fetch_markets()

    assert time.monotonic() - started < 3
    assert len(market_api.seen) == 4
    assert _nothing_written()


@pytest.mark.django_db
def test_a_failed_second_page_discards_the_first(market_api, settings):
    settings.MARKET_DATA_RETRIES = 1
    market_api.script(Reply(body=PAGE_250), *[Reply(status=502, body=b"gateway")] * 2)

    with pytest.raises(FeedError, match="page 2: HTTP 502"):
        fetch_markets(pages=2)

    assert len(market_api.seen) == 3
    assert _nothing_written()


@pytest.mark.django_db
def test_an_unreachable_api_fails_and_writes_nothing(market_api, settings):
    market_api.server.shutdown()
    market_api.server.server_close()
    settings.MARKET_DATA_RETRIES = 1

    with pytest.raises(FeedError, match="page 1: cannot connect"):
        fetch_markets()

    assert _nothing_written()


@pytest.mark.django_db
def test_the_api_key_is_sent_in_the_configured_header(market_api, settings):
    settings.MARKET_DATA_API_KEY = "CG-secret"
    settings.MARKET_DATA_API_KEY_HEADER = "x-cg-pro-api-key"
    market_api.script(Reply(body=PAGE_SHORT))

    fetch_markets()

    headers = market_api.seen[0].headers
    assert headers["x-cg-pro-api-key"] == "CG-secret"
    assert "x-cg-demo-api-key" not in headers


@pytest.mark.django_db
def test_no_key_header_is_sent_without_a_key(market_api):
    market_api.script(Reply(body=PAGE_SHORT))

    fetch_markets()

    headers = market_api.seen[0].headers
    assert not {"x-cg-demo-api-key", "x-cg-pro-api-key"} & headers.keys()


@pytest.mark.django_db
def test_command_prints_the_summary(market_api, capsys):
    market_api.script(Reply(body=PAGE_250), Reply(body=PAGE_SHORT))

    call_command("fetch_markets", "--pages", "2")

    out, err = capsys.readouterr()
    assert "253 coins fetched: 250 rows applied, 3 skipped" in out
    assert "skipped item 62: circulating_supply" in err


@pytest.mark.django_db
def test_command_fails_with_the_message_and_changes_nothing(market_api):
    market_api.script(Reply(body=b"<html>not json</html>"))

    with pytest.raises(CommandError, match="not valid JSON.*Nothing was imported"):
        call_command("fetch_markets")

    assert _nothing_written()


def test_command_rejects_zero_pages():
    with pytest.raises(CommandError, match="not a whole number"):
        call_command("fetch_markets", "--pages", "0")


@pytest.mark.django_db
def test_an_empty_answer_fails_and_writes_nothing(market_api):
    market_api.script(Reply(body=b"[]"))

    with pytest.raises(FeedError, match="page 1: no coins"):
        fetch_markets(pages=2)

    assert len(market_api.seen) == 1
    assert _nothing_written()


@pytest.mark.django_db
def test_a_failed_fetch_is_recorded_as_a_failed_run_with_its_reason(market_api):
    market_api.script(Reply(body=b"not json"))

    with pytest.raises(FeedError):
        fetch_markets()

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    assert "JSON" in run.errors[0]["message"]
