"""App config for valuations: assets, market data and every valuation metric."""

from django.apps import AppConfig


class ValuationsConfig(AppConfig):
    name = "valuations"
    verbose_name = "Valuations"

    def ready(self) -> None:
        # Snapshot writes move the stored benchmark indices from their first day.
        from valuations import history, indices, state, volatility
        from valuations.signals import snapshots_changed

        snapshots_changed.connect(indices.on_snapshots_changed, dispatch_uid="indices")
        # ... and the stored market history from the first day they changed.
        snapshots_changed.connect(history.on_snapshots_changed, dispatch_uid="history")
        # Volatility reads the indices: connected after them, so its commit
        # callback runs after theirs.
        snapshots_changed.connect(
            volatility.on_snapshots_changed, dispatch_uid="volatility"
        )
        # Last: the market version moves once both the history and volatility
        # are stored, so cached pages and ETags never keep the old figures.
        snapshots_changed.connect(state.on_snapshots_changed, dispatch_uid="version")
