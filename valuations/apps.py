"""App config for valuations: assets, market data and every valuation metric."""

from django.apps import AppConfig


class ValuationsConfig(AppConfig):
    name = "valuations"
    verbose_name = "Valuations"

    def ready(self) -> None:
        # Snapshot writes move the stored benchmark indices from their first day.
        from valuations import indices
        from valuations.signals import snapshots_changed

        snapshots_changed.connect(indices.on_snapshots_changed, dispatch_uid="indices")
