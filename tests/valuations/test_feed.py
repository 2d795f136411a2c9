"""The live feed against a real local HTTP server serving saved CoinGecko answers."""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.synchronize import Event
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection

from valuations.feed import FeedError, fetch_markets
from valuations.imports import BUNDLED_MARKETS
from valuations.locks import exclusive
from valuations.models import Asset, ImportRun, MarketSnapshot

DATA = Path(__file__).resolve().parent / "data"
# 250 coins, a full page; items 62, 145 and 227 have circulating > max supply.
PAGE_250 = (DATA / "coins_markets_usd_250.json").read_bytes()
# The 250 file's provider quirks: rounding above the max (items 62, 145) and
# zero supplies meaning "unknown" (item 227). Accepted, never skipped.
# Bitcoin, Ethereum and Tether two years later: a short second page.
PAGE_SHORT = json.dumps(json.loads(BUNDLED_MARKETS.read_text())[:3]).encode()
TRICKLE_EVERY = 0.2  # seconds between the bytes of a trickled answer


@dataclass
class Reply:
    status: int = 200
    body: bytes = PAGE_250
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0
    # Send Content-Length; without it the body ends when the connection closes.
    length: bool = True
    # "body": headers at once, then the body a byte at a time; "all": even the
    # status line comes a byte at a time.
    trickle: str = ""
    # Seconds to keep the connection open after the answer, before closing it.
    stall: float = 0


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
                headers = {"Content-Type": "application/json", **reply.headers}
                if reply.length:
                    headers["Content-Length"] = str(len(reply.body))
                reason = self.responses.get(reply.status, ("Unknown",))[0]
                head = f"HTTP/1.0 {reply.status} {reason}\r\n"
                head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
                slow = {
                    "": b"",
                    "body": reply.body,
                    "all": head.encode() + reply.body,
                }[reply.trickle]
                fast = (head.encode() + reply.body)[: -len(slow) or None]
                try:
                    self.wfile.write(fast)
                    for byte in slow:
                        if api.stop.wait(TRICKLE_EVERY):
                            return
                        self.wfile.write(bytes([byte]))
                    if reply.stall:
                        api.stop.wait(reply.stall)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: the timeout and size tests

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
    settings.MARKET_DATA_DEADLINE = 30
    settings.MARKET_DATA_MAX_BYTES = 20_000_000
    yield api
    api.stop.set()
    api.server.shutdown()
    api.server.server_close()
    api.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _own_lock_files(tmp_path, monkeypatch):
    # The in-memory test database keeps its lock files in the temporary folder:
    # give each test its own, so a test run beside this one cannot hold them.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def _failed_run_message() -> str:
    """The message of the one import run, which must have failed."""
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    return run.errors[0]["message"]


def _nothing_written() -> bool:
    """No market data changed; the failure itself is recorded as a failed run."""
    return (
        Asset.objects.count() == 0
        and MarketSnapshot.objects.count() == 0
        and not ImportRun.objects.exclude(status=ImportRun.Status.FAILED).exists()
    )


@pytest.mark.django_db
def test_a_page_is_imported_and_recorded_with_its_quirky_rows_accepted(market_api):
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
    assert (report.rows, report.created, report.skipped) == (250, 250, 0)
    assert report.errors == []
    assert Asset.objects.count() == 250
    assert MarketSnapshot.objects.count() == 250
    assert Asset.objects.get(slug="bitcoin").price == Decimal("41778")
    assert Asset.objects.get(slug="flow").quality_flags == ""
    assert Asset.objects.get(slug="wrapped-centrifuge").quality_flags == (
        "supply_unknown"
    )
    run = ImportRun.objects.get()
    assert run == report.run
    assert run.status == ImportRun.Status.APPLIED
    assert run.source.startswith(f"{market_api.url}/coins/markets")
    assert run.triggered_by == "fetch_markets"
    assert (run.rows, run.created, run.skipped) == (250, 250, 0)


@pytest.mark.django_db
def test_pages_are_fetched_until_a_short_page_and_imported_together(market_api):
    market_api.script(Reply(body=PAGE_250), Reply(body=PAGE_SHORT))

    report = fetch_markets(pages=5)

    assert [s.query["page"] for s in market_api.seen] == ["1", "2"]
    assert (report.rows, report.created, report.skipped) == (253, 253, 0)
    assert Asset.objects.count() == 250
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
    assert "253 coins fetched: 253 rows applied, 0 skipped" in out
    assert err == ""


@pytest.mark.django_db
def test_a_hostile_row_in_the_feed_is_skipped_and_listed(market_api, capsys):
    good, other = json.loads(PAGE_SHORT)[:2]
    hostile = {**other, "name": "Ether\u0000eum"}
    market_api.script(Reply(body=json.dumps([good, hostile]).encode()))

    call_command("fetch_markets")

    out, err = capsys.readouterr()
    assert "2 coins fetched: 1 rows applied, 1 skipped" in out
    assert "skipped item 2: name: Contains the control character U+0000." in err
    assert Asset.objects.count() == 1
    assert ImportRun.objects.get().status == ImportRun.Status.APPLIED


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


