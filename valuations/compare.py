"""Compare two to five assets side by side: every metric, the price each would
need at the others' caps, and their price and cap histories indexed to 100.

One service behind both the /compare/ page and GET /api/v1/assets/compare/
(STYLE.md §2). Reads stored columns and snapshots only: one query for the
assets (with their stored rank) and one for all their snapshots, whatever the
history's length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, Context, Decimal, localcontext

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models.functions import TruncDate

from valuations import metrics, quality, queries
from valuations.metrics import PRICE_QUANTUM, AssetFigures
from valuations.models import Asset, MarketSnapshot
from valuations.templatetags.capsite_format import ratio
from valuations.timecharts import (
    Axes,
    Chart,
    Column,
    Plot,
    Row,
    axis_number,
    day_label,
    dot_ys,
    line_plot,
)

MIN_ASSETS, MAX_ASSETS = 2, 5
# A slug as stored (Asset.slug is a SlugField); at most 100 characters, as in
# the API's asset paths. The whole list is bounded so that the request line
# stays under gunicorn's limit (tests/api/test_schema.py).
_SLUG = r"[-a-zA-Z0-9_]{1,100}"
IDS_PATTERN = rf"^{_SLUG}(?:,{_SLUG}){{{MIN_ASSETS - 1},{MAX_ASSETS - 1}}}$"
IDS_MAX_LENGTH = 300
_SLUG_RE = re.compile(_SLUG)
HUNDRED = Decimal(100)
# Products and quotients of 40-digit stored values, unrounded (metrics._EXACT).
_WIDE = Context(prec=100)
# Index levels are served to 6 decimals: 100 = the common start.
INDEX_QUANTUM = Decimal("1e-6")
# Volatility (PRODUCT.md, issue 16): stored per asset in AssetVolatility,
# joined to the assets' one query; an asset without a row has none yet.
VOLATILITY_FIELDS = ("volatility_30d", "volatility_90d", "volatility_365d")


@dataclass(frozen=True)
class PriceAtCap:
    """The price an asset needs for its cap to equal another asset's cap."""

    slug: str  # the other asset
    symbol: str
    price: Decimal | None  # USD; None without a circulating supply or other cap
    multiple: Decimal | None  # price ÷ today's price (= other cap ÷ own cap)


