"""Alert pages: the notifications and the alert settings."""

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.mark_all_read, name="mark-all-read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification-open"),
    path("accounts/alerts/", views.alert_settings, name="settings"),
    path("accounts/alerts/secret/", views.regenerate_secret, name="regenerate-secret"),
    path("accounts/alerts/test-webhook/", views.test_webhook, name="test-webhook"),
]
