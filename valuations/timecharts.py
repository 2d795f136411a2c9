"""Time charts drawn on the server as SVG, readable without a mouse or a library.

A chart is one figure: one or more plots over one time axis, a row per day (or
snapshot) and a column per figure shown. The rows fill the data table, the
legend's readout and the cursor that ``capsite/charts.js`` moves with a slider,
the arrow keys, a pointer or a finger; each plot carries a sentence that sums
it up for screen readers.

Each plot stretches across the figure's width (x runs 0–1000 in a viewBox drawn
without keeping the aspect ratio) but not in height: y is in CSS pixels, so the
labels, the gridlines and the cursor's dots sit in an outer SVG at the same y,
and at an x given in percent of the width, undistorted at any width.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.utils.dateformat import format as date_format

from valuations.templatetags.capsite_format import (
    price,
    ratio,
    signed_percent,
    usd,
    usd_compact,
)

PLOT_WIDTH = 1000  # viewBox units across the plot, whatever its width on screen
PLOT_HEIGHT = 180  # CSS pixels
TOP = 8  # above the plot: room for half the top gridline's label
WIDE_LABEL = 6  # characters: a gridline label longer than this needs a wider gutter
BOTTOM = 22  # below it: room for the dates
Y_LINES = 6  # most gridlines on a plot
PAD = Decimal("0.06")  # of the values' span, kept clear above and below the lines
X_LABELS = 5  # most date labels on the axis
MONTHS_BETWEEN_LABELS = (1, 2, 3, 6, 12, 24, 60)
DAYS_BETWEEN_LABELS = (1, 2, 7, 14)
HUNDRED = Decimal(100)
_SUFFIXES = (
    (Decimal("1e12"), "T"),
    (Decimal("1e9"), "B"),
    (Decimal("1e6"), "M"),
    (Decimal("1e3"), "k"),
)

Formatter = Callable[[Decimal], str]


@dataclass(frozen=True)
class Line:
    key: str  # CSS class and the column it draws: value, invested, benchmark…
    points: str  # SVG polyline "x,y x,y …" in the plot's viewBox


@dataclass(frozen=True)
class Band:
    key: str  # the bucket: large, mid, small, stable, unranked
    points: str  # SVG polygon: the top edge left to right, the bottom edge back


@dataclass(frozen=True)
class YTick:
    y: float  # CSS px from the top of the plot's SVG
    label: str  # "$1.5k"

    @property
    def label_y(self) -> float:
        """The label's baseline, in the gutter left of the plot: level with its line."""
        return round(self.y + 4, 1)


@dataclass(frozen=True)
class XTick:
    x: float  # percent of the width
    label: str  # "1 Apr", "May 2025"
    anchor: str  # start, middle or end: the edge labels stay inside the figure
    alt: bool  # every other label: left out on a phone


@dataclass(frozen=True)
class Mark:
    """A day marked under the plot: valued with an earlier day's price."""

    key: str  # carried or stale
    x: float  # in the plot's viewBox
    length: int  # px up from the plot's bottom

    @property
    def top(self) -> int:
        return PLOT_HEIGHT - self.length


@dataclass(frozen=True)
class Plot:
    caption: str  # shown above the plot when the figure has several
    summary: str  # one sentence for screen readers: the SVG's aria-label
    lines: list[Line]
    bands: list[Band]
    y_ticks: list[YTick]
    x_ticks: list[XTick]
    dots: list[str]  # the series keys that get a dot on the cursor, in order
    marks: list[Mark] = field(default_factory=list)
    plot_height: int = PLOT_HEIGHT
    top: int = TOP
    plot_width: int = PLOT_WIDTH

    @property
    def height(self) -> int:
        return self.top + self.plot_height + BOTTOM

    @property
    def wide(self) -> bool:
        """Whether the gridline labels need the wider gutter ($0.0000062)."""
        return any(len(t.label) > WIDE_LABEL for t in self.y_ticks)

    @property
    def bottom(self) -> int:
        """The plot's bottom edge, in px from the top of its SVG."""
        return self.top + self.plot_height

    @property
    def date_y(self) -> int:
        return self.bottom + 16


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    swatch: str  # CSS classes of its legend key: a line's or an area's


