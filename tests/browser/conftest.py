"""Browser fixtures: one headless Debian Chromium per session, a context per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Playwright cannot download its own browser here; drive Debian's package.
CHROMIUM = Path(os.environ.get("CAPSITE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps dialling Google's hosts on a closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_CHROMIUM = (
    f"Chromium is not installed at {CHROMIUM}, so the browser tests cannot run. "
    "Install it with `apt-get install -y chromium` (Debian; `make test` does this "
    "when run as root), point CAPSITE_CHROMIUM at another Chromium binary, "
    "or set CAPSITE_SKIP_BROWSER=1 to skip these tests."
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("CAPSITE_SKIP_BROWSER") != "1":
        return
    skip = pytest.mark.skip(reason="CAPSITE_SKIP_BROWSER=1")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium, launched once for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    # Room for a loaded two-core CI machine; still fails in seconds, not 30.
    expect.set_options(timeout=10_000)

    # Playwright's sync API keeps an event loop running on this thread, so
    # Django would refuse ORM calls here (factories, the transactional flush)
    # with SynchronousOnlyOperation. Django's documented escape hatch, set
    # only while the browser is up.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A page in a fresh context (no cookies), with live_server as its base URL."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()
