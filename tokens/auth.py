"""DRF authentication for ``Authorization: Token <key>``: named tokens and legacy ones.

A named token's key is 64 characters (knox's); any other key is looked up
among the single rest_framework.authtoken tokens that scripts already use.
Either way one query finds the token and its user.
"""

from __future__ import annotations

from hmac import compare_digest
from typing import Any

from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from tokens import services
from tokens.models import ApiToken, Scope

_INVALID = "Invalid token."


def _named_key_length() -> int:
    return len(knox_settings.TOKEN_PREFIX) + int(
        knox_settings.AUTH_TOKEN_CHARACTER_LENGTH
    )


class TokenAuthentication(KnoxTokenAuthentication):
    """Named tokens (scoped, expiring) and legacy tokens, under one header.

    ``request.auth`` is the ApiToken or the legacy Token. A read-scope token is
    refused (403) on any unsafe method, whatever the view's permissions: it is
    checked here because many views set their own ``permission_classes``.
    Sessions and legacy tokens may write.
    """

    keyword = "Token"  # as DRF's: the OpenAPI description reads it

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        token = result[1]
        if (
            isinstance(token, ApiToken)
            and token.scope == Scope.READ
            and request.method not in SAFE_METHODS
        ):
            raise PermissionDenied("This token is read-only.")
        return result

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        try:
            key = token.decode()
        except UnicodeDecodeError as err:
            raise AuthenticationFailed(_INVALID) from err
        if len(key) != _named_key_length():
            return authentication.TokenAuthentication().authenticate_credentials(key)
        digest = hash_token(key)
        # knox's own lookup also deletes the user's expired tokens on every
        # request (more queries); here they stay listed, marked expired.
        candidates = ApiToken.objects.select_related("user").filter(
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]
        )
        found = next((t for t in candidates if compare_digest(digest, t.digest)), None)
        if found is None:
            raise AuthenticationFailed(_INVALID)
        now = timezone.now()
        if found.is_expired(now):
            raise AuthenticationFailed("Token has expired.")
        user, _ = self.validate_user(found)
        services.record_use(token=found, now=now)
        return user, found
