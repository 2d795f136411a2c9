"""The asset list's rows as JSON-ready dicts, read from stored columns.

The list is the hottest read: DRF's field machinery costs more than the query,
so a page of rows is built here from ``.values()`` with the same figures
(valuations.metrics) and the same decimal and time formats as AssetSerializer.
tests/api/test_assets.py pins this output to the serializer's, row for row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, tzinfo
from decimal import Context, Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from valuations import metrics, quality
from valuations.fields import DECIMAL_PLACES
from valuations.models import Asset, Category

# As capsite.api.Amount renders: 18 places, trailing zeros dropped, no rounding
# of up to 100 significant digits.
_WIDE = Context(prec=100)
_PLACES = Decimal(1).scaleb(-DECIMAL_PLACES)

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
    "provider_market_cap",
    "provider_fdv",
    "provider_rank",
    "quality_flags",
    "volatility__volatility_30d",
    "volatility__volatility_90d",
    "volatility__volatility_365d",
)


def exact(value: Decimal | None) -> str | None:
    """Return a decimal as the API sends it ("76134.5"), or None."""
    if value is None:
        return None
    return f"{value.quantize(_PLACES, context=_WIDE).normalize(_WIDE):f}"


def stored(value: Decimal | None) -> str | None:
    """``exact`` for a value with 18 places at most already: a stored column,
    an index level (valuations.compare). Normalised in 100 digits, as Amount
    renders it: the default 28 would round a value past 10^21."""
    return None if value is None else f"{value.normalize(_WIDE):f}"


def _time(value: datetime | None, zone: tzinfo) -> str | None:
    """Return a time as DRF's DateTimeField does: ISO 8601, ``Z`` for UTC."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _categories(asset_ids: list[int]) -> dict[int, list[str]]:
    """Return the category slugs of each asset, ordered by name, in one query.

    Plain SQL: the ORM's per-value resolution of a 100-id IN list costs more
    than the query itself.
    """
    if not asset_ids:
        return {}
    through = Asset.categories.through._meta.db_table
    category = Category._meta.db_table
    # One array parameter on PostgreSQL keeps the statement the same every time.
    params: list[Any]
    if connection.vendor == "postgresql":
        match, params = "= ANY(%s)", [asset_ids]
    else:
        match, params = f"IN ({', '.join(['%s'] * len(asset_ids))})", asset_ids
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT link.asset_id, c.slug FROM {through} link "
            f"JOIN {category} c ON c.id = link.category_id "
            f"WHERE link.asset_id {match} ORDER BY c.name, c.slug",
            params,
        )
        found: dict[int, list[str]] = defaultdict(list)
        for asset_id, slug in cursor.fetchall():
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
    zone = timezone.get_current_timezone()
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
                "price": stored(price),
                "circulating_supply": stored(r["circulating_supply"]),
                "total_supply": stored(r["total_supply"]),
                "max_supply": stored(r["max_supply"]),
                "market_cap": stored(cap),
                "fully_diluted_valuation": exact(fdv.value),
                "fdv_basis": fdv.basis,
                "dilution_ratio": exact(metrics.dilution_ratio(fdv.value, cap)),
                "volume_24h": stored(r["volume_24h"]),
                "volume_to_market_cap": exact(turnover),
                "liquidity": r["liquidity"],
                "thin_market": metrics.is_thin_market(r["volume_24h"], cap),
                "tier": r["tier"],
                "dominance": exact(
                    metrics.percent(metrics.dominance(cap, total_market_cap))
                ),
                "categories": categories.get(r["pk"], []),
                "last_updated": _time(updated, zone),
                "stale": metrics.is_stale(updated, now),
                "provider_market_cap": stored(r["provider_market_cap"]),
                "provider_fdv": stored(r["provider_fdv"]),
                "provider_rank": r["provider_rank"],
                "quality_flags": quality.served_flags(r["quality_flags"], updated, now),
                "volatility_30d": stored(r["volatility__volatility_30d"]),
                "volatility_90d": stored(r["volatility__volatility_90d"]),
                "volatility_365d": stored(r["volatility__volatility_365d"]),
            }
        )
    return rows