@pytest.mark.parametrize("trickle", ["body", "all"])
@pytest.mark.django_db
def test_a_trickling_answer_is_cut_off_at_the_deadline(market_api, settings, trickle):
    # A byte every 0.2 s never trips the 5 s read timeout: only the deadline ends it.
    settings.MARKET_DATA_DEADLINE = 1
    market_api.script(Reply(body=PAGE_SHORT, trickle=trickle))

    started = time.monotonic()
    with pytest.raises(
        FeedError, match=r"page 1: the refresh did not finish within 1 s"
    ):
        fetch_markets()

    assert time.monotonic() - started < 2.5
    assert len(market_api.seen) == 1
    assert "did not finish within 1 s" in _failed_run_message()
    assert _nothing_written()


@pytest.mark.django_db
def test_a_retry_that_would_wait_past_the_deadline_fails_at_once(market_api, settings):
    settings.MARKET_DATA_DEADLINE = 2
    market_api.script(
        Reply(status=503, body=b"busy", headers={"Retry-After": "30"}),
        Reply(body=PAGE_SHORT),
    )

    started = time.monotonic()
    with pytest.raises(FeedError, match=r"did not finish within 2 s"):
        fetch_markets()

    assert time.monotonic() - started < 1
    assert len(market_api.seen) == 1
    assert _nothing_written()


@pytest.mark.parametrize("length", [True, False], ids=["declared", "undeclared"])
@pytest.mark.django_db
def test_an_answer_over_the_size_limit_fails_and_writes_nothing(
    market_api, settings, length
):
    settings.MARKET_DATA_MAX_BYTES = 1000
    # The connection stays open after the answer: reading to its end would hang.
    market_api.script(Reply(body=PAGE_250, length=length, stall=10))

    started = time.monotonic()
    with pytest.raises(
        FeedError,
        match=r"page 1: the answer is larger than 1,000 bytes \(MARKET_DATA_MAX_BYTES\)",
    ):
        fetch_markets()

    assert time.monotonic() - started < 2
    assert "larger than 1,000 bytes" in _failed_run_message()
    assert _nothing_written()


@pytest.mark.django_db
def test_an_answer_of_exactly_the_size_limit_is_imported(market_api, settings):
    settings.MARKET_DATA_MAX_BYTES = len(PAGE_SHORT)
    market_api.script(Reply(body=PAGE_SHORT, length=False))

    report = fetch_markets()

    assert report.created == 3


@pytest.mark.django_db
def test_an_unexpected_error_is_recorded_and_the_command_fails_without_a_traceback(
    market_api, monkeypatch
):
    def failing_import(*args: object, **kwargs: object) -> None:
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr("valuations.feed.import_markets", failing_import)
    market_api.script(Reply(body=PAGE_SHORT))

    with pytest.raises(CommandError) as failure:
        call_command("fetch_markets")

    assert str(failure.value) == (
        "Unexpected error: DatabaseError: disk I/O error. Nothing was imported."
    )
    message = _failed_run_message()
    assert message == "Unexpected error: DatabaseError: disk I/O error."
    assert "Traceback" not in message
    assert _nothing_written()


@contextmanager
def _held_by_another_thread(name: str) -> Iterator[bool]:
    """Hold the lock as another process would: from another thread, which has its
    own database connection (PostgreSQL) and opens its own lock file (SQLite)."""
    got: list[bool] = []
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with exclusive(name) as ok:
                got.append(ok)
                held.set()
                release.wait(5)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(5)
        yield got[0]
    finally:
        release.set()
        thread.join(5)


@pytest.mark.django_db
def test_a_refresh_does_not_start_while_another_one_runs(market_api):
    market_api.script(Reply(body=PAGE_SHORT))

    with _held_by_another_thread("market-refresh") as held:
        assert held
        with pytest.raises(FeedError, match="Another market refresh is running"):
            fetch_markets()

    assert market_api.seen == []
    assert "Another market refresh is running" in _failed_run_message()
    assert _nothing_written()
    # Once the other one is done, a refresh runs.
    assert fetch_markets().created == 3


@pytest.mark.django_db
def test_the_lock_can_be_taken_again_once_released():
    with exclusive("market-refresh") as first:
        assert first
    with pytest.raises(RuntimeError), exclusive("market-refresh") as second:
        assert second
        raise RuntimeError("the job failed")
    with exclusive("market-refresh") as third:
        assert third


@pytest.mark.django_db
def test_the_lock_is_refused_while_another_thread_holds_it():
    with _held_by_another_thread("market-refresh") as held:
        assert held
        with exclusive("market-refresh") as got:
            assert not got
        with exclusive("another-job") as other:
            assert other


def _hold_in_child(name: str, held: Event, release: Event) -> None:
    with exclusive(name) as got:
        if got:
            held.set()
            release.wait(5)


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="a forked child would share the test's PostgreSQL connection; "
    "the thread tests show a second session is refused",
)
@pytest.mark.django_db
def test_the_lock_is_refused_while_another_process_holds_it_and_freed_when_it_dies():
    fork = multiprocessing.get_context("fork")
    held, release = fork.Event(), fork.Event()
    child = fork.Process(target=_hold_in_child, args=("market-refresh", held, release))
    child.start()
    try:
        assert held.wait(5)
        with exclusive("market-refresh") as got:
            assert not got
    finally:
        child.kill()  # no clean exit: the OS releases the lock of a killed process
        child.join(5)

    with exclusive("market-refresh") as got:
        assert got
