"""The History charts in headless Chromium: they fit a phone, and read out a day
from the keyboard, the mouse and the table."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from portfolios import services
from portfolios.models import Portfolio, Transaction
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    PortfolioFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

SCREENSHOT = Path(os.environ.get("CAPSITE_SCREENSHOTS", tempfile.gettempdir()))
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
SIZES = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 900},
}
D = Decimal


def _portfolio() -> Portfolio:
    """COIN (mid cap) bought on 1 Jan, USDC on 2 Jan; COIN $100 → $150 by 3 Jan.

    Value $1,000, $2,000, $2,500; net invested $1,000, $2,000, $2,000.
    """
    user = UserFactory(username="vera")
    portfolio = PortfolioFactory(owner=user, name="Charts")
    coin = AssetFactory(
        slug="coin", symbol="coin", name="Coin", price=D(150), circulating_supply=D(5e7)
    )
    usdc = AssetFactory(
        slug="usd-coin",
        symbol="usdc",
        name="USDC",
        price=D(1),
        circulating_supply=D(5e10),
        categories=[CategoryFactory(slug="stablecoins", is_stablecoin=True)],
    )
    for day, price in ((1, "100"), (2, "100"), (3, "150")):
        for asset, at in ((coin, D(price)), (usdc, D(1))):
            MarketSnapshotFactory(
                asset=asset,
                taken_at=datetime(2026, 1, day, 12, tzinfo=UTC),
                price=at,
                circulating_supply=asset.circulating_supply,
            )
    for asset, quantity, price, day in ((coin, "10", "100", 1), (usdc, "1000", "1", 2)):
        services.record_transaction(
            portfolio=portfolio,
            asset=asset,
            kind=Transaction.Kind.BUY,
            quantity=D(quantity),
            unit_price=D(price),
            fee=D(0),
            executed_at=datetime(2026, 1, day, 13, tzinfo=UTC),
        )
    return portfolio


def _signed_in(browser: Browser, live_server, viewport: dict[str, int]) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    expect(page.locator(".nav")).to_contain_text("vera")
    return page


@pytest.mark.parametrize("size", list(SIZES))
def test_history_charts_fit_the_screen_and_the_keyboard_reads_out_a_day(
    browser: Browser, live_server, settings, size: str
):
    settings.AXES_ENABLED = False
    portfolio = _portfolio()
    viewport = SIZES[size]
    page = _signed_in(browser, live_server, viewport)
    try:
        page.goto(f"{portfolio.get_absolute_url()}?range=all")
        figures = page.locator("figure.timechart")
        expect(figures).to_have_count(2)
        value, mix = figures.nth(0), figures.nth(1)

        # Nothing scrolls sideways; each chart is inside the viewport's width.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"page is {width}px wide"
        for figure in (value, mix):
            box = figure.bounding_box()
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= viewport["width"]
            label = figure.locator("svg.graph text").first
            size_px = label.evaluate("t => parseFloat(getComputedStyle(t).fontSize)")
            assert size_px >= 11, "gridline and date labels stay legible"

        # Until a day is picked, the legend reads out the last one.
        readout = value.locator(".readout")
        expect(readout.locator(".when")).to_have_text("3 Jan 2026")
        expect(readout).to_contain_text("Value $2,500")
        expect(readout).to_contain_text("Net invested $2,000")
        expect(value.locator(".cursor")).to_be_hidden()

        # Tab from the range links reaches the chart's slider.
        page.locator("nav.tabs a").last.focus()
        slider = value.get_by_role(
            "slider", name="Value and net invested (USD): day shown"
        )
        for _ in range(10):
            page.keyboard.press("Tab")
            if slider.evaluate("s => document.activeElement === s"):
                break
        expect(slider).to_be_focused()
        expect(value.locator(".cursor")).to_be_visible()

        page.keyboard.press("ArrowLeft")
        expect(readout.locator(".when")).to_have_text("2 Jan 2026")
        expect(readout).to_contain_text("Value $2,000")
        expect(slider).to_have_attribute(
            "aria-valuetext", "2 Jan 2026: Value $2,000, Net invested $2,000"
        )
        page.keyboard.press("Home")
        expect(readout.locator(".when")).to_have_text("1 Jan 2026")
        expect(readout).to_contain_text("Value $1,000")
        dot = value.locator(".cursor .dot.value")
        assert dot.get_attribute("cx") == "0%"

        mix_slider = mix.get_by_role("slider")
        mix_slider.focus()
        page.keyboard.press("ArrowLeft")
        expect(mix.locator(".readout")).to_contain_text("Mid cap 50.0 %")
        expect(mix.locator(".readout")).to_contain_text("Stablecoins 50.0 %")

        # Every figure is in the table, for screen readers and for copying.
        value.get_by_text("Show the data as a table").click()
        rows = value.locator(".chart-data tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(2)).to_have_text("3 Jan 2026$2,500$2,000")
        page.screenshot(path=SCREENSHOT / f"history-charts-{size}.png", full_page=True)
    finally:
        page.context.close()


def test_pointing_at_the_chart_reads_out_the_day_under_the_mouse(
    browser: Browser, live_server, settings
):
    settings.AXES_ENABLED = False
    portfolio = _portfolio()
    page = _signed_in(browser, live_server, SIZES["desktop"])
    try:
        page.goto(f"{portfolio.get_absolute_url()}?range=all")
        value = page.locator("figure.timechart").first
        value.scroll_into_view_if_needed()
        box = value.locator("svg.area").bounding_box()

        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
        expect(value.locator(".readout .when")).to_have_text("2 Jan 2026")
        expect(value.locator(".readout")).to_contain_text("Value $2,000")
        expect(value.locator(".cursor")).to_be_visible()

        page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
        expect(value.locator(".readout .when")).to_have_text("1 Jan 2026")

        # Leaving the chart goes back to the slider's day: the last one.
        page.mouse.move(0, 0)
        expect(value.locator(".readout .when")).to_have_text("3 Jan 2026")
        expect(value.locator(".cursor")).to_be_hidden()
    finally:
        page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_asset_price_chart_fits_and_reads_out_a_snapshot(
    browser: Browser, live_server, size: str
):
    coin = AssetFactory(slug="coin", symbol="coin", name="Coin", price=D("1.2"))
    for day, price in ((1, "1"), (2, "1.5"), (3, "1.2")):
        MarketSnapshotFactory(
            asset=coin,
            taken_at=datetime(2026, 4, day, 12, tzinfo=UTC),
            price=D(price),
            circulating_supply=D(1_000_000),
        )
    viewport = SIZES[size]
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    try:
        page = context.new_page()
        page.goto("/assets/coin/")
        figure = page.locator("figure.timechart")
        expect(figure).to_have_count(1)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"page is {width}px wide"
        box = figure.bounding_box()
        assert box["x"] + box["width"] <= viewport["width"]

        slider = figure.get_by_role("slider")
        slider.focus()
        page.keyboard.press("ArrowLeft")
        readout = figure.locator(".readout")
        expect(readout.locator(".when")).to_have_text("2 Apr 2026")
        expect(readout).to_contain_text("Price $1.50")
        expect(readout).to_contain_text("Market cap $1.50M")
        page.screenshot(path=SCREENSHOT / f"asset-chart-{size}.png", full_page=True)
    finally:
        context.close()