@dataclass(frozen=True)
class Row:
    label: str  # the date as people read it
    x: float  # percent of the width
    ys: str  # each dot's y in px ("-" where it has no value), the plots' dots in order
    cells: list[str]  # one formatted figure per column


@dataclass(frozen=True)
class Note:
    """A legend entry with no figure of its own (a kind of mark)."""

    swatch: str
    label: str


@dataclass(frozen=True)
class Chart:
    caption: str
    note: str  # beside the caption: the range, the change over the period
    plots: list[Plot]
    columns: list[Column]
    rows: list[Row]
    notes: list[Note] = field(default_factory=list)

    @property
    def last(self) -> Row:
        return self.rows[-1]

    @property
    def last_index(self) -> int:
        return len(self.rows) - 1

    @property
    def readout(self) -> list[tuple[Column, str]]:
        """The legend's entries with the last row's figures, before any cursor."""
        return list(zip(self.columns, self.last.cells, strict=True))

    @property
    def plots_with_dots(self) -> list[tuple[Plot, list[tuple[str, str]]]]:
        """Each plot with its cursor's dots, (key, y) on the last row, where the
        cursor starts; a dot without a value that day has y "-"."""
        ys = self.last.ys.split(" ") if self.last.ys else []
        out, start = [], 0
        for plot in self.plots:
            keys = plot.dots
            dots = list(zip(keys, ys[start : start + len(keys)], strict=True))
            out.append((plot, dots))
            start += len(keys)
        return out


# -- numbers and dates for people ------------------------------------------


def day_label(when: date | datetime) -> str:
    """1 Apr 2026, as the rest of the site writes a day."""
    return date_format(when, "j M Y")


def axis_usd(value: Decimal, step: Decimal) -> str:
    """A gridline's dollars, short: $950, $1.5k, $2.3M, $1.50, $0.0062.

    As many decimals as the step between gridlines needs, trailing zeros cut
    (cents kept in full between $0.01 steps and $1 ones).
    """
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    scale, suffix = Decimal(1), ""
    for threshold, letter in _SUFFIXES:
        if magnitude >= threshold:
            scale, suffix = threshold, letter
            break
    exponent = (step / scale).normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    if scale == 1 and 0 < places <= 2:
        return f"{sign}${magnitude:,.2f}"  # cents, as prices are written
    text = f"{magnitude / scale:,.{min(places, 8)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{sign}${text}{suffix}"


def axis_percent(value: Decimal, step: Decimal) -> str:
    return f"{value.normalize():f} %"


def axis_number(value: Decimal, step: Decimal) -> str:
    """A gridline's plain number (a ratio, an index level), never as an
    exponent: 0.25, 100."""
    return f"{value.normalize():f}"


