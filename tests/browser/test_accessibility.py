"""Accessibility (issue 15): axe-core finds nothing, in both themes, at both widths.

axe-core is vendored in tests/browser/vendor/ (see its README) and injected
into each page by the test, offline; users never download it. The pages carry
the bundled market data and the demo portfolio, so every badge, flag and chart
a person meets is on them. The keyboard tests press Tab as a person would.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portfolios.demo import create_demo_portfolio
from portfolios.models import Portfolio
from tests.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
# WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.fixture
def demo(transactional_db, live_server) -> Portfolio:
    """The bundled market and the demo user's portfolio, and two notifications."""
    call_command("load_market_data", stdout=io.StringIO())
    owner = UserFactory(username="demo")
    portfolio = create_demo_portfolio(owner=owner)
    assert portfolio is not None
    NotificationFactory(user=owner, portfolio=portfolio, title="Mid cap drifted")
    NotificationFactory(
        user=owner, title="Read already", read_at=datetime(2026, 4, 30, tzinfo=UTC)
    )
    return portfolio


@pytest.fixture
def context_for(browser: Browser, live_server) -> Iterator:
    """Make browser contexts (a fresh "browser profile" each), closed afterwards."""
    made: list[BrowserContext] = []

    def make(scheme: str = "light", viewport: dict[str, int] = DESKTOP) -> Page:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, color_scheme=scheme
        )
        context.set_default_timeout(10_000)
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


def _sign_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(PASSWORD)
    # The first submit button on the page is the header's Log out.
    page.locator("form.stack button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portfolios/$"))


def _theme(page: Page) -> str:
    """Which theme the page shows, read from the colour actually painted."""
    luminance = page.evaluate(
        """() => {
          const [r, g, b] = getComputedStyle(document.documentElement)
            .backgroundColor.match(/\\d+/g).map(Number);
          return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
        }"""
    )
    return "dark" if luminance < 0.5 else "light"


def _axe(page: Page) -> list[str]:
    """Run axe-core's WCAG 2 A/AA rules on the page; one line per violation."""
    # Evaluated through the DevTools protocol: the site's CSP (script-src 'self')
    # would refuse it as an inline <script>, and the CSP stays on under test.
    page.evaluate(AXE)
    result = page.evaluate(
        """tags => axe.run(document, {
             runOnly: {type: 'tag', values: tags},
             resultTypes: ['violations'],
           })""",
        WCAG_AA,
    )
    return [
        f"{violation['id']} ({violation['impact']}) at "
        f"{node['target']}: {node['failureSummary'].splitlines()[-1].strip()}"
        for violation in result["violations"]
        for node in violation["nodes"][:3]
    ]


def _pages(portfolio: Portfolio) -> list[str]:
    return [
        "/",
        "/assets/bitcoin/",
        "/calculator/?price=20&circulating_supply=50000000"
        "&max_supply=200000000&volume_24h=30000000",
        "/portfolios/",
        portfolio.get_absolute_url(),
        "/notifications/",
        "/accounts/",
        "/no-such-page/",  # the 404 page, as DEBUG is off under test
    ]


def _audit(page: Page, portfolio: Portfolio, theme: str) -> list[str]:
    """axe on the login page, then signed in on every other page, at both widths."""
    problems = []
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        width = viewport["width"]
        page.goto("/accounts/login/")
        problems += [f"login {theme} {width}: {p}" for p in _axe(page)]
        if width == PHONE["width"]:
            _sign_in(page)
        for path in _pages(portfolio):
            page.goto(path)
            assert _theme(page) == theme, f"{path} is not {theme}"
            problems += [f"{path} {theme} {width}: {p}" for p in _axe(page)]
    return problems


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe_wcag_aa_in_the_systems_theme(context_for, demo, scheme):
    page = context_for(scheme)

    problems = _audit(page, demo, scheme)

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("system", "chosen"), [("light", "dark"), ("dark", "light")])
def test_every_page_passes_axe_wcag_aa_in_the_theme_chosen_with_the_toggle(
    context_for, demo, system, chosen
):
    page = context_for(system)
    page.goto("/accounts/login/")
    page.locator("#theme-toggle").click()
    assert _theme(page) == chosen

    # Every later page keeps the choice (localStorage), so all are audited in it.
    problems = _audit(page, demo, chosen)

    assert not problems, "\n".join(problems)


# The theme toggle


def test_the_toggle_switches_the_theme_and_this_browser_remembers_it(
    context_for, transactional_db
):
    page = context_for("light")
    page.goto("/calculator/")
    toggle = page.get_by_role("button", name="Dark theme")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert _theme(page) == "light"

    toggle.click()

    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert _theme(page) == "dark"
    page.reload()
    assert _theme(page) == "dark"
    page.goto("/accounts/login/")
    assert _theme(page) == "dark"
    expect(page.get_by_role("button", name="Dark theme")).to_have_attribute(
        "aria-pressed", "true"
    )
    elsewhere = context_for("light")  # another browser: its own choice
    elsewhere.goto("/calculator/")
    assert _theme(elsewhere) == "light"

    page.get_by_role("button", name="Dark theme").click()
    page.reload()
    assert _theme(page) == "light"


