"""App config for portfolios: portfolios, the transaction ledger and holdings."""

from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "portfolios"
    verbose_name = "Portfolios"

    def ready(self) -> None:
        # Snapshot writes in valuations mark the stored series they affect.
        from portfolios import series
        from valuations.signals import snapshots_changed

        snapshots_changed.connect(series.on_snapshots_changed, dispatch_uid="series")
