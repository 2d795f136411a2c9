"""The target form and the rebalancing plan in headless Chromium, phone and desktop.

Choosing a preset fills the weights; typing a weight switches to Custom, and
the typed weights are what gets saved. The plan's trades can be copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from portfolios.models import Portfolio
from tests.browser.test_journey import _market
from tests.factories import PortfolioFactory, TransactionFactory, UserFactory
from valuations.models import Asset

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # UserFactory's
SIZES = {
    "phone": {"width": 390, "height": 844},
    "desktop": {"width": 1280, "height": 900},
}
WEIGHTS = ("Large cap %", "Mid cap %", "Small cap %", "Stablecoins %")


@pytest.fixture(params=list(SIZES))
def signed_in(request, browser: Browser, live_server) -> Iterator[Page]:
    """A signed-in page at a phone's or a desktop's size."""
    UserFactory(username="dana")
    context = browser.new_context(
        base_url=live_server.url, viewport=SIZES[request.param]
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("dana")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portfolios/$"))
    try:
        yield page
    finally:
        context.close()


def _weights(page: Page) -> list[str]:
    return [page.get_by_label(label).input_value() for label in WEIGHTS]


def test_choosing_a_preset_fills_the_weights(signed_in: Page):
    page = signed_in
    page.goto("/portfolios/new/")
    preset = page.get_by_label("Target mix")

    expect(preset).to_have_value("balanced")
    assert _weights(page) == ["50", "30", "15", "5"]
    preset.select_option("aggressive")
    assert _weights(page) == ["30", "35", "30", "5"]
    preset.select_option("conservative")
    assert _weights(page) == ["70", "20", "5", "5"]
    preset.select_option("custom")
    assert _weights(page) == ["70", "20", "5", "5"]  # Custom keeps what is there


def test_typed_weights_switch_to_custom_and_survive_submission(signed_in: Page):
    page = signed_in
    page.goto("/portfolios/new/")
    page.get_by_label("Name").fill("Mine")
    for label, weight in zip(WEIGHTS, ("40", "30", "20", "10"), strict=True):
        page.get_by_label(label).fill(weight)

    expect(page.get_by_label("Target mix")).to_have_value("custom")
    page.get_by_role("button", name="Create portfolio").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Mine")
    saved = Portfolio.objects.get(name="Mine")
    assert [
        saved.target_large,
        saved.target_mid,
        saved.target_small,
        saved.target_stable,
    ] == [Decimal(40), Decimal(30), Decimal(20), Decimal(10)]
    page.goto(f"/portfolios/{saved.pk}/edit/")
    expect(page.get_by_label("Target mix")).to_have_value("custom")
    assert [Decimal(w) for w in _weights(page)] == [40, 30, 20, 10]


def test_a_sum_error_is_shown_once_and_keeps_the_typed_weights(signed_in: Page):
    page = signed_in
    page.goto("/portfolios/new/")
    page.get_by_label("Name").fill("Off by ten")
    page.get_by_label("Small cap %").fill("5")
    page.get_by_role("button", name="Create portfolio").click()

    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Target weights must add up to 100 %; these add up to 90 %."
    )
    expect(page.get_by_label("Target mix")).to_have_value("custom")
    assert _weights(page) == ["50", "30", "5", "5"]
    assert not Portfolio.objects.filter(name="Off by ten").exists()


def test_the_plan_lists_trades_by_name_and_copies_them(browser: Browser, live_server):
    _market()  # bitcoin $50,000, midcoin $10, smallcoin $0.50, tether $1
    owner = UserFactory(username="erin")
    portfolio = PortfolioFactory(owner=owner, name="Plan")
    for slug, quantity in [
        ("bitcoin", "0.01"),
        ("midcoin", "20"),
        ("smallcoin", "400"),
    ]:
        TransactionFactory(
            portfolio=portfolio,
            asset=Asset.objects.get(slug=slug),
            quantity=Decimal(quantity),
            unit_price=Decimal("1"),
        )
    for size in SIZES.values():
        context = browser.new_context(base_url=live_server.url, viewport=size)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        try:
            page = context.new_page()
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill("erin")
            page.get_by_label("Password").fill(PASSWORD)
            page.locator("form.stack button[type=submit]").click()
            page.goto(f"{portfolio.get_absolute_url()}?mode=buy_only&cash=1000")

            # $900 + $1,000 at 50/30/15/5: every bucket topped up to its goal.
            trades = page.locator("table.trades tbody tr")
            expect(trades).to_have_count(4)
            bitcoin = trades.filter(has_text="Bitcoin")
            expect(bitcoin).to_contain_text("BTC")
            expect(bitcoin).to_contain_text("buy $450.00")
            expect(bitcoin).to_contain_text("0.009")
            wide = page.evaluate(
                "(() => { const w = document.querySelector('table.trades')"
                ".closest('.table-wrap'); return w.scrollWidth - w.clientWidth; })()"
            )
            assert wide <= 1, f"the trades table scrolls sideways by {wide}px"

            page.get_by_role("button", name="Copy").click()
            expect(page.locator("#plan-copy-status")).to_have_text("Copied.")
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied.splitlines() == [
                "Buy 0.009 BTC (Bitcoin) for $450.00 at $50,000.00",
                "Buy 37 MID (Midcoin) for $370.00 at $10.00",
                "Buy 170 SML (Smallcoin) for $85.00 at $0.5000",
                "Buy 95 USDT (Tether) for $95.00 at $1.00",
            ]
        finally:
            context.close()
