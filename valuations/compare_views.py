"""The /compare/ page: two to five assets side by side (valuations.compare)."""

from __future__ import annotations

import functools

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from valuations import compare, timecharts
from valuations.state import current_state, version_of


class CompareForm(forms.Form):
    assets = forms.CharField(
        label="Assets to compare",
        required=False,
        # Room for five ids and the spaces people type after the commas.
        max_length=compare.IDS_MAX_LENGTH + 20,
        help_text="2 to 5 asset ids as in their addresses, comma separated: "
        "bitcoin, ethereum.",
        widget=forms.TextInput(
            attrs={
                "placeholder": "bitcoin, ethereum",
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )


def _typed(request: HttpRequest) -> str:
    """The ids as one comma-separated text: the page takes ``?assets=a,b`` and
    ``?assets=a&assets=b`` (the asset page's "Compare with…" form sends both)."""
    return ",".join(v for v in request.GET.getlist("assets") if v.strip())


def compare_page(request: HttpRequest) -> HttpResponse:
    """Assets side by side: every metric, prices at each other's caps, and an
    indexed chart of their price and cap histories."""
    typed = _typed(request)
    form = CompareForm({"assets": typed} if typed else None)
    compared: list[compare.ComparedAsset] = []
    state = current_state()
    if typed and form.is_valid():
        # People type spaces and a trailing comma; the API is strict, the page not.
        items = [s.strip() for s in form.cleaned_data["assets"].split(",")]
        try:
            slugs = compare.parse_slugs(
                ",".join(s for s in items if s), field_name="assets"
            )
            compared = compare.compared_assets(
                slugs,
                total_market_cap=state.total_market_cap,
                now=timezone.now(),
                field_name="assets",
            )
        except ValidationError as err:
            form.add_error(None, err)
    status = 400 if typed and not form.is_valid() else 200
    ids = ",".join(c.asset.slug for c in compared)

    # Called by the template only when its cached content is missing: reading
    # and drawing years of days costs several times the rest of the page.
    @functools.cache
    def comparison() -> compare.Comparison:
        return compare.with_history(compared)

    @functools.cache
    def chart() -> timecharts.Chart | None:
        return compare.comparison_chart(comparison())

    context = {
        "form": form,
        "compared": compared,
        "comparison": comparison,
        "chart": chart,
        "ids": ids,
        # The content is cached per market version (staleness turns included)
        # and the ids compared, as the market page's table is.
        "content_key": f"{version_of(state, timezone.now()).tag}|{ids}",
    }
    return render(request, "valuations/compare.html", context, status=status)
