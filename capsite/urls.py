"""Root URLs: market pages, portfolios, the admin and the API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("valuations.urls")),
]
