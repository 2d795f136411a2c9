"""Root URLs: market pages, portfolios, accounts, the admin and the API."""

from django.contrib import admin
from django.urls import include, path

from capsite import accounts, observability

urlpatterns = [
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/tokens/", include("tokens.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("accounts.urls")),
    path("api/", include("capsite.api_urls")),
    path("portfolios/", include("portfolios.urls")),
    path("jobs/", include("jobs.urls")),
    path("", include("sharing.urls")),
    path("", include("alerts.urls")),
    path("", include("valuations.urls")),
]

handler400 = "capsite.errors.bad_request"
handler403 = "capsite.errors.permission_denied"
handler404 = "capsite.errors.not_found"
handler500 = "capsite.errors.server_error"
