"""Light and dark themes (issue 15): every text colour pair passes WCAG AA.

The colours live as CSS variables at the top of site.css; these tests read
them from the file, so a colour changed there is checked at once, on every
pair, without a browser. tests/browser/test_accessibility.py checks the
rendered pages with axe-core.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

CSS = (
    Path(__file__).resolve().parents[1] / "capsite" / "static" / "capsite" / "site.css"
)

# Text colour on background colour, as the stylesheet pairs them.
TEXT_PAIRS = [
    ("ink", "bg"),
    ("ink", "panel"),
    ("muted", "bg"),
    ("muted", "panel"),
    ("muted", "head-bg"),
    ("muted", "hover-bg"),
    ("link", "bg"),
    ("link", "panel"),
    ("link", "hover-bg"),
    ("on-link", "link"),  # the "new" badge
    ("on-large", "large"),
    ("on-mid", "mid"),
    ("on-small", "small"),
    ("on-unranked", "unranked"),
    ("on-stable", "stable"),
    ("warn-ink", "warn-bg"),
    ("warn-ink", "panel"),
    ("warn-ink", "thin-bg"),
    ("ink", "thin-bg"),
    ("link", "thin-bg"),
    ("muted", "thin-bg"),
    ("ok", "ok-bg"),
    ("ok", "panel"),
    ("err", "err-bg"),
    ("err", "panel"),
    ("info-ink", "info-bg"),
    ("button-ink", "button-bg"),
    ("ink", "secondary-bg"),
    ("ink", "field-bg"),
]
# Focus rings and chart lines are not text: WCAG asks 3:1 of them.
GRAPHIC_PAIRS = [
    ("focus", "bg"),
    ("focus", "panel"),
    ("chart-line", "panel"),
    ("chart-accent", "panel"),
    ("benchmark", "panel"),
]


def _block(css: str, selector: str) -> str:
    start = css.index(selector + " {") + len(selector) + 2
    return css[start : css.index("}", start)]


def _colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})\s*;", block))


def _themes() -> dict[str, dict[str, str]]:
    css = CSS.read_text()
    light = _colours(_block(css, ":root"))
    dark = {**light, **_colours(_block(css, ':root[data-theme="dark"]'))}
    return {"light": light, "dark": dark}


def _luminance(colour: str) -> float:
    hex_ = colour.lstrip("#")
    if len(hex_) == 3:
        hex_ = "".join(c * 2 for c in hex_)
    channels = [int(hex_[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    )
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two sRGB colours, 1 to 21."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_wcags_reference_values():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#777", "#fff") == pytest.approx(4.48, abs=0.01)
    # The light theme's old mid and stable badges, which failed.
    assert contrast("#fff", "#3d8bd9") == pytest.approx(3.56, abs=0.01)
    assert contrast("#fff", "#3aa17e") == pytest.approx(3.19, abs=0.01)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS)
def test_text_passes_wcag_aa_in_both_themes(theme, text, background):
    colours = _themes()[theme]

    ratio = contrast(colours[text], colours[background])

    assert ratio >= 4.5, (
        f"{theme}: --{text} {colours[text]} on --{background} "
        f"{colours[background]} is {ratio:.2f}:1"
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("graphic", "background"), GRAPHIC_PAIRS)
def test_focus_rings_and_chart_lines_stand_out_in_both_themes(
    theme, graphic, background
):
    colours = _themes()[theme]

    assert contrast(colours[graphic], colours[background]) >= 3


def test_tier_colours_stay_recognisable_blue_to_light_blue_and_green():
    # Large dark blue, mid blue, small light blue, stable green: in each theme
    # the blues get lighter from large to small, and stable is the green one.
    for colours in _themes().values():
        large, mid, small = (_luminance(colours[t]) for t in ("large", "mid", "small"))
        assert large < mid < small
        for tier in ("large", "mid", "small"):
            r, g, b = (int(colours[tier][i : i + 2], 16) for i in (1, 3, 5))
            assert b > r and b > g, tier
        r, g, b = (int(colours["stable"][i : i + 2], 16) for i in (1, 3, 5))
        assert g > r and g > b


def test_the_dark_theme_is_the_same_whether_chosen_or_from_the_system():
    css = CSS.read_text()
    chosen = _block(css, ':root[data-theme="dark"]')
    system = _block(css, ':root:not([data-theme="light"])')

    def declarations(block: str) -> list[str]:
        return sorted(d.strip() for d in block.split(";") if d.strip())

    assert declarations(chosen) == declarations(system)
    # Every variable the dark theme sets, the light one sets back.
    assert set(_colours(chosen)) <= set(_themes()["light"])


@pytest.mark.django_db
def test_every_page_loads_the_theme_script_before_its_styles_and_offers_a_skip_link():
    html = Client().get("/calculator/").content.decode()
    head, body = html.split("<body>", 1)

    script = re.search(r'<script src="[^"]*capsite/theme\.js"([^>]*)>', head)
    assert script is not None
    assert "defer" not in script.group(1) and "async" not in script.group(1)
    assert head.index("theme.js") < head.index("site.css")
    # The skip link is the first thing in the body and points at <main>.
    assert body.lstrip().startswith('<a class="skip-link" href="#content">')
    assert '<main id="content"' in body
    assert 'id="theme-toggle"' in body
