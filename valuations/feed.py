"""Live market feed: read CoinGecko-compatible ``coins/markets`` pages and import them."""

from __future__ import annotations

import json
import logging

import requests
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import InvalidHeader, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Retry

from capsite.text import shown
from valuations import deadlines
from valuations.imports import Format, FormatError, ImportReport, import_markets
from valuations.locks import exclusive
from valuations.models import ImportRun

logger = logging.getLogger(__name__)

PER_PAGE = 250
RETRY_STATUSES = (429, 500, 502, 503, 504)
LOCK_NAME = "market-refresh"
CHUNK_BYTES = 64 * 1024
ERROR_BODY_BYTES = 2000  # enough of an error answer to quote 200 characters of it


class FeedError(Exception):
    """The refresh failed (API unreadable, too slow or too big, or already running).

    Nothing was imported.
    """


class RefreshRunning(FeedError):
    """Another refresh holds the lock: this one did not start (and need not retry)."""


class _CappedRetry(Retry):
    """urllib3's Retry, honouring Retry-After only up to MARKET_DATA_MAX_RETRY_AFTER.

    A hostile or broken server could otherwise stall the refresh for hours with
    ``Retry-After: 86400``. Done here rather than with ``retry_after_max`` because
    only recent urllib3 releases have that argument.
    """

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            seconds = super().parse_retry_after(retry_after)
        except InvalidHeader:
            return 0  # unreadable: Retry.sleep falls back to the exponential backoff
        return min(seconds, float(settings.MARKET_DATA_MAX_RETRY_AFTER))

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        # Fail now rather than wake up, or start another attempt, past the deadline.
        deadline = deadlines.current.get()
        if deadline is not None:
            wait = self.get_backoff_time()
            if self.respect_retry_after_header and response is not None:
                wait = self.get_retry_after(response) or wait
            if wait >= deadline.left():
                raise deadlines.OutOfTime
        super().sleep(response)


def _session() -> requests.Session:
    retry = _CappedRetry(
        total=settings.MARKET_DATA_RETRIES,
        backoff_factor=settings.MARKET_DATA_BACKOFF,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=["GET"],
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = deadlines.DeadlineAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    if settings.MARKET_DATA_API_KEY:
        session.headers[settings.MARKET_DATA_API_KEY_HEADER] = (
            settings.MARKET_DATA_API_KEY
        )
    return session


def _endpoint() -> str:
    return settings.MARKET_DATA_URL.rstrip("/") + "/coins/markets"


def _describe(exc: requests.RequestException) -> str:
    """Say what went wrong in a network error, without urllib3's pool internals."""
    reason = exc.args[0] if exc.args else exc
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # urllib3 files a refused connection under ConnectTimeoutError; it is not a timeout.
    timed_out = isinstance(reason, Urllib3Timeout) and not isinstance(
        reason, NewConnectionError
    )
    if isinstance(exc, requests.Timeout) or timed_out:
        return f"no answer within {settings.MARKET_DATA_TIMEOUT} s"
    return f"cannot connect ({reason})"


def _after_retries() -> str:
    retries = settings.MARKET_DATA_RETRIES
    return f", after {retries} retr{'y' if retries == 1 else 'ies'}"


def _read(response: requests.Response, limit: int) -> bytes:
    """Return the body, or as much of it as shows it is longer than ``limit`` bytes.

    Reading stops at the first piece past the limit: the rest is never read.
    """
    body = bytearray()
    for chunk in response.iter_content(chunk_size=min(limit + 1, CHUNK_BYTES)):
        body += chunk
        if len(body) > limit:
            break
    return bytes(body)


def _get(
    session: requests.Session, page: int, where: str, deadline: deadlines.Deadline
) -> requests.Response:
    """Send one page's request; return the answer with its body still unread."""
    params: dict[str, str | int] = {
        "vs_currency": "usd",
        "order": "market_cap_desc",
        "per_page": PER_PAGE,
        "page": page,
        "sparkline": "false",
    }
    try:
        # No redirects: requests would forward the API key header to another host.
        return session.get(
            _endpoint(),
            params=params,
            timeout=min(settings.MARKET_DATA_TIMEOUT, deadline.left()),
            allow_redirects=False,
            stream=True,
        )
    except deadlines.OutOfTime as exc:
        raise FeedError(deadline.message(where)) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        if deadline.passed():
            raise FeedError(deadline.message(where)) from exc
        raise FeedError(f"{where}: {_describe(exc)}{_after_retries()}.") from exc
    except requests.RequestException as exc:  # a malformed MARKET_DATA_URL, …
        raise FeedError(f"{where}: {exc}") from exc


def _fetch_page(
    session: requests.Session, page: int, deadline: deadlines.Deadline
) -> tuple[str, int]:
    """Return one page's JSON array as text and its number of coins."""
    where = f"{_endpoint()} page {page}"
    if deadline.passed():
        raise FeedError(deadline.message(where))
    limit = settings.MARKET_DATA_MAX_BYTES
    too_big = (
        f"{where}: the answer is larger than {limit:,} bytes (MARKET_DATA_MAX_BYTES)."
    )
    # Closing the response drops its connection: an unread rest is never read.
    with _get(session, page, where, deadline) as response:
        ok = 200 <= response.status_code < 300
        declared = response.headers.get("Content-Length", "")
        if ok and declared.isdigit() and int(declared) > limit:
            raise FeedError(too_big)
        try:
            content = _read(response, limit if ok else ERROR_BODY_BYTES)
        except requests.RequestException as exc:
            if deadline.passed():
                raise FeedError(deadline.message(where)) from exc
            reason = exc.args[0] if exc.args else exc
            timed_out = isinstance(reason, Urllib3Timeout)
            broke = (
                f"no data for {settings.MARKET_DATA_TIMEOUT} s"
                if isinstance(exc, requests.Timeout) or timed_out
                else "the connection broke"
            )
            raise FeedError(f"{where}: the answer broke off: {broke}.") from exc
    if not ok:
        retried = _after_retries() if response.status_code in RETRY_STATUSES else ""
        text = " ".join(content.decode("utf-8", errors="replace").split())
        raise FeedError(
            f"{where}: HTTP {response.status_code} {response.reason}{retried}: "
            f"{text[:200]}"
        )
    if len(content) > limit:
        raise FeedError(too_big)
    try:
        text = content.decode("utf-8")
        coins = json.loads(text)
    except UnicodeDecodeError as exc:
        raise FeedError(f"{where}: the answer is not UTF-8 text.") from exc
    except json.JSONDecodeError as exc:
        raise FeedError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})."
        ) from exc
    if not isinstance(coins, list):
        raise FeedError(
            f"{where}: expected a JSON array of coins, got {type(coins).__name__}."
        )
    return text, len(coins)


