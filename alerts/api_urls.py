"""Alerts endpoints of the REST API v1 (the signed-in user's own only)."""

from django.urls import path

from alerts import api

urlpatterns = [
    path(
        "notifications/",
        api.NotificationListView.as_view(),
        name="notification-list",
    ),
    path(
        "notifications/read/",
        api.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path(
        "alerts/settings/",
        api.AlertSettingsView.as_view(),
        name="alert-settings",
    ),
]
