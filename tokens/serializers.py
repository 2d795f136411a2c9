"""API serializers for named tokens: the input, the listing, and the one-time key."""

from __future__ import annotations

from rest_framework import serializers

from capsite.api import TextField
from tokens.models import NAME_MAX_LENGTH, ApiToken, Scope


class ApiTokenInputSerializer(serializers.Serializer):
    name = TextField(max_length=NAME_MAX_LENGTH, help_text="Unique among your tokens.")
    scope = serializers.ChoiceField(
        choices=Scope.choices,
        help_text="read: GET only (anything else is 403); write: everything.",
    )
    expires = serializers.DateTimeField(
        allow_null=True,
        default=None,
        help_text="When the token stops working (in the future); null or left "
        "out: never.",
    )


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    prefix = serializers.CharField(
        read_only=True, help_text="The key's first characters, to tell tokens apart."
    )
    expires = serializers.DateTimeField(
        source="expiry", read_only=True, allow_null=True, help_text="null: never."
    )
    expired = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "created",
            "expires",
            "expired",
            "last_used",
        ]
        read_only_fields = fields

    def get_expired(self, token: ApiToken) -> bool:
        return token.is_expired()


class IssuedTokenSerializer(ApiTokenSerializer):
    """A new token with its key: the only answer that ever contains it."""

    token = serializers.SerializerMethodField(
        help_text="The key, for `Authorization: Token <key>`. Shown only now."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def get_token(self, token: ApiToken) -> str:
        return str(self.context["key"])
