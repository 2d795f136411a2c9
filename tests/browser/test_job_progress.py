"""A person watches a 20,000-row import advance and finish, in headless Chromium.

The job runs in a background thread of the server (no broker configured, as
with `make run`); the page follows it through the job API without reloading.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from portfolios.models import Transaction
from tests.factories import AssetFactory, PortfolioFactory, UserFactory

pytestmark = pytest.mark.browser

ROWS = 20_000
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def _ledger() -> bytes:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    lines = ["executed_at,asset,kind,quantity,unit_price,fee,note"]
    lines += [
        f"{(start + timedelta(minutes=n)).isoformat()},coin,buy,0.01,100,0,"
        for n in range(ROWS)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_a_20000_row_import_shows_its_progress_and_then_its_result(
    page: Page, settings
):
    settings.CAPSITE_JOBS_INLINE = False  # a real background thread
    settings.AXES_ENABLED = False
    user = UserFactory(username="ivy")
    AssetFactory(slug="coin", symbol="cn", name="Coin")
    portfolio = PortfolioFactory(owner=user, name="Big")

    page.goto("/accounts/login/")
    page.fill("#id_username", "ivy")
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.goto(f"/portfolios/{portfolio.pk}/transactions/import/")
    page.set_input_files(
        "#id_file",
        {"name": "ledger.csv", "mimeType": "text/csv", "buffer": _ledger()},
    )
    page.click("form.stack button[type=submit]")

    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    bar = page.locator("#job-bar")
    seen: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if page.locator(".alert.success, .alert.error").count():
            break
        try:
            seen.append(
                (
                    bar.get_attribute("value", timeout=1000) or "",
                    bar.get_attribute("max", timeout=1000) or "",
                    page.locator("#job-count").inner_text(timeout=1000),
                )
            )
        except Exception:  # the page reloaded between two reads
            pass
        time.sleep(0.05)

    expect(page.locator(".alert.success")).to_contain_text(
        "20,000 transactions recorded"
    )
    expect(bar).to_have_attribute("value", str(ROWS))
    assert Transaction.objects.filter(portfolio=portfolio).count() == ROWS
    # Moving, without a reload: several different counts on the way, part done.
    counts = {text for _, _, text in seen}
    partial = [
        (value, top)
        for value, top, _ in seen
        if top == str(ROWS) and value and 0 < int(value) < ROWS
    ]
    assert len(counts) >= 3, f"the page showed only {counts}"
    assert partial, f"never saw a partly done bar: {seen[:5]}…{seen[-5:]}"
    page.get_by_role("link", name="See the result").click()
    expect(page).to_have_url(re.compile(rf"/portfolios/{portfolio.pk}/transactions/"))