@dataclass
class ComparedAsset:
    asset: Asset
    figures: AssetFigures
    flags: list[str]
    stale: bool
    at_caps: list[PriceAtCap] = field(default_factory=list)
    volatility: dict[str, Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexDay:
    day: date
    prices: list[Decimal | None]  # per asset, in the comparison's order
    caps: list[Decimal | None]


@dataclass(frozen=True)
class Comparison:
    assets: list[ComparedAsset]
    start: date | None  # the common date range; None when there is none
    end: date | None
    days: list[IndexDay]


# -- pure figures ------------------------------------------------------------


def price_at_market_cap(
    cap: Decimal | None, circulating_supply: Decimal | None
) -> Decimal | None:
    """Return the USD price at which an asset's market cap equals ``cap``.

    Other cap ÷ own circulating supply (= price × other cap ÷ own cap),
    rounded up to the 18 places a price is stored with, as metrics.next_tier
    does: rounded down, the cap would fall a hair short. None without a
    positive circulating supply or a known, positive cap.
    """
    if cap is None or cap <= 0 or not circulating_supply or circulating_supply <= 0:
        return None
    with localcontext(rounding=ROUND_CEILING, prec=100):
        return (cap / circulating_supply).quantize(PRICE_QUANTUM)


def cap_multiple(cap: Decimal | None, own_cap: Decimal | None) -> Decimal | None:
    """Return another cap ÷ this asset's cap: how far its price must move."""
    if cap is None or own_cap is None or own_cap <= 0 or cap <= 0:
        return None
    with localcontext(prec=100):
        return cap / own_cap


def index_level(value: Decimal | None, base: Decimal | None) -> Decimal | None:
    """Return value ÷ base × 100, to 6 decimals; None without both (or base 0)."""
    scale = index_scale(base)
    return None if scale is None else scaled(value, scale)


def index_scale(base: Decimal | None) -> Decimal | None:
    """Return 100 ÷ base to 100 digits (for ``scaled``); None without a base."""
    if base is None or base <= 0:
        return None
    return _WIDE.divide(HUNDRED, base)


def scaled(value: Decimal | None, scale: Decimal) -> Decimal | None:
    """Return value × scale to 6 decimals: an index level, 100 on the base day."""
    if value is None:
        return None
    return _WIDE.multiply(value, scale).quantize(INDEX_QUANTUM, context=_WIDE)


def parse_slugs(text: str, *, field_name: str) -> list[str]:
    """Return the slugs of a comma-separated list; refuse a list that cannot be
    compared (fewer than 2, more than 5, blank, malformed or repeated)."""
    slugs = text.split(",")
    if len(slugs) < MIN_ASSETS:
        raise ValidationError(
            {field_name: f"Give at least {MIN_ASSETS} assets, comma separated."}
        )
    if len(slugs) > MAX_ASSETS:
        raise ValidationError(
            {field_name: f"Compare at most {MAX_ASSETS} assets ({len(slugs)} given)."}
        )
    bad = [s for s in slugs if not _SLUG_RE.fullmatch(s)]
    if bad:
        shown = ", ".join(repr(s) for s in bad)
        raise ValidationError(
            {field_name: f"Not an asset id (letters, digits, - and _): {shown}."}
        )
    repeated = sorted({s for s in slugs if slugs.count(s) > 1})
    if repeated:
        raise ValidationError(
            {field_name: f"Each asset once, please: {', '.join(repeated)} repeated."}
        )
    return slugs


# -- the service -------------------------------------------------------------


def compare_assets(
    slugs: Sequence[str],
    *,
    total_market_cap: Decimal | None,
    now: datetime,
    field_name: str = "ids",
) -> Comparison:
    """Return the comparison of the assets named, in the order given.

    Two queries: the assets with their stored rank, then every snapshot of
    theirs. Unknown slugs raise a ValidationError naming them.
    """
    compared = compared_assets(
        slugs, total_market_cap=total_market_cap, now=now, field_name=field_name
    )
    return with_history(compared)


def with_history(compared: list[ComparedAsset]) -> Comparison:
    """The comparison of these assets with their indexed histories (one query)."""
    start, end, days = _indexed_history([c.asset.pk for c in compared])
    return Comparison(assets=compared, start=start, end=end, days=days)


def compared_assets(
    slugs: Sequence[str],
    *,
    total_market_cap: Decimal | None,
    now: datetime,
    field_name: str = "ids",
) -> list[ComparedAsset]:
    """Every metric of the assets named, in the order given, and the price each
    would need at each other's cap; no history. One query; unknown slugs raise
    a ValidationError naming them."""
    found = {
        a.slug: a
        for a in Asset.objects.with_rank()
        .select_related("volatility")
        .filter(slug__in=list(slugs))
    }
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise ValidationError(
            {
                field_name: f"Unknown asset{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(unknown)}."
            }
        )
    assets = [found[s] for s in slugs]
    compared = []
    for asset in assets:
        figures = queries.figures_for(asset, total_market_cap)
        compared.append(
            ComparedAsset(
                asset=asset,
                figures=figures,
                flags=quality.served_flags(
                    asset.quality_flags, asset.last_updated, now
                ),
                stale=metrics.is_stale(asset.last_updated, now),
                volatility=_volatility_of(asset),
            )
        )
    for item in compared:
        own = item.figures.market_cap
        for other in compared:
            if other is item:
                continue
            cap = other.figures.market_cap
            item.at_caps.append(
                PriceAtCap(
                    slug=other.asset.slug,
                    symbol=other.asset.symbol,
                    price=price_at_market_cap(cap, item.asset.circulating_supply),
                    multiple=cap_multiple(cap, own),
                )
            )
    return compared


def _volatility_of(asset: Asset) -> dict[str, Decimal | None]:
    """Percent a year per window; None where not computed (yet)."""
    try:
        row = asset.volatility
    except ObjectDoesNotExist:
        return dict.fromkeys(VOLATILITY_FIELDS)
    return {name: getattr(row, name) for name in VOLATILITY_FIELDS}


def _indexed_history(
    asset_ids: list[int],
) -> tuple[date | None, date | None, list[IndexDay]]:
    """Each asset's last price and cap of each UTC day, indexed to 100 on the
    first day of the common range (the latest first priced day of any asset)
    up to its end (the earliest last priced day). A day an asset has no
    snapshot is None for it. One query for all assets."""
    # The UTC day comes from the database: parsing a timestamp with its zone
    # costs several times the query itself over years of snapshots.
    rows = (
        MarketSnapshot.objects.filter(asset_id__in=asset_ids, price__gt=0)
        .order_by("taken_at")
        .values_list(
            "asset_id", TruncDate("taken_at", tzinfo=UTC), "price", "market_cap"
        )
    )
    daily: dict[int, dict[date, tuple[Decimal, Decimal | None]]] = {
        pk: {} for pk in asset_ids
    }
    for asset_id, day, price, cap in rows:
        # Ordered by time: the day's last snapshot wins.
        daily[asset_id][day] = (price, cap)
    if any(not days for days in daily.values()):
        return None, None, []
    start = max(min(days) for days in daily.values())
    end = min(max(days) for days in daily.values())
    if start > end:
        return None, None, []
    scales = [
        (index_scale(daily[pk][start][0]), index_scale(daily[pk][start][1]))
        for pk in asset_ids
    ]
    calendar = sorted({d for days in daily.values() for d in days if start <= d <= end})
    out = []
    for day in calendar:
        points = [daily[pk].get(day) for pk in asset_ids]
        out.append(
            IndexDay(
                day=day,
                prices=[
                    scaled(p[0], price_scale) if p and price_scale else None
                    for p, (price_scale, _) in zip(points, scales, strict=True)
                ],
                caps=[
                    scaled(p[1], cap_scale) if p and cap_scale else None
                    for p, (_, cap_scale) in zip(points, scales, strict=True)
                ],
            )
        )
    return start, end, out


# -- the chart ---------------------------------------------------------------


def _level_text(value: Decimal | None) -> str:
    return "—" if value is None else ratio(value, 1)


def _index_plot(
    caption: str,
    days: list[IndexDay],
    series: list[tuple[str, str, list[Decimal | None]]],
) -> tuple[Plot, Axes]:
    """A plot of index levels, summed up by each series' last level."""
    times = [d.day for d in days]
    parts = []
    for _, label, values in series:
        last = next((v for v in reversed(values) if v is not None), None)
        if last is not None:
            parts.append(f"{label} {ratio(last, 1)}")
    summary = (
        f"{caption}, 100 on {day_label(times[0])}; on {day_label(times[-1])}: "
        + ", ".join(parts)
        + "."
    )
    return line_plot(caption, times, series, _level_text, axis_number, summary)


def comparison_chart(comparison: Comparison) -> Chart | None:
    """Price and market cap of each asset, indexed to 100 at the common start,
    as two plots over one time axis (valuations/_timechart.html). Series keys
    are s1…s5, in the comparison's order. None under two common days."""
    days = comparison.days
    if len(days) < 2:
        return None
    symbols = [c.asset.symbol.upper() for c in comparison.assets]
    keys = [f"s{i + 1}" for i in range(len(symbols))]
    price_series = [
        (key, symbol, [d.prices[i] for d in days])
        for i, (key, symbol) in enumerate(zip(keys, symbols, strict=True))
    ]
    cap_series = [
        (key, symbol, [d.caps[i] for d in days])
        for i, (key, symbol) in enumerate(zip(keys, symbols, strict=True))
        if sum(1 for d in days if d.caps[i] is not None) >= 2
    ]
    plots_axes = [_index_plot("Price index", days, price_series)]
    if cap_series:
        plots_axes.append(_index_plot("Market cap index", days, cap_series))
    columns = [Column(k, f"{label} price", f"key {k}") for k, label, _ in price_series]
    columns += [Column(k, f"{label} cap", f"key {k}") for k, label, _ in cap_series]
    rows = []
    first_axes = plots_axes[0][1]
    for i, day in enumerate(days):
        ys: list[str] = []
        cells: list[str] = []
        for (_plot, axes), series in zip(
            plots_axes, [price_series, cap_series], strict=False
        ):
            figures = [values[i] for _, _, values in series]
            ys += dot_ys(axes, figures)
            cells += [_level_text(v) for v in figures]
        rows.append(
            Row(day_label(day.day), first_axes.percent(day.day), " ".join(ys), cells)
        )
    return Chart(
        caption=f"Price and market cap, indexed (100 = {day_label(days[0].day)})",
        note=f"{day_label(days[0].day)} – {day_label(days[-1].day)}",
        plots=[plot for plot, _ in plots_axes],
        columns=columns,
        rows=rows,
    )