def test_without_a_choice_the_theme_follows_the_system_setting_as_it_changes(
    context_for, transactional_db
):
    page = context_for("dark")
    page.goto("/calculator/")
    toggle = page.get_by_role("button", name="Dark theme")
    assert _theme(page) == "dark"
    expect(toggle).to_have_attribute("aria-pressed", "true")

    page.emulate_media(color_scheme="light")

    assert _theme(page) == "light"
    expect(toggle).to_have_attribute("aria-pressed", "false")


def test_a_remembered_theme_is_already_on_the_first_frame(
    context_for, transactional_db
):
    page = context_for("dark")
    page.goto("/calculator/")
    page.get_by_role("button", name="Dark theme").click()  # light, on a dark system
    # The colour of the first frame drawn after the next navigation, before any
    # deferred script could have run: no flash of the system's dark theme.
    page.add_init_script(
        """requestAnimationFrame(() => {
             window.firstFrame = getComputedStyle(document.documentElement)
               .backgroundColor;
           });"""
    )

    page.goto("/accounts/login/")

    first = page.evaluate("window.firstFrame")
    assert first == page.evaluate(
        "getComputedStyle(document.documentElement).backgroundColor"
    )
    assert _theme(page) == "light"


# Keyboard


FOCUSABLE = """() => {
  // Everything Tab should reach: shown, enabled, not taken out of the order.
  // A link or control taken out with tabindex="-1" still counts: Tab must reach it.
  const found = [...document.querySelectorAll(
    'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])'
  )].filter(el => !el.disabled && !el.closest('[inert]')
    && getComputedStyle(el).visibility !== 'hidden' && el.getClientRects().length);
  found.forEach((el, i) => { el.dataset.kb = String(i); });
  return found.map(el => `${el.tagName.toLowerCase()} "${
    (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '')
      .trim().slice(0, 40)}"`);
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || !el.dataset || el.dataset.kb === undefined) return null;
  const rgb = c => (c.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const lum = c => {
    const [r, g, b] = rgb(c).map(v => v / 255).map(
      v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  // The ring is drawn outside the element: compare it with what is behind.
  let behind = getComputedStyle(document.documentElement).backgroundColor;
  for (let e = el.parentElement; e; e = e.parentElement) {
    const c = getComputedStyle(e).backgroundColor;
    if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { behind = c; break; }
  }
  const style = getComputedStyle(el);
  const [hi, lo] = [lum(style.outlineColor), lum(behind)].sort((a, b) => b - a);
  const box = el.getBoundingClientRect();
  return {
    kb: Number(el.dataset.kb),
    text: (el.innerText || '').trim(),
    ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
    contrast: (hi + 0.05) / (lo + 0.05),
    onScreen: box.bottom > 0 && box.top < innerHeight && box.right > 0
      && box.left < innerWidth,
    inMain: !!el.closest('main#content'),
  };
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_tab_reaches_the_skip_link_first_then_everything_with_a_visible_ring(
    context_for, demo, viewport, scheme
):
    page = context_for(scheme, viewport)
    _sign_in(page)
    page.goto("/")
    focusable = page.evaluate(FOCUSABLE)

    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED)
    visited = [first]
    for _ in range(len(focusable) + 2):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None or now["kb"] == first["kb"]:
            break  # left the page, or came round again
        visited.append(now)

    assert first["text"] == "Skip to content"
    assert first["onScreen"], "the focused skip link must be seen"
    missed = set(range(len(focusable))) - {v["kb"] for v in visited}
    assert not missed, "Tab never reaches: " + ", ".join(
        focusable[i] for i in sorted(missed)
    )
    faint = [
        f"{focusable[v['kb']]} ({v['contrast']:.1f}:1)"
        for v in visited
        if not v["ring"] or v["contrast"] < 3
    ]
    assert not faint, "no visible focus ring on: " + ", ".join(faint)


def test_the_skip_link_moves_the_keyboard_to_the_main_content(
    context_for, transactional_db
):
    page = context_for("light", PHONE)
    page.goto("/calculator/")
    page.evaluate(FOCUSABLE)

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")

    assert page.url.endswith("#content")
    focused = page.evaluate(FOCUSED)
    assert focused["inMain"], f"Tab after the skip link went to {focused['text']!r}"


# Error pages in the browser


def test_an_error_page_offers_the_way_back_it_came(context_for, transactional_db):
    page = context_for("light", PHONE)
    page.goto("/calculator/")
    page.evaluate("location.href = '/no-such-page/'")  # as a link would
    back = page.get_by_role("button", name="Back to the previous page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Go to the market page")).to_be_visible()

    back.click()

    expect(page).to_have_url(re.compile(r"/calculator/$"))
    opened = context_for("light", PHONE)  # typed in a new tab: nowhere to go back
    opened.goto("/no-such-page/")
    expect(opened.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(
        opened.get_by_role("button", name="Back to the previous page")
    ).to_be_hidden()
