"""Market pages: the ranked market, one asset, and the calculator."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from valuations import charts, history, metrics, peers, quality, queries, timecharts
from valuations.forms import SORT_LABELS, CalculatorForm, MarketFilterForm
from valuations.models import Asset, AssetVolatility
from valuations.state import current_state, version_of


def market(request: HttpRequest) -> HttpResponse:
    """The ranked market table with totals, dominance and tier summaries."""
    form = MarketFilterForm(request.GET, categories=MarketFilterForm.category_choices())
    filters = form.cleaned_data if form.is_valid() else {}
    state = current_state()
    summary = queries.market_summary(state)
    overview = summary.overview
    wanted = {key: filters.get(key, "") for key in ("tier", "category", "q", "flag")}
    table = queries.asset_table(
        tier=wanted["tier"],
        category=wanted["category"],
        search=wanted["q"],
        flag=wanted["flag"],
        sort=filters.get("sort") or "rank",
    )
    paginator = Paginator(table, settings.CAPSITE_PAGE_SIZE)
    # Paginator.count is a cached_property: seed it instead of COUNT(*).
    paginator.__dict__["count"] = queries.table_count(table, state, wanted)
    page = paginator.get_page(request.GET.get("page"))

    @functools.cache
    def rows() -> list[tuple[Asset, metrics.AssetFigures]]:
        # Called by the template only when its cached table is missing.
        return [
            (asset, queries.figures_for(asset, overview.total_market_cap))
            for asset in page.object_list
        ]

    @functools.cache
    def market_history() -> history.HistoryCharts:
        # Stored days (valuations.history), read only when the cache misses.
        total = overview.total_market_cap
        days = history.recent_days()
        return history.history_charts([history.history_point(d, total) for d in days])

    context = {
        "form": form,
        "overview": overview,
        "stale": metrics.is_stale(overview.as_of, timezone.now()),
        "categories": summary.categories[:8],
        "page": page,
        "rows": rows,
        "market_history": market_history,
        # The page's content is cached per market version (staleness turns
        # included) and address: Django's template engine and form widgets cost
        # several times the page's queries. Nothing in it depends on the user.
        "thin_volume": settings.CAPSITE_THIN_MIN_VOLUME,
        "thin_turnover": settings.CAPSITE_THIN_MIN_TURNOVER * 100,
        "table_key": f"{version_of(state, timezone.now()).tag}|{request.get_full_path()}",
        "tier_bar": charts.stacked_bar(
            [(t.tier, t.label, t.share) for t in overview.tiers]
        ),
        "columns": _sort_columns(filters.get("sort") or "rank"),
        "filtered": any(filters.get(key) for key in ("q", "tier", "category", "flag")),
    }
    return render(
        request,
        "valuations/market.html",
        context,
        status=200 if form.is_valid() else 400,
    )


SHORT_LABELS = {"rank": "#", "volume_to_market_cap": "Vol ÷ cap"}
# Shown on a phone: the asset, its price and market cap (and the tier); the
# rest waits behind "Show all columns".
PHONE_COLUMNS = {"price", "market_cap"}


def _sort_columns(current: str) -> list[dict[str, str | bool]]:
    """Header links: the first click sorts big to small (rank 1 first); again flips."""
    columns: list[dict[str, str | bool]] = []
    for key, label in SORT_LABELS.items():
        first = key if key == "rank" else f"-{key}"
        flipped = first[1:] if first.startswith("-") else f"-{first}"
        state = ""
        if current in (key, f"-{key}"):
            state = "descending" if current.startswith("-") else "ascending"
        columns.append(
            {
                "key": key,
                "label": SHORT_LABELS.get(key, label),
                "state": state,
                "next": flipped if current == first else first,
                "opt": key not in PHONE_COLUMNS,
            }
        )
    return columns


@dataclass(frozen=True)
class AssetHistory:
    """What the asset page draws from the snapshots: built on a cache miss."""

    chart: timecharts.Chart | None
    count: int
    changes: list[queries.TierChange]  # the latest TIER_CHANGES_SHOWN, newest first
    change_count: int


TIER_CHANGES_SHOWN = 12


def asset_history(asset: Asset) -> AssetHistory:
    """The price and cap chart over every snapshot, and the tier changes."""
    snapshots = list(
        asset.snapshots.order_by("taken_at").values_list(
            "taken_at", "price", "market_cap"
        )
    )
    changes = queries.tier_changes(asset)
    return AssetHistory(
        chart=timecharts.asset_chart(snapshots),
        count=len(snapshots),
        changes=changes[::-1][:TIER_CHANGES_SHOWN],
        change_count=len(changes),
    )


def asset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Every metric of one asset, its supply, history chart and unlock schedule."""
    asset = get_object_or_404(
        Asset.objects.with_rank().select_related("volatility"), slug=slug
    )
    state = current_state()
    figures = queries.figures_for(asset, state.total_market_cap)
    now = timezone.now()
    context = {
        "asset": asset,
        "figures": figures,
        "quality_notes": quality.notes(
            flags=quality.served_flags(asset.quality_flags, asset.last_updated, now),
            price=asset.price,
            circulating_supply=asset.circulating_supply,
            total_supply=asset.total_supply,
            max_supply=asset.max_supply,
            provider_market_cap=asset.provider_market_cap,
            last_updated=asset.last_updated,
        ),
        "provider": quality.provider_differences(
            market_cap=figures.market_cap,
            fdv=figures.fully_diluted_valuation,
            rank=asset.rank,
            provider_market_cap=asset.provider_market_cap,
            provider_fdv=asset.provider_fdv,
            provider_rank=asset.provider_rank,
        ),
        "thin_reason": metrics.thin_market_reason(asset.volume_24h, asset.market_cap),
        # The page's content is cached per market version (every market write
        # and staleness turn moves it), asset and staff flag (the admin link),
        # so the reads below are callables the template runs only on a miss:
        # drawing a long history alone costs several times the page's queries.
        "content_key": f"{version_of(state, now).tag}|{asset.pk}|{request.user.is_staff}",
        "history": functools.cache(functools.partial(asset_history, asset)),
        "unlocks": functools.cache(
            lambda: queries.unlock_schedule(asset, asset.unlocks.all())
        ),
        "peers": functools.cache(functools.partial(peers.category_peers, asset)),
        "stale": metrics.is_stale(asset.last_updated, now),
        # Stored on write (valuations.volatility, valuations.peers): no read
        # here grows with the market or the category.
        "volatility": getattr(asset, "volatility", None),
        "volatility_rows": _volatility_rows(getattr(asset, "volatility", None)),
    }
    return render(request, "valuations/asset_detail.html", context)


def _volatility_rows(
    stored: AssetVolatility | None,
) -> list[tuple[str, Decimal | None]]:
    """(label, percent a year or None) per window; None when not stored."""
    return [
        (f"{days} days", getattr(stored, f"volatility_{days}d", None))
        for days in (30, 90, 365)
    ]


def calculator(request: HttpRequest) -> HttpResponse:
    """Market cap, tier, FDV and liquidity from numbers typed in; submits by GET."""
    submitted = bool(request.GET)
    form = CalculatorForm(request.GET if submitted else None)
    figures = None
    if submitted and form.is_valid():
        data = form.cleaned_data
        figures = metrics.asset_figures(
            price=data["price"],
            circulating_supply=data["circulating_supply"],
            total_supply=data["total_supply"],
            max_supply=data["max_supply"],
            volume_24h=data["volume_24h"],
            total_market_cap=None,
        )
    status = 400 if submitted and not form.is_valid() else 200
    return render(
        request,
        "valuations/calculator.html",
        {"form": form, "figures": figures},
        status=status,
    )
