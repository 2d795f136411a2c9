"""Assets, categories, market snapshots and supply unlocks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Case, F, FloatField, Q, When
from django.db.models.functions import Cast, Coalesce
from django.urls import reverse
from django.utils import timezone

from valuations.choices import Liquidity, Tier
from valuations.fields import decimal_field, product_field
from valuations.metrics import RANK_ORDER, RANKED, AssetFigures
from valuations.quality import quality_flags


class Category(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=100)
    is_stablecoin = models.BooleanField(
        default=False,
        help_text="Assets in this category count as cash in a portfolio's tier mix.",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class AssetQuerySet(models.QuerySet["Asset"]):
    def ranked(self) -> AssetQuerySet:
        """Assets with a known, positive market cap: the ones that get a rank."""
        return self.filter(RANKED)

    def in_tier(self, tier: str) -> AssetQuerySet:
        """Filter by the stored, indexed tier (kept by state.refresh_market_state)."""
        return self.filter(tier=tier) if tier in Tier.values else self.none()

    def with_rank(self) -> AssetQuerySet:
        """Annotate ``rank``: the stored global rank, None when unranked."""
        return self.annotate(rank=F("ranking__position"))

    def search(self, text: str) -> AssetQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(name__icontains=text) | Q(symbol__iexact=text) | Q(slug__iexact=text)
        )


class Asset(models.Model):
    slug = models.SlugField(
        max_length=200, unique=True, help_text="The provider's id, e.g. bitcoin."
    )
    symbol = models.CharField(max_length=40, db_index=True)
    name = models.CharField(max_length=200, db_index=True)
    price = decimal_field(null=True, blank=True, help_text="USD")
    circulating_supply = decimal_field(null=True, blank=True)
    total_supply = decimal_field(null=True, blank=True)
    max_supply = decimal_field(null=True, blank=True)
    volume_24h = decimal_field(null=True, blank=True, help_text="USD traded in 24 h")
    last_updated = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True, default="")
    # What the provider published beside capsite's own figures (PRODUCT.md, data
    # quality); its 24 h volume is volume_24h.
    provider_market_cap = product_field(null=True, blank=True, help_text="USD")
    provider_fdv = product_field(null=True, blank=True, help_text="USD")
    provider_rank = models.PositiveIntegerField(null=True, blank=True)
    # Stored data-quality flags (valuations.quality.quality_flags), space
    # separated; ``stale`` depends on the clock and is added when read.
    quality_flags = models.CharField(
        max_length=100, blank=True, default="", editable=False
    )
    categories = models.ManyToManyField(Category, related_name="assets", blank=True)
    # Stored by the database so ranking, sorting and tier filters use an index.
    market_cap = models.GeneratedField(
        expression=F("price") * F("circulating_supply"),
        output_field=product_field(null=True),
        db_persist=True,
    )
    # Sort keys, stored by the database: FDV and volume ÷ market cap (a float,
    # for ordering only; served figures come from valuations.metrics).
    fdv_sort = models.GeneratedField(
        expression=F("price") * Coalesce("max_supply", "total_supply"),
        output_field=product_field(null=True),
        db_persist=True,
    )
    turnover_sort = models.GeneratedField(
        expression=Case(
            When(
                Q(price__gt=0, circulating_supply__gt=0),
                then=Cast("volume_24h", FloatField())
                / Cast(F("price") * F("circulating_supply"), FloatField()),
            ),
            default=None,
            output_field=FloatField(),
        ),
        output_field=FloatField(null=True),
        db_persist=True,
    )
    # Market state stored when data changes (valuations.state), never on read;
    # the rank lives in AssetRank, a narrow table, because one new large cap
    # moves every rank below it.
    tier = models.CharField(
        max_length=10, choices=Tier.choices, default=Tier.UNRANKED, editable=False
    )
    # Null, not "", when the band is unknown: the API serves it as null.
    liquidity = models.CharField(  # noqa: DJ001
        max_length=10, choices=Liquidity.choices, null=True, blank=True, editable=False
    )

    objects = AssetQuerySet.as_manager()

    # Not columns: set on the instances of a page by the code named. Annotations
    # only, so Django ignores them.
    rank: int | None  # AssetQuerySet.with_rank
    figures: AssetFigures  # AssetSerializer.to_representation
    stale: bool  # AssetSerializer.to_representation
    unlock_projections: list[dict[str, Any]]  # api.AssetDetailView.get_object
    category_peers: list[Any]  # peers.Peer each; api.AssetDetailView.get_object

    class Meta:
        ordering = list(RANK_ORDER)
        indexes = [
            models.Index(F("market_cap").desc(), "slug", name="asset_cap_rank_idx"),
            models.Index(fields=["volume_24h"], name="asset_volume_idx"),
            models.Index(fields=["price"], name="asset_price_idx"),
            # PostgreSQL also gets NULLS LAST, trigram and per-direction indexes
            # for every sort the table offers (migration 0005).
            models.Index(
                "tier", F("market_cap").desc(), "slug", name="asset_tier_cap_idx"
            ),
            models.Index(
                "tier", F("volume_24h").desc(), "slug", name="asset_tier_vol_idx"
            ),
            models.Index(fields=["fdv_sort"], name="asset_fdv_idx"),
            models.Index(fields=["turnover_sort"], name="asset_turnover_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0),
                name="asset_price_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(circulating_supply__isnull=True)
                | Q(circulating_supply__gte=0),
                name="asset_circulating_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_supply__isnull=True) | Q(total_supply__gte=0),
                name="asset_total_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(max_supply__isnull=True) | Q(max_supply__gte=0),
                name="asset_max_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(volume_24h__isnull=True) | Q(volume_24h__gte=0),
                name="asset_volume_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.symbol.upper()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Flags follow the values on every save (admin edits, factories); bulk
        # imports set them in valuations.imports.apply.
        self.quality_flags = self.flags_for(supply_unknown=self.keeps_supply_unknown())
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "quality_flags"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("valuations:asset-detail", kwargs={"slug": self.slug})

    def keeps_supply_unknown(self) -> bool:
        """An importer read a zero supply as unknown: true while it still is."""
        return "supply_unknown" in self.quality_flags.split() and (
            self.max_supply is None or self.total_supply is None
        )

    def flags_for(self, *, supply_unknown: bool) -> str:
        return " ".join(
            quality_flags(
                price=self.price,
                circulating_supply=self.circulating_supply,
                total_supply=self.total_supply,
                max_supply=self.max_supply,
                volume_24h=self.volume_24h,
                provider_market_cap=self.provider_market_cap,
                supply_unknown=supply_unknown,
            )
        )


class AssetRank(models.Model):
    """An asset's position by market cap among all ranked assets (PRODUCT.md, rank).

    Kept by valuations.state.refresh_market_state; unranked assets have no row.
    """

    asset = models.OneToOneField(
        Asset, on_delete=models.CASCADE, primary_key=True, related_name="ranking"
    )
    position = models.PositiveIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"#{self.position}"


class MarketState(models.Model):
    """The whole market as reads need it: one row, rewritten by every market write.

    Kept by valuations.state.refresh_market_state in the writer's transaction;
    reads take it by primary key, so their cost does not grow with the assets.
    Decimals inside the JSON fields are strings, exact.
    """

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)
    # When a write last changed what the market serves without moving as_of.
    modified_at = models.DateTimeField(null=True, blank=True)
    total_market_cap = product_field(default=Decimal(0))
    bitcoin_market_cap = product_field(null=True, blank=True)
    ethereum_market_cap = product_field(null=True, blank=True)
    asset_count = models.PositiveIntegerField(default=0)
    as_of = models.DateTimeField(null=True, blank=True)
    # {tier: {"asset_count": n, "market_cap": "…"}}
    tiers = models.JSONField(default=dict, blank=True)
    # [{"slug", "name", "asset_count", "market_cap"}], largest first
    categories = models.JSONField(default=list, blank=True)
    # [{"symbol", "market_cap"}] of the ten largest assets
    top = models.JSONField(default=list, blank=True)
    # ISO times, rounded up to the minute, at which assets turn stale
    stale_turns = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Market state v{self.version}"


class MarketSnapshot(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField()
    price = decimal_field(null=True, blank=True)
    circulating_supply = decimal_field(null=True, blank=True)
    total_supply = decimal_field(null=True, blank=True)
    max_supply = decimal_field(null=True, blank=True)
    volume_24h = decimal_field(null=True, blank=True)
    provider_market_cap = product_field(null=True, blank=True)
    provider_fdv = product_field(null=True, blank=True)
    provider_rank = models.PositiveIntegerField(null=True, blank=True)
    market_cap = models.GeneratedField(
        expression=F("price") * F("circulating_supply"),
        output_field=product_field(null=True),
        db_persist=True,
    )

    # Not a column: an unsaved snapshot's asset slug, set by imports.apply while
    # planning an import, before the asset's id is known.
    slug: str

    class Meta:
        ordering = ["asset", "taken_at"]
        get_latest_by = "taken_at"
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "taken_at"], name="snapshot_one_per_time"
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0),
                name="snapshot_price_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["taken_at"], name="snapshot_time_idx")]

    def __str__(self) -> str:
        return f"{self.asset.symbol.upper()} at {self.taken_at:%Y-%m-%d %H:%M}"


class SupplyUnlock(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="unlocks")
    date = models.DateField()
    amount = decimal_field(help_text="Tokens entering circulation on this date.")
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["asset", "date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="unlock_amount_positive"
            ),
        ]
        indexes = [models.Index(fields=["date"], name="unlock_date_idx")]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset.symbol.upper()} on {self.date}"


class Provider(models.TextChoices):
    COINGECKO = "coingecko", "CoinGecko"
    COINMARKETCAP = "coinmarketcap", "CoinMarketCap"
    CSV = "csv", "CSV file"


class ProviderId(models.Model):
    """One provider's id for an asset: CoinGecko ``binancecoin`` is CoinMarketCap ``1839``."""

    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="provider_ids"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    external_id = models.CharField(max_length=200)

    class Meta:
        ordering = ["provider", "external_id"]
        verbose_name = "provider id"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                name="provider_id_unique",
                violation_error_message="This provider id already belongs to an asset.",
            ),
            models.UniqueConstraint(
                fields=["asset", "provider"], name="provider_id_one_per_asset"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.external_id}"


