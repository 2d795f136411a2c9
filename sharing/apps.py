"""App config for sharing: revocable, read-only public links to a portfolio."""

from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing"
