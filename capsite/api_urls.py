"""URLs of the REST API v1, its schema and docs."""

from __future__ import annotations

from csp.decorators import csp_update
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from valuations import api as market_api
from valuations import compare_api, history_api, volatility_api

app_name = "api"

v1: list[URLPattern | URLResolver] = [
    path(
        "assets/",
        market_api.conditional(market_api.AssetListView.as_view()),
        name="asset-list",
    ),
    # Before assets/<slug>/, which would take "compare" for a slug.
    path(
        "assets/compare/",
        market_api.conditional(compare_api.AssetCompareView.as_view()),
        name="asset-compare",
    ),
    path(
        "assets/<slug:slug>/",
        market_api.conditional(market_api.AssetDetailView.as_view()),
        name="asset-detail",
    ),
    path(
        "assets/<slug:slug>/history/",
        market_api.conditional(market_api.AssetHistoryView.as_view()),
        name="asset-history",
    ),
    path(
        "market/",
        market_api.conditional(market_api.MarketView.as_view()),
        name="market",
    ),
    path(
        "market/history/",
        market_api.conditional(history_api.MarketHistoryView.as_view()),
        name="market-history",
    ),
    path(
        "market/volatility/",
        market_api.conditional(volatility_api.MarketVolatilityView.as_view()),
        name="market-volatility",
    ),
    path("calculator/", market_api.CalculatorView.as_view(), name="calculator"),
    path("", include("portfolios.api_urls")),
    path("", include("alerts.api_urls")),
    path("", include("jobs.api_urls")),
    path("", include("tokens.api_urls")),
    path("", include("sharing.api_urls")),
    path("", include("accounts.api_urls")),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI styles its widgets inline; the rest of the site keeps a strict CSP.
    path(
        "docs/",
        csp_update({"style-src": ["'self'", "'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
]
