"""API serializers for notifications and alert settings."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from alerts.models import AlertSettings, Notification
from capsite.api import JSONIntegerField, ModelSerializer, QuerySerializer


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "portfolio",
            "title",
            "body",
            "url",
            "data",
            "created",
            "read_at",
            "email_status",
            "webhook_status",
        ]
        read_only_fields = fields


class NotificationQuerySerializer(QuerySerializer):
    unread = serializers.BooleanField(
        required=False,
        help_text="true: only unread notifications; false: only read ones.",
    )


class _IdListField(serializers.ListField):
    def run_child_validation(self, data: list[Any]) -> list[Any]:
        # DRF keys item errors by position as ints; JSON keys are strings, and
        # the project's orjson renderer refuses anything else.
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            detail: Any = exc.detail
            raise serializers.ValidationError(
                {str(position): reasons for position, reasons in detail.items()}
            ) from exc


class MarkReadSerializer(serializers.Serializer):
    ids = _IdListField(
        # Ids are 64-bit: a larger number would overflow the database's integer.
        child=JSONIntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=1000,
        help_text="Only these notifications; all unread ones when left out.",
    )


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and now read.")


class AlertSettingsSerializer(ModelSerializer[AlertSettings]):
    class Meta:
        model = AlertSettings
        fields = [*AlertSettings.CHOICES, "webhook_secret"]
        read_only_fields = ["webhook_secret"]
