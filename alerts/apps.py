"""App config for alerts: drift, tier-change and unlock alerts and their delivery."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"
