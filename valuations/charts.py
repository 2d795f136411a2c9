"""Inline SVG line charts drawn on the server: no JavaScript, no CDN."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

WIDTH = 640
HEIGHT = 200
PAD = 8
MAX_MARKERS = 120


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    when: date | datetime
    value: Decimal


@dataclass(frozen=True)
class LineChart:
    points: str  # SVG polyline "x,y x,y …"
    markers: list[Marker]  # hover targets, each with its exact value
    low: Decimal
    high: Decimal
    first: Marker
    last: Marker
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def change(self) -> Decimal | None:
        """Change from the first to the last point, as a fraction."""
        if not self.first.value:
            return None
        return (self.last.value - self.first.value) / self.first.value


def _seconds(when: date | datetime) -> float:
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, tzinfo=UTC)
    return when.timestamp()


def line_chart(
    series: Sequence[tuple[date | datetime, Decimal | None]],
) -> LineChart | None:
    """Scale a time series into SVG coordinates; None with fewer than two points.

    Coordinates are floats because they are pixels; the values shown on hover
    are the exact decimals.
    """
    data = [(when, value) for when, value in series if value is not None]
    if len(data) < 2:
        return None
    low = min(value for _, value in data)
    high = max(value for _, value in data)
    start, end = _seconds(data[0][0]), _seconds(data[-1][0])
    span_x = (end - start) or 1.0
    span_y = float(high - low) or 1.0

    def place(when: date | datetime, value: Decimal) -> Marker:
        x = PAD + (_seconds(when) - start) / span_x * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - float(value - low) / span_y * (HEIGHT - 2 * PAD)
        return Marker(round(x, 1), round(y, 1), when, value)

    placed = [place(when, value) for when, value in data]
    step = max(1, len(placed) // MAX_MARKERS)
    markers = placed[::step]
    if markers[-1] is not placed[-1]:
        markers.append(placed[-1])
    return LineChart(
        points=" ".join(f"{m.x},{m.y}" for m in placed),
        markers=markers,
        low=low,
        high=high,
        first=placed[0],
        last=placed[-1],
    )


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


@dataclass(frozen=True)
class HistoryMarker:
    x: float
    y: float
    when: date
    value: Decimal
    invested: Decimal
    price_age: int


@dataclass(frozen=True)
class HistoryChart:
    """A portfolio's value and net invested on one scale, carried days marked."""

    value_points: str  # SVG polyline of the value
    invested_points: str  # SVG polyline of net invested
    benchmark_points: str  # SVG polyline of the same money in Bitcoin; "" if none
    markers: list[HistoryMarker]  # hover targets, on the value line
    carried: list[float]  # x of the days valued with an earlier day's price
    stale: list[float]  # x of the days with a price older than the stale limit
    low: Decimal
    high: Decimal
    first: date
    last: date
    width: int = WIDTH
    height: int = HEIGHT


def history_chart(
    days: Sequence[tuple[date, Decimal, Decimal, int, bool]],
    benchmark: Sequence[Decimal | None] = (),
) -> HistoryChart | None:
    """Scale (day, value, net invested, price age, stale) rows, and a benchmark's
    value per day (None where unknown) on the same scale; None under 2 days."""
    if len(days) < 2:
        return None
    known = [b for b in benchmark if b is not None]
    low = min(
        min(min(value, invested) for _, value, invested, _, _ in days),
        min(known, default=days[0][1]),
    )
    high = max(
        max(max(value, invested) for _, value, invested, _, _ in days),
        max(known, default=days[0][1]),
    )
    span_x = float((days[-1][0] - days[0][0]).days) or 1.0
    span_y = float(high - low) or 1.0

    def x_of(day: date) -> float:
        return round(PAD + (day - days[0][0]).days / span_x * (WIDTH - 2 * PAD), 1)

    def y_of(value: Decimal) -> float:
        return round(HEIGHT - PAD - float(value - low) / span_y * (HEIGHT - 2 * PAD), 1)

    step = max(1, len(days) // MAX_MARKERS)
    sampled = list(days[::step])
    if sampled[-1] is not days[-1]:
        sampled.append(days[-1])
    return HistoryChart(
        value_points=" ".join(f"{x_of(d)},{y_of(v)}" for d, v, _, _, _ in days),
        invested_points=" ".join(f"{x_of(d)},{y_of(i)}" for d, _, i, _, _ in days),
        benchmark_points=" ".join(
            f"{x_of(day[0])},{y_of(b)}"
            for day, b in zip(days, benchmark, strict=False)
            if b is not None
        ),
        markers=[
            HistoryMarker(x_of(d), y_of(v), d, v, i, age) for d, v, i, age, _ in sampled
        ],
        carried=[x_of(d) for d, _, _, age, _ in days if age],
        stale=[x_of(d) for d, _, _, _, stale in days if stale],
        low=low,
        high=high,
        first=days[0][0],
        last=days[-1][0],
    )
