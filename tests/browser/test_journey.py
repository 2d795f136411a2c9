"""A visitor's journey through the site in headless Chromium, against live_server."""

from __future__ import annotations

import math
import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.factories import AssetFactory, CategoryFactory

pytestmark = pytest.mark.browser

SCREENSHOT = Path(os.environ.get("CAPSITE_SCREENSHOTS", tempfile.gettempdir()))
PHONE = {"width": 390, "height": 844}


def _market() -> None:
    """One asset per tier and a stablecoin, each trading 20 % of its cap a day."""
    for slug, symbol, price, circulating in [
        ("bitcoin", "btc", "50000", "19500000"),  # $975B: large
        ("midcoin", "mid", "10", "200000000"),  # $2B: mid
        ("smallcoin", "sml", "0.5", "100000000"),  # $50M: small
    ]:
        cap = Decimal(price) * Decimal(circulating)
        AssetFactory(
            slug=slug,
            symbol=symbol,
            name=slug.title(),
            price=Decimal(price),
            circulating_supply=Decimal(circulating),
            total_supply=Decimal(circulating),
            max_supply=Decimal(circulating),
            volume_24h=cap / 5,  # healthy liquidity: no flag
        )
    AssetFactory(
        slug="tether",
        symbol="usdt",
        name="Tether",
        price=Decimal("1"),
        circulating_supply=Decimal("50000000000"),
        total_supply=Decimal("50000000000"),
        max_supply=None,
        volume_24h=Decimal("10000000000"),
        categories=[CategoryFactory(slug="stablecoins", is_stablecoin=True)],
    )


def _record_buy(
    page: Page, portfolio_url: str, asset: str, qty: str, price: str
) -> None:
    page.goto(f"{portfolio_url}transactions/new/")
    page.get_by_label("Asset").fill(asset)
    page.get_by_label("Type").select_option("buy")
    page.get_by_label("Quantity").fill(qty)
    page.get_by_label("Unit price (USD)").fill(price)
    page.get_by_label("Date and time (UTC)").fill("2026-01-15T10:00")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(portfolio_url)}$"))
    expect(page.locator(".messages")).to_contain_text("Transaction recorded.")


def test_sign_up_build_a_portfolio_plan_a_rebalance_and_log_out(page: Page):
    _market()

    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email").fill("carol@example.com")
    page.locator("#id_password1").fill("a-long-unguessable-passphrase")
    page.locator("#id_password2").fill("a-long-unguessable-passphrase")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/portfolios/$"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    expect(nav).to_contain_text("carol")

    page.goto("/portfolios/new/")
    page.get_by_label("Name").fill("Long term")
    page.get_by_label("Target mix").select_option("balanced")
    page.get_by_role("button", name="Create portfolio").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Long term")
    portfolio_url = re.sub(r"^https?://[^/]+", "", page.url)
    assert re.fullmatch(r"/portfolios/\d+/", portfolio_url), page.url

    # $500 large, $200 mid, $200 small, bought at today's prices.
    _record_buy(page, portfolio_url, "bitcoin", "0.01", "50000")
    _record_buy(page, portfolio_url, "midcoin", "20", "10")
    _record_buy(page, portfolio_url, "smallcoin", "400", "0.5")

    holdings = page.locator("table.holdings tbody tr")
    expect(holdings).to_have_count(3)
    for name in ("Bitcoin", "Midcoin", "Smallcoin"):
        expect(holdings.filter(has_text=name)).to_have_count(1)
    expect(page.locator(".cards")).to_contain_text("$900.00")

    legend = page.locator("section[aria-labelledby=mix-title] ul.legend").first
    expect(legend).to_contain_text("Large cap 55.56 %")
    expect(legend).to_contain_text("Mid cap 22.22 %")
    expect(legend).to_contain_text("Small cap 22.22 %")

    weights = [5 / 9, 2 / 9, 2 / 9]
    score = -sum(w * math.log(w) for w in weights) / math.log(3)
    facts = page.locator("section[aria-labelledby=div-title] dl.facts")
    expect(facts.locator("div", has_text="Tier score").locator("dd")).to_have_text(
        f"{score:.2f}"
    )

    page.get_by_label("Mode").select_option("buy_only")
    page.get_by_label("New cash (USD)").fill("1000")
    page.get_by_role("button", name="Plan").click()
    expect(page).to_have_url(re.compile(r"mode=buy_only"))
    expect(page.locator("#plan-title + form + p")).to_contain_text("Splits $1,000")
    trades = page.locator("table.trades tbody")
    # 1,900 after the cash at 50/30/15/5: each bucket is topped up to its goal.
    for asset, amount in [
        ("bitcoin", "$450.00"),
        ("midcoin", "$370.00"),
        ("smallcoin", "$85.00"),
        ("tether", "$95.00"),
    ]:
        expect(trades.locator("tr", has_text=asset)).to_contain_text(f"buy {amount}")
    assert "sell" not in trades.inner_text().lower()
    page.screenshot(path=SCREENSHOT / "journey.png", full_page=True)

    nav.get_by_role("button", name="Log out").click()
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_have_count(0)
    page.goto("/portfolios/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/portfolios/$"))
