"""Alerts API: the signed-in user's notifications and alert settings.

Every read is scoped to request.user, so another user's notifications are
never listed and marking them read changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from alerts import services
from alerts.models import AlertSettings, Notification
from alerts.serializers import (
    AlertSettingsSerializer,
    MarkedSerializer,
    MarkReadSerializer,
    NotificationQuerySerializer,
    NotificationSerializer,
)
from capsite.accounts import signed_in
from capsite.api import Pagination


class NotificationListView(generics.ListAPIView[Notification]):
    """The user's notifications, newest first; ``?unread=true`` for unread only."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Notification.objects.none()
        params = NotificationQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        notifications = Notification.objects.filter(user=signed_in(self.request.user))
        unread = params.validated_data.get("unread")
        if unread is not None:
            notifications = notifications.filter(read_at__isnull=unread)
        return notifications

    @extend_schema(parameters=[NotificationQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationReadView(APIView):
    """Mark the user's notifications read: all unread ones, or only ``ids``."""

    permission_classes = [IsAuthenticated]
    # JSON only: a form body repeating ``ids`` a thousand times would hit
    # Django's field limit, which answers in HTML.
    parser_classes = [JSONParser]

    @extend_schema(request=MarkReadSerializer, responses=MarkedSerializer)
    def post(self, request: Request) -> Response:
        params = MarkReadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        marked = services.mark_read(
            user=signed_in(request.user), ids=params.validated_data.get("ids")
        )
        return Response({"marked": marked})


class AlertSettingsView(generics.RetrieveUpdateAPIView[AlertSettings]):
    """The user's alert settings (made with the defaults on first read).

    ``webhook_secret`` is read-only here; it signs each webhook.
    """

    serializer_class = AlertSettingsSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    def get_object(self) -> AlertSettings:
        return services.settings_for(signed_in(self.request.user))

    def perform_update(self, serializer: BaseSerializer[AlertSettings]) -> None:
        assert serializer.instance is not None
        fields = {
            name: value
            for name, value in serializer.validated_data.items()
            if name in services.SETTINGS_FIELDS
        }
        serializer.instance = services.update_settings(
            prefs=serializer.instance, **fields
        )
