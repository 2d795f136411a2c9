"""App config for tokens: named, hashed, expiring API tokens with a scope."""

from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        # Registers the OpenAPI description of the authentication class.
        from tokens import schema  # noqa: F401
