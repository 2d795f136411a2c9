"""App config for valuations: assets, market data and every valuation metric."""

from django.apps import AppConfig


class ValuationsConfig(AppConfig):
    name = "valuations"
    verbose_name = "Valuations"
