"""Sharing endpoints of the REST API v1: the owner's link, and the public read."""

from django.urls import path

from sharing import api

urlpatterns = [
    path(
        "portfolios/<int:pk>/share/",
        api.PortfolioShareLinkView.as_view(),
        name="portfolio-share",
    ),
    path(
        "share/<str:token>/",
        api.SharedPortfolioView.as_view(),
        name="shared-portfolio",
    ),
]
