"""App config for portfolios: portfolios, the transaction ledger and holdings."""

from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "portfolios"
    verbose_name = "Portfolios"
