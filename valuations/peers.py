"""An asset among its category peers: rank, share and the category's median cap.

Stored by ``store_category_peers`` inside refresh_market_state, so the asset
page reads them in one query whatever the size of the category.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal

from django.db import connection
from django.db.models import Count, Q

from valuations import metrics
from valuations.models import Asset, CategoryRank, CategoryStats

EXACT = Context(prec=100)
HALF = Decimal("0.5")
HUNDRED = Decimal(100)


def median_positions(count: int) -> tuple[int, int]:
    """The 1-based positions whose caps average to the median of ``count`` caps:
    the middle one twice when odd, the two middle ones when even."""
    return (count + 1) // 2, (count + 2) // 2


def store_category_peers() -> None:
    """Rewrite every ranked asset's position in each of its categories, and each
    category's ranked count, total cap and median cap.

    Positions follow the global rank order (cap descending, slug), among the
    category's assets with a positive cap. At most six statements whatever the
    size: a window over the memberships, one aggregate, one median read and
    the writes.
    """
    ranks = CategoryRank._meta.db_table
    through = Asset.categories.through._meta.db_table
    assets = Asset._meta.db_table
    # The global rank's sort key (metrics.ExactOrder): SQLite's float products
    # are compared at 15 digits so equal caps tie and the slug decides.
    cap = "a.market_cap"
    if connection.vendor == "sqlite":
        cap = "CAST(printf('%%.15g', a.market_cap) AS REAL)"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ranks}", [])
        cursor.execute(
            f"INSERT INTO {ranks} (category_id, asset_id, position) "
            "SELECT link.category_id, link.asset_id, ROW_NUMBER() OVER ("
            f"PARTITION BY link.category_id ORDER BY {cap} DESC, a.slug) "
            f"FROM {through} link JOIN {assets} a ON a.id = link.asset_id "
            "WHERE a.market_cap > 0",
            [],
        )
    # Each category's count and total, then the caps at its median positions
    # (through the ORM, which reads SQLite's float products back as Decimals).
    counted = (
        CategoryRank.objects.order_by()
        .values("category_id")
        .annotate(
            n=Count("pk"), total=metrics.total_market_cap_sum("asset__market_cap")
        )
        .values_list("category_id", "n", "total")
    )
    counts: dict[int, int] = {}
    totals: dict[int, Decimal | None] = {}
    wanted = Q(pk__in=[])
    for category_id, count, total in counted:
        counts[category_id], totals[category_id] = count, total
        wanted |= Q(category_id=category_id, position__in=median_positions(count))
    middles: dict[int, list[Decimal]] = {}
    if counts:
        for category_id, cap in CategoryRank.objects.filter(wanted).values_list(
            "category_id", "asset__market_cap"
        ):
            middles.setdefault(category_id, []).append(cap)
    stats = []
    for category_id, caps in middles.items():
        # One cap when the count is odd (both positions name it), two when even.
        low, high = (caps[0], caps[0]) if len(caps) == 1 else (min(caps), max(caps))
        stats.append(
            CategoryStats(
                category_id=category_id,
                ranked_count=counts[category_id],
                market_cap=totals.get(category_id) or Decimal(0),
                median_market_cap=EXACT.multiply(EXACT.add(low, high), HALF),
            )
        )
    CategoryStats.objects.all().delete()
    CategoryStats.objects.bulk_create(stats)


@dataclass(frozen=True)
class Peer:
    """The asset's standing in one category."""

    slug: str
    name: str
    rank: int
    of: int
    share: Decimal | None  # fraction of the category's market cap, 0–1
    median_market_cap: Decimal | None

    @property
    def share_percent(self) -> Decimal | None:
        """The share in percent, 0–100, as the API serves shares."""
        return None if self.share is None else EXACT.multiply(self.share, HUNDRED)


def category_peers(asset: Asset) -> list[Peer]:
    """The asset's rank, share and category median in each of its categories.

    One query, on stored rows: its cost does not grow with the category.
    Unranked assets (no positive cap) have no peers.
    """
    found = (
        CategoryRank.objects.filter(asset=asset)
        .select_related("category", "category__stats")
        .order_by("category__name")
    )
    peers = []
    for row in found:
        stats = getattr(row.category, "stats", None)
        total = stats.market_cap if stats is not None else None
        peers.append(
            Peer(
                slug=row.category.slug,
                name=row.category.name,
                rank=row.position,
                of=stats.ranked_count if stats is not None else 0,
                share=metrics.dominance(asset.market_cap, total),
                median_market_cap=stats.median_market_cap if stats else None,
            )
        )
    return peers
