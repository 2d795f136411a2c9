"""Market pages."""

from django.urls import path

from valuations import compare_views, views, volatility_views

app_name = "valuations"

urlpatterns = [
    path("", views.market, name="market"),
    path("assets/<slug:slug>/", views.asset_detail, name="asset-detail"),
    path("calculator/", views.calculator, name="calculator"),
    path("compare/", compare_views.compare_page, name="compare"),
    path("volatility/", volatility_views.volatility_page, name="volatility"),
]
