"""Tokens API: the signed-in user's named tokens; list, create, read, revoke.

Scoped to request.user first, so another user's token is a 404, exactly like
a missing one. Writes go through tokens.services, as the page's do.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from capsite.accounts import signed_in
from tokens import services
from tokens.models import ApiToken
from tokens.serializers import (
    ApiTokenInputSerializer,
    ApiTokenSerializer,
    IssuedTokenSerializer,
)


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ApiToken],
):
    """Your API tokens, newest first. The key is shown once, in the 201 of a POST."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ApiToken.objects.none()
        return ApiToken.objects.owned_by(signed_in(self.request.user))

    @extend_schema(
        request=ApiTokenInputSerializer, responses={201: IssuedTokenSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Make a token; the answer holds its key, which is never shown again."""
        params = ApiTokenInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        token, key = services.create_token(
            user=signed_in(request.user), **params.validated_data
        )
        data = IssuedTokenSerializer(token, context={"key": key}).data
        # The key must not linger in a cache on the way back.
        return Response(
            data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"}
        )

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Revoke the token: it stops working at once."""
        services.revoke_token(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