def _nice_step(bottom: Decimal, top: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ that puts at most Y_LINES gridlines
    on its multiples between ``bottom`` and ``top``."""
    unit = Decimal(1).scaleb(((top - bottom) / Y_LINES).adjusted())
    multiples = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))
    for step in [unit * m for m in multiples] + [unit * 10 * m for m in multiples]:
        first = (bottom / step).to_integral_value(ROUND_CEILING)
        last = (top / step).to_integral_value(ROUND_FLOOR)
        if last - first + 1 <= Y_LINES:
            return step.normalize()
    return (unit * 100).normalize()  # pragma: no cover - 10 × the span's unit fits


def _y_domain(
    low: Decimal, high: Decimal, *, pad: bool
) -> tuple[Decimal, Decimal, Decimal]:
    """The plot's bottom and top values, and the step between gridlines.

    With ``pad`` the lines keep a margin from the plot's edges (never below 0
    for values that are all 0 or more); gridlines fall on round multiples of
    the step inside the range, so no height is wasted on empty round numbers.
    """
    if high == low:
        margin = abs(high) / 10 or Decimal(1)
    else:
        margin = (high - low) * PAD if pad else Decimal(0)
    bottom, top = low - margin, high + margin
    if low >= 0 > bottom:
        bottom = Decimal(0)
    return bottom, top, _nice_step(bottom, top)


def _seconds(when: date | datetime) -> float:
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, tzinfo=UTC)
    return when.timestamp()


def _day(when: date | datetime) -> date:
    return when.astimezone(UTC).date() if isinstance(when, datetime) else when


def _month_starts(first: date, last: date, every: int) -> list[date]:
    months = []
    year, month = first.year, first.month
    if first.day > 1:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    while date(year, month, 1) <= last:
        if (year * 12 + month - 1) % every == 0:
            months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _date_ticks(first: date, last: date) -> tuple[list[date], str]:
    """Round dates to label (month starts, or every n days) and their format."""
    span = (last - first).days
    if span >= 60:
        for every in MONTHS_BETWEEN_LABELS:
            months = _month_starts(first, last, every)
            if len(months) <= X_LABELS:
                break
        wide = every >= 12 or months[0].year != months[-1].year
        return months, "M Y" if wide else "M"
    for every in DAYS_BETWEEN_LABELS:
        if span // every + 1 <= X_LABELS:
            break
    days = [
        first.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)
    ]
    return [d for d in days if (d.toordinal() - first.toordinal()) % every == 0], "j M"


class Axes:
    """Place times across the width and values down the plot."""

    def __init__(
        self,
        times: Sequence[date | datetime],
        low: Decimal,
        high: Decimal,
        *,
        pad: bool = True,
    ) -> None:
        self.start = _seconds(times[0])
        self.span = (_seconds(times[-1]) - self.start) or 1.0
        self.low, self.high, self.step = _y_domain(low, high, pad=pad)
        self.first, self.last = _day(times[0]), _day(times[-1])

    def x(self, when: date | datetime) -> float:
        """In the plot's viewBox, 0 to PLOT_WIDTH."""
        return round((_seconds(when) - self.start) / self.span * PLOT_WIDTH, 1)

    def percent(self, when: date | datetime) -> float:
        return round((_seconds(when) - self.start) / self.span * 100, 2)

    def y(self, value: Decimal) -> float:
        """In px from the plot's top edge."""
        share = float((value - self.low) / (self.high - self.low))
        return round(PLOT_HEIGHT - share * PLOT_HEIGHT, 1)

    def y_ticks(self, label: Callable[[Decimal, Decimal], str]) -> list[YTick]:
        ticks = []
        value = (self.low / self.step).to_integral_value(ROUND_CEILING) * self.step
        while value <= self.high:
            ticks.append(YTick(round(TOP + self.y(value), 1), label(value, self.step)))
            value += self.step
        return ticks

    def x_ticks(self) -> list[XTick]:
        days, fmt = _date_ticks(self.first, self.last)
        ticks = []
        for i, day in enumerate(days):
            x = self.percent(day)
            anchor = "start" if x < 6 else "end" if x > 94 else "middle"
            alt = len(days) > 4 and i % 2 == 1
            ticks.append(XTick(x, date_format(day, fmt), anchor, alt))
        return ticks


def polyline(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in points)


def _trend(
    label: str,
    first: tuple[date | datetime, Decimal],
    last: tuple[date | datetime, Decimal],
    fmt: Formatter,
    *,
    dated: bool,
) -> str:
    """'Value rose from $7,900 on 1 Apr 2026 to $10,000 on 29 Apr 2026'."""
    (d1, v1), (d2, v2) = first, last
    on1 = f" on {day_label(d1)}" if dated else ""
    on2 = f" on {day_label(d2)}" if dated else ""
    if v1 == v2:
        between = f" from {day_label(d1)} to {day_label(d2)}" if dated else ""
        return f"{label} stayed at {fmt(v2)}{between}"
    verb = "rose" if v2 > v1 else "fell"
    return f"{label} {verb} from {fmt(v1)}{on1} to {fmt(v2)}{on2}"


def _summary(
    series: Sequence[tuple[str, Sequence[tuple[date | datetime, Decimal | None]]]],
    fmt: Formatter,
) -> str:
    """A clause per series, the first with its dates: the plot's aria-label."""
    parts: list[str] = []
    for label, points in series:
        known = [(when, v) for when, v in points if v is not None]
        if known:
            name = label if not parts else label[0].lower() + label[1:]
            parts.append(_trend(name, known[0], known[-1], fmt, dated=not parts))
    return "; ".join(parts) + "."


