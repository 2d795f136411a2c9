"""Portfolio endpoints of the REST API v1 (owner only)."""

from django.urls import path

from portfolios import api

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="auth-token"),
    path(
        "portfolios/",
        api.PortfolioViewSet.as_view({"get": "list", "post": "create"}),
        name="portfolio-list",
    ),
    path(
        "portfolios/<int:pk>/",
        api.PortfolioViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="portfolio-detail",
    ),
    path(
        "portfolios/<int:pk>/holdings/",
        api.PortfolioViewSet.as_view({"get": "holdings"}),
        name="portfolio-holdings",
    ),
    path(
        "portfolios/<int:pk>/allocation/",
        api.PortfolioViewSet.as_view({"get": "allocation"}),
        name="portfolio-allocation",
    ),
    path(
        "portfolios/<int:pk>/rebalance/",
        api.PortfolioViewSet.as_view({"get": "rebalance"}),
        name="portfolio-rebalance",
    ),
    path(
        "portfolios/<int:pk>/history/",
        api.PortfolioViewSet.as_view({"get": "history"}),
        name="portfolio-history",
    ),
    path(
        "portfolios/<int:pk>/transactions/",
        api.TransactionViewSet.as_view({"get": "list", "post": "create"}),
        name="transaction-list",
    ),
    path(
        "portfolios/<int:pk>/transactions/<int:tid>/",
        api.TransactionViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
        ),
        name="transaction-detail",
    ),
]
