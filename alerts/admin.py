"""Admin for alerts: staff may read notifications and adjust a user's settings."""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from alerts.models import AlertSettings, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are made by the evaluation alone."""

    list_display = (
        "created",
        "user",
        "kind",
        "portfolio",
        "title",
        "read_at",
        "email_status",
        "webhook_status",
    )
    list_filter = ("kind",)
    list_select_related = ("user", "portfolio")
    search_fields = ("title", "user__username", "user__email")
    date_hierarchy = "created"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Notification | None = None
    ) -> bool:
        return False


@admin.register(AlertSettings)
class AlertSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", *AlertSettings.CHOICES)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("webhook_secret",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
