"""Market pages."""

from django.urls import path

from valuations import views

app_name = "valuations"

urlpatterns = [
    path("", views.market, name="market"),
    path("assets/<slug:slug>/", views.asset_detail, name="asset-detail"),
    path("calculator/", views.calculator, name="calculator"),
]