def line_plot(
    caption: str,
    times: Sequence[date | datetime],
    series: Sequence[tuple[str, str, Sequence[Decimal | None]]],
    fmt: Formatter,
    axis_label: Callable[[Decimal, Decimal], str] = axis_usd,
    summary: str | None = None,
) -> tuple[Plot, Axes]:
    """A plot of lines on one scale; ``series`` is (key, label, values).

    ``fmt`` writes the figures of the default summary (a clause per series);
    ``axis_label`` the gridlines' labels; ``summary`` replaces the default.
    """
    known = [v for _, _, values in series for v in values if v is not None]
    axes = Axes(times, min(known), max(known))
    lines = []
    for key, _, values in series:
        points = [
            (axes.x(when), axes.y(v))
            for when, v in zip(times, values, strict=True)
            if v is not None
        ]
        if points:
            lines.append(Line(key, polyline(points)))
    if summary is None:
        summary = _summary(
            [
                (label, list(zip(times, values, strict=True)))
                for _, label, values in series
            ],
            fmt,
        )
    plot = Plot(
        caption=caption,
        summary=summary,
        lines=lines,
        bands=[],
        y_ticks=axes.y_ticks(axis_label),
        x_ticks=axes.x_ticks(),
        dots=[key for key, _, _ in series],
    )
    return plot, axes


def dot_ys(axes: Axes, values: Sequence[Decimal | None]) -> list[str]:
    return ["-" if v is None else f"{TOP + axes.y(v):g}" for v in values]


# -- the charts --------------------------------------------------------------


def history_chart(
    days: Sequence[tuple[date, Decimal, Decimal, int, bool]],
    benchmark: Sequence[Decimal | None] = (),
    *,
    benchmark_label: str = "Bitcoin",
    stale_days: int = 7,
) -> Chart | None:
    """A portfolio's value, net invested and a benchmark per day, on one scale.

    ``days`` are (day, value, net invested, price age in days, stale) rows;
    ``benchmark`` the same money in the benchmark each day (None where unknown).
    The benchmark gets no line, column or legend entry without a known value.
    Days valued at an earlier day's price are marked under the plot. None under
    two days.
    """
    if len(days) < 2:
        return None
    times = [d[0] for d in days]
    values = [d[1] for d in days]
    invested = [d[2] for d in days]
    series: list[tuple[str, str, Sequence[Decimal | None]]] = [
        ("value", "Value", values),
        ("invested", "Net invested", invested),
    ]
    marked = list(benchmark) + [None] * (len(days) - len(benchmark))
    if any(b is not None for b in marked):
        series.append(("benchmark", benchmark_label, marked[: len(days)]))
    plot, axes = line_plot("", times, series, usd)
    marks = [Mark("carried", axes.x(d), 6) for d, _, _, age, _ in days if age]
    marks += [Mark("stale", axes.x(d), 10) for d, _, _, _, stale in days if stale]
    plot = replace(plot, marks=marks)
    rows = []
    for i, when in enumerate(times):
        figures = [s[2][i] for s in series]
        rows.append(
            Row(
                label=day_label(when),
                x=axes.percent(when),
                ys=" ".join(dot_ys(axes, figures)),
                cells=[usd(v) for v in figures],
            )
        )
    notes = []
    if marks and any(m.key == "carried" for m in marks):
        notes.append(Note("key carried", "Valued with an earlier day's price"))
    if any(m.key == "stale" for m in marks):
        notes.append(Note("key stale", f"Price older than {stale_days} days"))
    return Chart(
        caption="Value and net invested (USD)",
        note="",
        plots=[plot],
        columns=[Column(key, label, f"key {key}") for key, label, _ in series],
        rows=rows,
        notes=notes,
    )


