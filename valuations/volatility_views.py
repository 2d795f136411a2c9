"""The volatility page: are large caps less volatile? The tiers' numbers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from valuations.volatility import market_volatility


def volatility_page(request: HttpRequest) -> HttpResponse:
    """Each tier's index volatility over 365, 90 and 30 days, with its coverage."""
    windows = market_volatility()[::-1]  # the year first: the claim is about it
    return render(
        request,
        "valuations/volatility.html",
        {"windows": windows, "year": windows[0] if windows else None},
    )
