"""Inline SVG bars drawn on the server (time charts: valuations.timecharts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    share: Decimal  # fraction of the whole
    x: float  # left edge, percent of the bar
    width: float  # percent of the bar


def stacked_bar(parts: Sequence[tuple[str, str, Decimal | None]]) -> list[Segment]:
    """Lay out (key, label, fraction) parts side by side on a 0–100 bar.

    Drawn as SVG rectangles, whose geometry attributes a strict
    Content-Security-Policy allows where inline ``style`` would be blocked.
    """
    segments, x = [], 0.0
    for key, label, share in parts:
        if not share or share <= 0:
            continue
        width = round(float(share) * 100, 3)
        segments.append(Segment(key, label, share, round(x, 3), width))
        x += width
    return segments


def mix_bar(weights: Mapping[str, Decimal], labels: Mapping[str, str]) -> list[Segment]:
    """Lay out a mix given as percentages 0–100 per key (a tier mix or target)."""
    return stacked_bar(
        [(key, labels[key], weight / 100) for key, weight in weights.items()]
    )