def tier_area_chart(
    days: Sequence[tuple[date, Mapping[str, Decimal]]],
    labels: Mapping[str, str],
) -> Chart | None:
    """The tier mix per day as stacked areas, the first bucket at the bottom.

    ``days`` are (day, weights) with weights in percent 0–100 per bucket in
    ``labels``' order; a bucket at 0 % on every day gets no band or column. A
    day worth nothing has every weight 0 and so no band. None under two days.
    """
    if len(days) < 2:
        return None
    keys = [k for k in labels if any(w.get(k, 0) for _, w in days)]
    times = [d for d, _ in days]
    axes = Axes(times, Decimal(0), HUNDRED, pad=False)
    running = [Decimal(0)] * len(days)
    bands = []
    for key in keys:
        below = running
        running = [
            b + w.get(key, Decimal(0)) for b, (_, w) in zip(below, days, strict=True)
        ]
        top_edge = [(axes.x(t), axes.y(v)) for t, v in zip(times, running, strict=True)]
        bottom_edge = [
            (axes.x(t), axes.y(v)) for t, v in zip(times, below, strict=True)
        ]
        bands.append(Band(key, polyline(top_edge + bottom_edge[::-1])))
    first, last = days[0], days[-1]

    def mix(weights: Mapping[str, Decimal]) -> str:
        held = [k for k in keys if weights.get(k)]
        if not held:
            return "nothing held"
        return ", ".join(f"{labels[k].lower()} {ratio(weights[k], 1)} %" for k in held)

    summary = (
        f"Tier mix from {day_label(first[0])} to {day_label(last[0])}: "
        f"{mix(first[1])} on {day_label(first[0])}; "
        f"{mix(last[1])} on {day_label(last[0])}."
    )
    plot = Plot(
        caption="",
        summary=summary,
        lines=[],
        bands=bands,
        y_ticks=axes.y_ticks(axis_percent),
        x_ticks=axes.x_ticks(),
        dots=[],
    )
    rows = [
        Row(
            label=day_label(when),
            x=axes.percent(when),
            ys="",
            cells=[f"{ratio(weights.get(k, 0), 1)} %" for k in keys],
        )
        for when, weights in days
    ]
    return Chart(
        caption="Tier mix over time (share of value)",
        note="",
        plots=[plot],
        columns=[Column(k, labels[k], f"swatch seg-{k}") for k in keys],
        rows=rows,
    )


def asset_chart(
    snapshots: Sequence[tuple[datetime, Decimal | None, Decimal | None]],
) -> Chart | None:
    """An asset's price and market cap per snapshot, one plot each, one time axis.

    ``snapshots`` are (taken at, price, market cap), oldest first. A snapshot
    with no price is left out; the market cap gets a plot when two are known.
    None under two priced snapshots.
    """
    priced = [s for s in snapshots if s[1] is not None]
    if len(priced) < 2:
        return None
    times = [s[0] for s in priced]
    prices = [s[1] for s in priced]
    caps = [s[2] for s in priced]
    price_plot, price_axes = line_plot(
        "Price", times, [("price", "Price", prices)], price
    )
    plots, axes = [price_plot], [price_axes]
    columns = [Column("price", "Price", "key price")]
    has_caps = sum(1 for c in caps if c is not None) >= 2
    if has_caps:
        cap_plot, cap_axes = line_plot(
            "Market cap", times, [("cap", "Market cap", caps)], usd_compact
        )
        plots.append(cap_plot)
        axes.append(cap_axes)
        columns.append(Column("cap", "Market cap", "key cap"))
    rows = []
    for i, when in enumerate(times):
        ys = dot_ys(price_axes, [prices[i]])
        cells = [price(prices[i])]
        if has_caps:
            ys += dot_ys(axes[1], [caps[i]])
            cells.append(usd_compact(caps[i]))
        rows.append(Row(day_label(when), price_axes.percent(when), " ".join(ys), cells))
    known = [p for p in prices if p is not None]
    note = f"{price(min(known))} – {price(max(known))}"
    if known[0]:
        change = (known[-1] - known[0]) / known[0] * 100
        note += f" · {signed_percent(change)} over the period"
    return Chart(
        caption="Price and market cap (USD)",
        note=note,
        plots=plots,
        columns=columns,
        rows=rows,
    )
