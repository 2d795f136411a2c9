"""App config for the project package (templates, static files, checks)."""

from django.apps import AppConfig


class CapsiteConfig(AppConfig):
    name = "capsite"
    verbose_name = "capsite"

    def ready(self) -> None:
        from capsite import checks  # noqa: F401  (registers the system checks)
