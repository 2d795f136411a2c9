"""The target mix form: typed weights are never replaced by a preset, one error each.

These posts are what a browser without JavaScript sends: the preset select and
the four weight fields arrive together, whatever the person touched.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from portfolios.forms import PortfolioForm
from portfolios.models import Portfolio
from tests.factories import PortfolioFactory

D = Decimal

pytestmark = pytest.mark.django_db

SUM_90 = "Target weights must add up to 100 %; these add up to 90 %."


def _post(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Growth",
        "description": "",
        "preset": "balanced",
        "target_large": "",
        "target_mid": "",
        "target_small": "",
        "target_stable": "",
        "tolerance": "5",
    }
    data.update(overrides)
    return data


def _weights(large: str, mid: str, small: str, stable: str) -> dict[str, str]:
    return {
        "target_large": large,
        "target_mid": mid,
        "target_small": small,
        "target_stable": stable,
    }


def _target(portfolio: Portfolio) -> tuple[Decimal, ...]:
    portfolio.refresh_from_db()
    return (
        portfolio.target_large,
        portfolio.target_mid,
        portfolio.target_small,
        portfolio.target_stable,
    )


def _alerts(html: str) -> list[str]:
    """The text of each message in the form's error box."""
    match = re.search(r'<div class="alert error" role="alert">(.*?)</div>', html, re.S)
    assert match, "no form errors"
    return [unescape(p) for p in re.findall(r"<p>(.*?)</p>", match.group(1))]


def _selected_preset(html: str) -> str:
    select = re.search(r'<select name="preset"[^>]*>(.*?)</select>', html, re.S)
    assert select, "no preset select"
    return re.search(r'<option value="(\w+)" selected>', select.group(1)).group(1)


# Typed weights beside a preset ------------------------------------------------------


def test_weights_typed_with_the_preset_left_on_balanced_are_saved_as_typed(
    client_logged_in,
):
    # The create page shows Balanced and 50/30/15/5; the person types over them.
    response = client_logged_in.post(
        reverse("portfolios:create"), _post(**_weights("40", "30", "20", "10"))
    )

    assert response.status_code == 302
    assert _target(Portfolio.objects.get()) == (D(40), D(30), D(20), D(10))


def test_weights_typed_on_the_edit_page_beside_the_current_preset_are_saved(
    client_logged_in, portfolio
):
    response = client_logged_in.post(
        reverse("portfolios:edit", args=[portfolio.pk]),
        _post(name="Main", **_weights("40", "30", "20", "10")),
    )

    assert response.status_code == 302
    assert _target(portfolio) == (D(40), D(30), D(20), D(10))


def test_a_preset_with_empty_weight_fields_saves_the_preset(client_logged_in):
    response = client_logged_in.post(
        reverse("portfolios:create"), _post(preset="aggressive")
    )

    assert response.status_code == 302
    assert _target(Portfolio.objects.get()) == (D(30), D(35), D(30), D(5))


def test_choosing_a_preset_on_the_edit_page_replaces_the_weights_it_showed(
    client_logged_in, user
):
    # The page showed the custom 40/30/20/10 as they are stored; only the preset
    # changed, so the person asked for Conservative.
    mine = PortfolioFactory(
        owner=user,
        name="Custom",
        target_large=D(40),
        target_mid=D(30),
        target_small=D(20),
        target_stable=D(10),
    )

    response = client_logged_in.post(
        reverse("portfolios:edit", args=[mine.pk]),
        _post(
            name="Custom",
            preset="conservative",
            **_weights("40.00", "30.00", "20.00", "10.00"),
        ),
    )

    assert response.status_code == 302
    assert _target(mine) == (D(70), D(20), D(5), D(5))


@pytest.mark.parametrize("stable", ["10", "20"], ids=["sum-100", "sum-110"])
def test_a_new_preset_and_new_weights_together_ask_which_one_and_save_nothing(
    client_logged_in, stable
):
    response = client_logged_in.post(
        reverse("portfolios:create"),
        _post(preset="aggressive", **_weights("40", "30", "20", stable)),
    )

    html = response.content.decode()
    assert response.status_code == 400
    error = re.search(r'<div class="error" id="id_preset-error">(.*?)</div>', html)
    assert unescape(error.group(1)) == (
        "You chose Aggressive and typed other weights. Choose Custom to keep your "
        "weights, or clear them to use Aggressive."
    )
    # One question, not a second message about the same weights.
    assert "add up to" not in html.replace("(must add up to 100 %)", "")
    assert 'class="alert error"' not in html
    assert not Portfolio.objects.exists()


def test_some_weights_typed_beside_a_preset_ask_for_the_others(client_logged_in):
    response = client_logged_in.post(
        reverse("portfolios:create"), _post(**_weights("60", "", "", ""))
    )

    html = response.content.decode()
    assert response.status_code == 400
    for name in ("target_mid", "target_small", "target_stable"):
        error = re.search(rf'<div class="error" id="id_{name}-error">(.*?)</div>', html)
        assert error.group(1) == "Give a weight for a custom mix (0 is fine)."
    assert 'id="id_target_large-error"' not in html
    assert _selected_preset(html) == "custom"
    assert not Portfolio.objects.exists()


# One error per problem --------------------------------------------------------------


@pytest.mark.parametrize("preset", ["custom", "balanced"])
def test_weights_not_adding_up_to_100_show_the_sum_error_once(client_logged_in, preset):
    response = client_logged_in.post(
        reverse("portfolios:create"),
        _post(preset=preset, **_weights("50", "30", "10", "0")),
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert _alerts(html) == [SUM_90]
    assert unescape(html).count("Target weights must add up to 100 %") == 1
    # Kept as typed, and shown as the custom mix they are.
    assert 'name="target_small" value="10"' in html
    assert _selected_preset(html) == "custom"
    assert not Portfolio.objects.exists()


def test_edit_with_weights_not_adding_up_shows_the_sum_error_once(
    client_logged_in, portfolio
):
    response = client_logged_in.post(
        reverse("portfolios:edit", args=[portfolio.pk]),
        _post(name="Main", preset="custom", **_weights("60", "30", "15", "5")),
    )

    assert response.status_code == 400
    assert _alerts(response.content.decode()) == [
        "Target weights must add up to 100 %; these add up to 110 %."
    ]
    assert _target(portfolio) == (D(50), D(30), D(15), D(5))


# The page and its script ------------------------------------------------------------


def test_the_form_page_loads_its_script_and_the_preset_weights(client_logged_in):
    html = client_logged_in.get(reverse("portfolios:create")).content.decode()

    assert '<script src="/static/portfolios/target.js" defer></script>' in html
    data = re.search(
        r'<script id="target-presets" type="application/json">(.*?)</script>', html
    )
    assert json.loads(data.group(1))["conservative"] == {
        "target_large": "70",
        "target_mid": "20",
        "target_small": "5",
        "target_stable": "5",
    }


def test_the_form_treats_unchanged_weights_as_shown_not_typed(portfolio):
    # Bound with the values the edit page rendered: nothing was typed.
    form = PortfolioForm(
        _post(name="Main", preset="aggressive", **_weights("50", "30", "15", "5")),
        instance=portfolio,
    )

    assert form.is_valid(), form.errors
    assert [form.cleaned_data[f"target_{b}"] for b in ("large", "mid", "small")] == [
        D(30),
        D(35),
        D(30),
    ]
