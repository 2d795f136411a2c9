"""The account in the API: who you are, everything you hold, and closing it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from capsite.accounts import signed_in
from capsite.api import TextField


class AccountSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    email_confirmed = serializers.BooleanField()
    date_joined = serializers.DateTimeField()


class DeleteAccountSerializer(serializers.Serializer):
    password = TextField(
        max_length=4096,
        trim_whitespace=False,
        help_text="The account's password, typed again.",
    )


class AccountView(APIView):
    """The signed-in account."""

    @extend_schema(responses=AccountSerializer)
    def get(self, request: Request) -> Response:
        user = signed_in(request.user)
        return Response(
            AccountSerializer(
                {
                    "username": user.get_username(),
                    "email": user.email,
                    "email_confirmed": services.is_confirmed(user),
                    "date_joined": user.date_joined,
                }
            ).data
        )


class ExportView(APIView):
    """Everything the account holds, as one JSON document: the profile, each
    portfolio with its target and its whole ledger, and the alert settings."""

    @extend_schema(
        responses=inline_serializer(
            "AccountExport",
            {
                "format": serializers.CharField(),
                "version": serializers.IntegerField(),
                "exported_at": serializers.DateTimeField(),
                "profile": AccountSerializer(),
                "portfolios": serializers.ListField(child=serializers.DictField()),
                "alert_settings": serializers.DictField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        return Response(services.export_data(signed_in(request.user)))


class DeleteAccountView(APIView):
    """Delete the account and all it owns, once its password is sent again."""

    parser_classes = [JSONParser]

    @extend_schema(
        request=DeleteAccountSerializer,
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def post(self, request: Request) -> Response:
        user = signed_in(request.user)
        params = DeleteAccountSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        password: Any = params.validated_data["password"]
        checked = authenticate(
            request._request, username=user.get_username(), password=password
        )
        if checked is None or checked.pk != user.pk:
            raise serializers.ValidationError(
                {"password": ["That is not your password."]}
            )
        services.delete_account(user)
        return Response(status=status.HTTP_204_NO_CONTENT)
