"""The asset list's rows as JSON-ready dicts, read from stored columns.

The list is the hottest read: DRF's field machinery costs more than the query,
so a page of rows is built here from ``.values()`` with the same figures
(valuations.metrics) and the same decimal and time formats as AssetSerializer.
tests/api/test_assets.py pins this output to the serializer's, row for row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Context, Decimal
from typing import Any

from django.db.models import F, QuerySet
from rest_framework.fields import DateTimeField

from valuations import metrics
from valuations.fields import DECIMAL_PLACES
from valuations.models import Asset

# As capsite.api.Amount renders: 18 places, trailing zeros dropped, no rounding
# of up to 100 significant digits.
_WIDE = Context(prec=100)
_PLACES = Decimal(1).scaleb(-DECIMAL_PLACES)
_TIME = DateTimeField()

COLUMNS = (
    "pk",
    "slug",
    "symbol",
    "name",
    "rank",
    "price",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "market_cap",
    "volume_24h",
    "tier",
    "liquidity",
    "last_updated",
)


def exact(value: Decimal | None) -> str | None:
    """Return a decimal as the API sends it ("76134.5"), or None."""
    if value is None:
        return None
    return f"{value.quantize(_PLACES, context=_WIDE).normalize(_WIDE):f}"


def _categories(asset_ids: list[int]) -> dict[int, list[str]]:
    """Return the category slugs of each asset, ordered by name, in one query."""
    links = (
        Asset.categories.through.objects.filter(asset_id__in=asset_ids)
        .order_by("category__name", "category__slug")
        .values_list("asset_id", F("category__slug"))
    )
    found: dict[int, list[str]] = defaultdict(list)
    for asset_id, slug in links:
        found[asset_id].append(slug)
    return found


def page_values(queryset: QuerySet[Asset]) -> QuerySet[Asset, dict[str, Any]]:
    """The columns a row needs, for a queryset of assets already filtered and sorted."""
    return queryset.values(*COLUMNS)


def asset_rows(
    records: Iterable[dict[str, Any]], *, total_market_cap: Decimal, now: datetime
) -> list[dict[str, Any]]:
    """Return API rows for ``page_values`` records: stored rank, tier and band,
    quotients from valuations.metrics, categories in one query."""
    records = list(records)
    categories = _categories([r["pk"] for r in records])
    rows = []
    for r in records:
        cap, price = r["market_cap"], r["price"]
        fdv = metrics.fully_diluted_valuation(price, r["max_supply"], r["total_supply"])
        turnover = metrics.volume_to_market_cap(r["volume_24h"], cap)
        updated = r["last_updated"]
        rows.append(
            {
                "slug": r["slug"],
                "symbol": r["symbol"],
                "name": r["name"],
                "rank": r["rank"],
                "price": exact(price),
                "circulating_supply": exact(r["circulating_supply"]),
                "total_supply": exact(r["total_supply"]),
                "max_supply": exact(r["max_supply"]),
                "market_cap": exact(cap),
                "fully_diluted_valuation": exact(fdv.value),
                "fdv_basis": fdv.basis,
                "dilution_ratio": exact(metrics.dilution_ratio(fdv.value, cap)),
                "volume_24h": exact(r["volume_24h"]),
                "volume_to_market_cap": exact(turnover),
                "liquidity": r["liquidity"],
                "tier": r["tier"],
                "dominance": exact(
                    metrics.percent(metrics.dominance(cap, total_market_cap))
                ),
                "categories": categories.get(r["pk"], []),
                "last_updated": _TIME.to_representation(updated) if updated else None,
                "stale": metrics.is_stale(updated, now),
            }
        )
    return rows