def _join_arrays(texts: list[str]) -> str:
    """Concatenate JSON array texts into one array.

    Splicing the text, rather than loading and dumping, keeps every number
    exactly as the provider wrote it: the importer reads them as Decimal.
    """
    items = [text.strip()[1:-1].strip() for text in texts]
    return "[" + ",".join(item for item in items if item) + "]"


def fetch_markets(
    *, pages: int = 1, triggered_by: str = "fetch_markets"
) -> ImportReport:
    """Fetch up to ``pages`` pages of 250 coins by market cap and import them as one file.

    Every page is fetched before anything is written, so a failure on any page
    (network error, timeout, non-2xx after retries, bad JSON, an answer over
    MARKET_DATA_MAX_BYTES, or MARKET_DATA_DEADLINE passing) raises FeedError
    and changes nothing. Fetching stops at the first page shorter than 250
    coins. Rows the importer rejects are skipped and reported, not fatal: one
    provider quirk must not block the whole refresh. Only one refresh runs at a
    time; another one meanwhile fails at once with FeedError. Returns the
    ImportReport; the import is recorded as an ImportRun with the endpoint as
    its source. Any failure, expected or not (a database error raises as
    itself), is recorded as an ImportRun with status FAILED.
    """
    if pages < 1:
        raise ValueError("pages must be at least 1.")
    try:
        with exclusive(LOCK_NAME) as got:
            if not got:
                raise RefreshRunning(
                    "Another market refresh is running, so this one did not start."
                )
            return _fetch_and_import(pages=pages, triggered_by=triggered_by)
    except Exception as exc:
        _record_failure(failure_message(exc), triggered_by=triggered_by)
        raise


def failure_message(exc: Exception) -> str:
    """Say why a refresh failed: a FeedError's own words, else the error's class."""
    if isinstance(exc, FeedError):
        return str(exc)
    # No traceback: the message is read by whoever runs or reviews the refresh.
    return f"Unexpected error: {type(exc).__name__}: {exc}".rstrip(".") + "."


def _record_failure(message: str, *, triggered_by: str) -> None:
    """List a failed refresh with the import runs; no market data changes."""
    try:
        ImportRun.objects.create(
            source=_endpoint()[:500],
            format=Format.COINGECKO,
            triggered_by=triggered_by[:150],
            status=ImportRun.Status.FAILED,
            finished=timezone.now(),
            errors=[{"position": "", "field": "feed", "message": shown(message, 1000)}],
        )
    except DatabaseError as exc:
        # The database is what failed: the caller still gets the original error.
        logger.warning("Could not record the failed market refresh: %s", exc)


def _fetch_and_import(*, pages: int, triggered_by: str) -> ImportReport:
    texts: list[str] = []
    coins = 0
    with (
        deadlines.Deadline(settings.MARKET_DATA_DEADLINE) as deadline,
        _session() as session,
    ):
        for page in range(1, pages + 1):
            text, count = _fetch_page(session, page, deadline)
            texts.append(text)
            coins += count
            if count < PER_PAGE:
                break
        if deadline.passed():  # the last read ended just as the deadline passed
            raise FeedError(deadline.message(_endpoint()))
    if not coins:
        raise FeedError(f"{_endpoint()} page 1: no coins.")
    source = f"{_endpoint()} (vs_currency=usd, pages 1-{len(texts)})"
    # The deadline bounds the network; the import is local and one transaction.
    try:
        return import_markets(
            _join_arrays(texts),
            fmt=Format.COINGECKO,
            source=source,
            triggered_by=triggered_by,
            skip_invalid=True,
        )
    except FormatError as exc:
        raise FeedError(f"{source}: {exc}") from exc
