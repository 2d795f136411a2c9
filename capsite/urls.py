"""Root URLs: market pages, portfolios, accounts, the admin and the API."""

from django.contrib import admin
from django.urls import include, path

from capsite import accounts

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("capsite.api_urls")),
    path("portfolios/", include("portfolios.urls")),
    path("", include("valuations.urls")),
]
