"""On a phone the numbers that matter are on screen; the rest is one tap away.

At 390 px the market table shows each asset's price and market cap, the
portfolio page its holdings' value and weight and each bucket's drift, and the
ledger one card per transaction, without scrolling sideways. "Show all
columns" brings back the others; at 1280 px every column shows as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.test_journey import _market
from tests.factories import PortfolioFactory, TransactionFactory, UserFactory
from tests.valuations.test_volatility import build_volatility_market
from valuations.models import Asset

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct-horse-battery"  # UserFactory's


def _within(cell: Locator, width: int) -> None:
    """The cell is shown and lies inside the viewport's width."""
    expect(cell).to_be_visible()
    box = cell.bounding_box()
    assert box is not None
    assert 0 <= box["x"] and box["x"] + box["width"] <= width, (
        f"{cell.inner_text()!r} spans {box['x']:.0f}–{box['x'] + box['width']:.0f}px"
    )


def _no_sideways_scroll(page: Page, width: int) -> None:
    wide = page.evaluate(
        "Math.max(...[...document.querySelectorAll('.table-wrap')]"
        ".map(w => w.scrollWidth - w.clientWidth), 0)"
    )
    assert wide <= 1, f"a table scrolls sideways by {wide}px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


def _signed_in(browser: Browser, live_server, viewport: dict[str, int]) -> Page:
    owner = UserFactory(username="phone")
    portfolio = PortfolioFactory(owner=owner, name="Phone")
    for slug, quantity in [("bitcoin", "0.1"), ("midcoin", "300"), ("tether", "500")]:
        TransactionFactory(
            portfolio=portfolio,
            asset=Asset.objects.get(slug=slug),
            quantity=Decimal(quantity),
            unit_price=Decimal("1"),
            note="A note long enough to need room on a small screen",
        )
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("phone")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.goto(portfolio.get_absolute_url())
    return page


@contextmanager
def _phone(browser: Browser, live_server, path: str) -> Iterator[Page]:
    """A signed-out page at phone width, opened at ``path``."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(path)
        yield page
    finally:
        context.close()


def test_the_market_table_shows_price_and_cap_on_a_phone(browser: Browser, live_server):
    _market()
    with _phone(browser, live_server, "/") as page:
        bitcoin = page.locator("table.assets tbody tr").first
        cells = bitcoin.locator("td")
        expect(bitcoin).to_contain_text("Bitcoin")

        for text in ("Bitcoin", "$50,000.00", "$975.00B"):
            _within(cells.filter(has_text=text).first, PHONE["width"])
        expect(page.get_by_role("columnheader", name="FDV")).to_be_hidden()
        _no_sideways_scroll(page, PHONE["width"])

        page.get_by_label("Show all columns").check()
        expect(page.get_by_role("columnheader", name="FDV")).to_be_visible()
        expect(page.get_by_role("columnheader", name="Dominance")).to_be_visible()
        # The full table scrolls inside its frame, never the page.
        assert (
            page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        )


def test_the_volatility_page_fits_a_phone(browser: Browser, live_server):
    build_volatility_market()
    with _phone(browser, live_server, "/volatility/") as page:
        claim = page.locator("#claim")

        # The claim spans the page, not half of a two-card grid.
        box = claim.bounding_box()
        assert box is not None and box["width"] >= PHONE["width"] - 40
        month = page.locator("#table-volatility-30")
        expect(month.get_by_role("columnheader", name="Daily returns")).to_be_hidden()
        _within(month.locator("tbody tr").first.locator("td").nth(1), PHONE["width"])
        _no_sideways_scroll(page, PHONE["width"])


def test_the_asset_page_fits_a_phone(browser: Browser, live_server):
    build_volatility_market()
    with _phone(browser, live_server, "/assets/a/") as page:
        peers = page.locator("section[aria-label='Category peers']")
        expect(peers.get_by_role("columnheader", name="Median cap")).to_be_visible()
        _within(peers.locator("tbody td").last, PHONE["width"])
        _no_sideways_scroll(page, PHONE["width"])


def test_every_column_shows_on_a_desktop(page: Page):
    _market()
    page.goto("/")

    expect(page.get_by_label("Show all columns")).to_be_hidden()
    for name in ("FDV", "Dominance", "Tier", "Market cap"):
        expect(page.get_by_role("columnheader", name=name)).to_be_visible()


def test_the_portfolio_shows_value_weight_and_drift_on_a_phone(
    browser: Browser, live_server
):
    _market()
    page = _signed_in(browser, live_server, PHONE)
    try:
        holding = page.locator("table.holdings tbody tr").filter(has_text="Bitcoin")
        # 0.1 BTC at $50,000 = $5,000 of $5,000 + 300 × $10 + 500 × $1 = $8,500:
        # 58.82 % of the portfolio.
        _within(holding.locator("td").filter(has_text="$5,000").first, PHONE["width"])
        _within(holding.locator("td").filter(has_text="58.82 %").first, PHONE["width"])

        large = page.locator("table.drift tbody tr").filter(has_text="large")
        _within(large.locator("td").filter(has_text="58.82 %"), PHONE["width"])
        _within(large.locator("td").filter(has_text="pts"), PHONE["width"])
        _no_sideways_scroll(page, PHONE["width"])
    finally:
        page.context.close()


def test_the_ledger_is_a_card_per_transaction_on_a_phone(browser: Browser, live_server):
    _market()
    page = _signed_in(browser, live_server, PHONE)
    try:
        page.goto(page.url + "transactions/")
        row = page.locator("table.ledger tbody tr").filter(has_text="Midcoin")
        for text in ("Midcoin", "$300", "300", "Buy", "Edit"):
            _within(row.locator("td").filter(has_text=text).first, PHONE["width"])
        expect(row.get_by_text("A note long enough")).to_be_hidden()
        _no_sideways_scroll(page, PHONE["width"])

        page.get_by_label("Show all columns").check()
        expect(row.get_by_text("A note long enough")).to_be_visible()
    finally:
        page.context.close()
