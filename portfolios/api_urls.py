"""Portfolio endpoints of the REST API v1 (owner only), wired by a DRF router."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from portfolios import api

# Path converters rather than regexes: ids stay integers in the URL and schema.
router = SimpleRouter(use_regex_path=False)
router.register("portfolios", api.PortfolioViewSet, basename="portfolio")
# The ledger of one portfolio: /portfolios/<pk>/transactions/[<tid>/].
router.register(
    "portfolios/<int:pk>/transactions",
    api.TransactionViewSet,
    basename="transaction",
)

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="auth-token"),
    *router.urls,
]
