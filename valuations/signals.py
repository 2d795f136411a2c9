"""What market writes announce to the rest of the site.

valuations never imports portfolios; the portfolios app listens here instead
(portfolios.apps), so its stored series follow every change to snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.dispatch import Signal

# Sent with asset_ids (list[int]) and since (date | None: every day) after
# snapshots of those assets were added, changed or deleted from that day on.
snapshots_changed = Signal()


def announce_snapshots(*, asset_ids: Iterable[int], since: date | None) -> None:
    """Tell listeners that these assets' snapshots changed from ``since`` on."""
    snapshots_changed.send(sender=None, asset_ids=list(asset_ids), since=since)
