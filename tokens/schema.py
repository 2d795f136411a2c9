"""OpenAPI description of tokens.auth.TokenAuthentication: the same ``tokenAuth``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class TokenScheme(OpenApiAuthenticationExtension):
    """Documented as DRF's token scheme was, so clients see no change."""

    target_class = "tokens.auth.TokenAuthentication"
    name = "tokenAuth"
    # Above drf-spectacular's knox extension, which names the scheme knoxApiToken.
    priority = 1

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return dict(
            build_bearer_security_scheme_object(
                header_name="Authorization", token_prefix="Token"
            )
        )
