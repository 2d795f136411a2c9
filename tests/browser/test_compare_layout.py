"""The compare page (issue 16) on a phone and a desktop, in both themes.

Five real assets from the bundled market data, three years of history each:
the page never scrolls sideways at 390 px (the tables scroll inside their
frame, and the rows marked optional wait behind "Show all metrics"), the
indexed chart is drawn, and axe finds nothing at either width in either theme.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, expect

from tests.browser.test_accessibility import _axe, _theme

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
URL = "/compare/?assets=bitcoin,ethereum,solana,dogecoin,tether"


@pytest.fixture
def bundled(transactional_db, live_server) -> None:
    call_command("load_market_data", stdout=io.StringIO())


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_compare_page_fits_the_screen_and_passes_axe(
    browser: Browser, live_server, bundled, scheme, viewport
):
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, color_scheme=scheme
    )
    try:
        page = context.new_page()
        page.goto(URL)
        assert _theme(page) == scheme
        expect(page.locator("#table-compare")).to_be_visible()
        expect(page.locator(".timechart svg.graph").first).to_be_visible()
        width = viewport["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        optional = page.locator("#table-compare tr.opt").first
        if width == PHONE["width"]:
            expect(optional).to_be_hidden()
            page.get_by_label("Show all metrics").check()
            expect(optional).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        else:
            expect(optional).to_be_visible()
        page.screenshot(path=f"/tmp/h16b/compare-{scheme}-{width}.png", full_page=True)
        problems = _axe(page)
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_compare_with_from_the_asset_page(browser: Browser, live_server, bundled):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto("/assets/bitcoin/")
        problems = _axe(page)
        assert not problems, "\n".join(problems)
        page.get_by_label("Compare with…").fill("ethereum, solana")
        page.get_by_role("button", name="Compare", exact=True).click()
        expect(page.get_by_role("heading", name="Compare assets")).to_be_visible()
        headers = page.locator("#table-compare thead th")
        expect(headers).to_have_count(4)  # the metric, then three assets
    finally:
        context.close()
