"""The market page's history charts in headless Chromium: phone and desktop,
light and dark; they fit, read out a day from the keyboard and pass axe."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_accessibility import _axe, _theme
from tests.valuations.market_history_data import build_market
from valuations.history import refresh_market_history

pytestmark = pytest.mark.browser

SCREENSHOT = Path(os.environ.get("CAPSITE_SCREENSHOTS", tempfile.gettempdir()))
SIZES = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 900},
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_market_history_charts_fit_read_out_and_pass_axe(
    browser: Browser, live_server, transactional_db, size: str, scheme: str
):
    build_market()
    refresh_market_history()
    viewport = SIZES[size]
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, color_scheme=scheme
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/")
        assert _theme(page) == scheme
        section = page.locator("section.market-history")
        figures = section.locator("figure.timechart")
        expect(figures).to_have_count(3)
        coverage, dominance, tiers = figures.nth(0), figures.nth(1), figures.nth(2)

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"page is {width}px wide"
        for figure in (coverage, dominance, tiers):
            box = figure.bounding_box()
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= viewport["width"]

        # Bitcoin is not covered on 3 Mar: the last day with dominance is 2 Mar.
        readout = dominance.locator(".readout")
        expect(readout.locator(".when")).to_have_text("2 Mar 2026")
        expect(readout).to_contain_text("BTC dominance 80.0 %")
        expect(readout).to_contain_text("ETH ÷ BTC 0.2400")
        slider = dominance.get_by_role("slider")
        slider.focus()
        page.keyboard.press("ArrowLeft")
        expect(readout.locator(".when")).to_have_text("1 Mar 2026")
        expect(readout).to_contain_text("ETH dominance 24.4 %")
        # 3 Mar covers only Ethereum: $240B, 19.2 % of today's $1,250B.
        expect(coverage.locator(".readout")).to_contain_text("Of today's total 19.2 %")
        tiers.get_by_role("slider").focus()
        page.keyboard.press("Home")
        expect(tiers.locator(".readout")).to_contain_text("Large cap 99.4 %")

        assert _axe(page) == []
        section.screenshot(path=SCREENSHOT / f"market-history-{size}-{scheme}.png")
    finally:
        context.close()