class ImportRun(models.Model):
    """One market-data import: where it came from, who ran it and what it changed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected: bad rows, nothing applied"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    # Set by the import when it begins (not when its run is saved, at the end).
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=500, help_text="File name or URL.")
    format = models.CharField(max_length=20)
    triggered_by = models.CharField(max_length=150, help_text="User name or command.")
    status = models.CharField(max_length=20, choices=Status.choices)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Rows no asset could be matched to with confidence: applied once staff map them.
    waiting = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    # A staff upload waits here between preview and confirmation.
    payload = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["-started"], name="import_run_started_idx")]

    def __str__(self) -> str:
        return f"{self.source} ({self.get_status_display()})"


class MarketIndexDay(models.Model):
    """One UTC day of the stored benchmark indices (PRODUCT.md, Benchmarks).

    Levels start at 1 on the first day with data; each day multiplies the day
    before by 1 + the cap-weighted mean return of the assets priced on both
    days (weights: the previous day's caps; buckets: the previous day's).
    Kept by valuations.indices.refresh_indices; reads take two rows by day.
    """

    # unique=True already gives the index every read seeks by.
    day = models.DateField(unique=True)
    market = product_field(help_text="Level of the cap-weighted market index.")
    large = product_field(null=True, blank=True)
    mid = product_field(null=True, blank=True)
    small = product_field(null=True, blank=True)
    stable = product_field(null=True, blank=True)
    bitcoin_price = decimal_field(null=True, blank=True, help_text="USD")
    assets = models.PositiveIntegerField(
        default=0, help_text="Assets whose return the market index used this day."
    )
    # {bucket: number of assets whose return that bucket's index used}
    coverage = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = "market index day"

    def __str__(self) -> str:
        return f"Market index on {self.day}"


class MarketHistoryDay(models.Model):
    """One UTC day of market history (PRODUCT.md, Volatility and market history).

    The assets with a snapshot that day (each at its last snapshot of the day)
    and a positive market cap: their total cap, Bitcoin's and Ethereum's, and
    each tier's (by that day's cap); and what those same assets are worth
    today, so a read can say what share of today's market the day covers.
    Shares are derived from the row when read. Kept by valuations.history
    (refresh_market_history, store_coverage); reads take rows by day.
    """

    day = models.DateField(unique=True)
    market_cap = product_field(help_text="USD: total cap of the assets covered.")
    asset_count = models.PositiveIntegerField(default=0)
    bitcoin_market_cap = product_field(null=True, blank=True)
    ethereum_market_cap = product_field(null=True, blank=True)
    large_market_cap = product_field(default=Decimal(0))
    mid_market_cap = product_field(default=Decimal(0))
    small_market_cap = product_field(default=Decimal(0))
    covered_today_cap = product_field(
        null=True,
        blank=True,
        help_text="USD: today's total cap of the assets covered that day.",
    )

    class Meta:
        ordering = ["day"]
        verbose_name = "market history day"

    def __str__(self) -> str:
        return f"Market history on {self.day}"


# --- Volatility and category peers (issue 16) -------------------------------


def _volatility_field(**kwargs: Any) -> models.DecimalField:
    """Volatility in percent a year, to 1e-8: 20 digits keep 12 integer digits."""
    return models.DecimalField(max_digits=20, decimal_places=8, **kwargs)


class AssetVolatility(models.Model):
    """An asset's annualised volatility over 30, 90 and 365 days (PRODUCT.md).

    Kept by valuations.volatility.refresh_asset_volatility when snapshots change;
    null where the window holds fewer than N ÷ 2 daily returns.
    """

    asset = models.OneToOneField(
        Asset, on_delete=models.CASCADE, primary_key=True, related_name="volatility"
    )
    volatility_30d = _volatility_field(null=True, blank=True)
    volatility_90d = _volatility_field(null=True, blank=True)
    volatility_365d = _volatility_field(null=True, blank=True)
    # The last day of every window: the market's last snapshot day.
    as_of = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "asset volatility"
        verbose_name_plural = "asset volatilities"

    def __str__(self) -> str:
        return f"Volatility of asset {self.asset_id}"


class TierVolatility(models.Model):
    """A tier's cap-weighted index volatility over one window (PRODUCT.md).

    Kept by valuations.volatility.refresh_tier_volatility from MarketIndexDay.
    """

    tier = models.CharField(max_length=10, choices=Tier.choices)
    window_days = models.PositiveSmallIntegerField()
    volatility = _volatility_field(null=True, blank=True)
    returns = models.PositiveIntegerField(
        default=0, help_text="Daily index returns inside the window."
    )
    assets = models.PositiveIntegerField(
        default=0, help_text="Assets the index covered on the window's last day."
    )
    assets_min = models.PositiveIntegerField(default=0)
    assets_max = models.PositiveIntegerField(default=0)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["window_days", "tier"]
        verbose_name_plural = "tier volatilities"
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "window_days"], name="tier_volatility_one_per_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier} over {self.window_days} days"


class CategoryRank(models.Model):
    """An asset's position by market cap inside one of its categories.

    Kept by valuations.peers.store_category_peers in refresh_market_state;
    only ranked assets (a positive cap) have a row.
    """

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="ranks"
    )
    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, related_name="category_ranks"
    )
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["category", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "asset"], name="category_rank_one_per_asset"
            ),
        ]
        indexes = [
            models.Index(fields=["category", "position"], name="category_rank_pos_idx")
        ]

    def __str__(self) -> str:
        return f"#{self.position} in category {self.category_id}"


class CategoryStats(models.Model):
    """A category's ranked assets, total and median market cap, stored on write."""

    category = models.OneToOneField(
        Category, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    ranked_count = models.PositiveIntegerField(default=0)
    market_cap = product_field(default=Decimal(0))
    median_market_cap = product_field(null=True, blank=True)

    class Meta:
        verbose_name_plural = "category stats"

    def __str__(self) -> str:
        return f"Stats of category {self.category_id}"
