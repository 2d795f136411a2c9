"""Live market feed: read CoinGecko-compatible ``coins/markets`` pages and import them."""

from __future__ import annotations

import json

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Retry

from valuations.imports import Format, FormatError, ImportReport, import_markets
from valuations.models import ImportRun

PER_PAGE = 250
RETRY_STATUSES = (429, 500, 502, 503, 504)


class FeedError(Exception):
    """The market-data API could not be read in full; nothing was imported."""


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
    adapter = HTTPAdapter(max_retries=retry)
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


def _fetch_page(session: requests.Session, page: int) -> tuple[str, int]:
    """Return one page's JSON array as text and its number of coins."""
    where = f"{_endpoint()} page {page}"
    retries = settings.MARKET_DATA_RETRIES
    after = f", after {retries} retr{'y' if retries == 1 else 'ies'}"
    params: dict[str, str | int] = {
        "vs_currency": "usd",
        "order": "market_cap_desc",
        "per_page": PER_PAGE,
        "page": page,
        "sparkline": "false",
    }
    try:
        # No redirects: requests would forward the API key header to another host.
        response = session.get(
            _endpoint(),
            params=params,
            timeout=settings.MARKET_DATA_TIMEOUT,
            allow_redirects=False,
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise FeedError(f"{where}: {_describe(exc)}{after}.") from exc
    except requests.RequestException as exc:  # a malformed MARKET_DATA_URL, …
        raise FeedError(f"{where}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        retried = after if response.status_code in RETRY_STATUSES else ""
        body = " ".join(response.text.split())[:200]
        raise FeedError(
            f"{where}: HTTP {response.status_code} {response.reason}{retried}: {body}"
        )
    try:
        text = response.content.decode("utf-8")
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
    (network error, timeout, non-2xx after retries, bad JSON) raises FeedError
    and changes nothing. Fetching stops at the first page shorter than 250
    coins. Rows the importer rejects are skipped and reported, not fatal: one
    provider quirk must not block the whole refresh. Returns the ImportReport;
    the import is recorded as an ImportRun with the endpoint as its source.
    """
    if pages < 1:
        raise ValueError("pages must be at least 1.")
    try:
        return _fetch_and_import(pages=pages, triggered_by=triggered_by)
    except FeedError as exc:
        # No market data changes; the failure is still listed with the import runs.
        ImportRun.objects.create(
            source=_endpoint()[:500],
            format=Format.COINGECKO,
            triggered_by=triggered_by[:150],
            status=ImportRun.Status.FAILED,
            finished=timezone.now(),
            errors=[{"position": "", "field": "feed", "message": str(exc)}],
        )
        raise


def _fetch_and_import(*, pages: int, triggered_by: str) -> ImportReport:
    texts: list[str] = []
    coins = 0
    with _session() as session:
        for page in range(1, pages + 1):
            text, count = _fetch_page(session, page)
            texts.append(text)
            coins += count
            if count < PER_PAGE:
                break
    if not coins:
        raise FeedError(f"{_endpoint()} page 1: no coins.")
    source = f"{_endpoint()} (vs_currency=usd, pages 1-{len(texts)})"
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
