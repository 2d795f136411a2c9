"""Admin for assets, categories, snapshots and provider ids."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.db.models import Count, F, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from valuations import metrics, quality, queries
from valuations.admin.common import RefreshesMarketState
from valuations.admin.imports import MARKET_UPLOAD_PERMS
from valuations.choices import Liquidity, QualityFlag, Tier
from valuations.forms_admin import (
    AssetAdminForm,
    MarketSnapshotAdminForm,
    SupplyUnlockAdminForm,
    readable_number,
)
from valuations.models import (
    Asset,
    AssetQuerySet,
    Category,
    MarketSnapshot,
    ProviderId,
    SupplyUnlock,
)

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldOpts
    from django.utils.functional import _StrPromise
    from django_stubs_ext import WithAnnotations

    # A fieldset as django-stubs types ModelAdmin.get_fieldsets' items.
    Fieldset = tuple[str | _StrPromise | None, _FieldOpts]

# The asset page shows this many of the latest snapshots. A full history would
# post several fields per row and soon pass DATA_UPLOAD_MAX_NUMBER_FIELDS.
INLINE_SNAPSHOTS = 30


def _usd(value: Decimal | None) -> str | None:
    """Return whole dollars with thousands separators, None when unknown."""
    return None if value is None else f"{value:,.0f}"


def _number(value: Decimal | None) -> str | None:
    return None if value is None else readable_number(value)


def _snapshot_cap(snapshot: MarketSnapshot) -> str | None:
    # The database computes market_cap on save: an unsaved row has none to read.
    return None if snapshot.pk is None else _usd(snapshot.market_cap)


class TierListFilter(admin.SimpleListFilter):
    title = "tier"
    parameter_name = "tier"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        return list(Tier.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> QuerySet:
        if tier := self.value():
            # The admin's queryset comes from Asset.objects.
            assert isinstance(queryset, AssetQuerySet)
            # in_tier filters on the stored, indexed tier column, kept by
            # valuations.state with the same bounds tier_for() uses.
            return queryset.in_tier(tier)
        return queryset


class QualityFlagListFilter(admin.SimpleListFilter):
    title = "data quality"
    parameter_name = "flag"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> list[tuple[str, str]]:
        return list(QualityFlag.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> QuerySet:
        if flag := self.value():
            return queries.flagged(queryset, flag, timezone.now())
        return queryset


@admin.display(description="data quality")
def data_quality(obj: Asset) -> str:
    flags = quality.served_flags(obj.quality_flags, obj.last_updated, timezone.now())
    return ", ".join(QualityFlag(flag).label for flag in flags) or "—"


class MarketSnapshotInline(admin.TabularInline):
    model = MarketSnapshot
    form = MarketSnapshotAdminForm
    verbose_name_plural = f"market snapshots (latest {INLINE_SNAPSHOTS})"
    extra = 0
    ordering = ("-taken_at",)
    fields = (
        "taken_at",
        "price",
        "circulating_supply",
        "total_supply",
        "max_supply",
        "volume_24h",
        "market_cap_usd",
    )
    readonly_fields = ("market_cap_usd",)
    show_change_link = True

    @admin.display(description="market cap (USD)")
    def market_cap_usd(self, obj: MarketSnapshot) -> str | None:
        return _snapshot_cap(obj)


class SupplyUnlockInline(admin.TabularInline):
    model = SupplyUnlock
    form = SupplyUnlockAdminForm
    extra = 0
    ordering = ("date",)
    fields = ("date", "amount", "note")


class ProviderIdInline(admin.TabularInline):
    """Map a provider's id (a CoinMarketCap number) to this asset for imports."""

    model = ProviderId
    extra = 0
    fields = ("provider", "external_id")


# Module functions, not ModelAdmin methods: tier and liquidity are stored
# columns now, and the admin would show a column's raw value before a method.
@admin.display(description="tier", ordering=F("market_cap").desc(nulls_last=True))
def tier(obj: Asset) -> str:
    return Tier(metrics.tier_for(obj.market_cap)).label


@admin.display(description="liquidity", ordering="turnover_sort")
def liquidity(obj: Asset) -> str | SafeString | None:
    band = metrics.turnover_band(
        metrics.volume_to_market_cap(obj.volume_24h, obj.market_cap)
    )
    label = Liquidity(band).label if band else "—"
    # PRODUCT.md: the band is a neutral label; only a thin market is an alarm.
    thin = metrics.thin_market_reason(obj.volume_24h, obj.market_cap)
    if thin:
        return format_html(
            '{} <strong title="{}">⚠ thin: cap unreliable</strong>', label, thin
        )
    return label


@admin.register(Asset)
class AssetAdmin(RefreshesMarketState):
    caps_change = True

    def history_assets(self, objects: list[Model]) -> list[int]:
        # The inlines edit the asset's snapshots, and its categories its bucket.
        return [obj.pk for obj in objects]

    form = AssetAdminForm
    # Callables (tier, liquidity) are documented for list_display, readonly_fields
    # and fieldsets; django-stubs types only names there.
    list_display = (  # type: ignore[assignment]
        "name",
        "symbol",
        "rank",
        "price_usd",
        "market_cap_usd",
        tier,
        liquidity,
        "volume_usd",
        "last_updated",
        data_quality,
    )
    list_display_links = ("name",)
    list_filter = (TierListFilter, QualityFlagListFilter, "categories", "source")
    search_fields = ("slug", "symbol", "name")
    search_help_text = "Search by id (slug), symbol or name."
    filter_horizontal = ("categories",)
    readonly_fields = (  # type: ignore[assignment]
        "current_rank",
        "market_cap_usd",
        tier,
        liquidity,
        "snapshot_history",
        "provider_market_cap",
        "provider_fdv",
        "provider_rank",
        data_quality,
    )
    inlines = (ProviderIdInline, MarketSnapshotInline, SupplyUnlockInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Asset]:
        # The stored rank rides along with each row: no query per row.
        queryset = super().get_queryset(request)
        assert isinstance(queryset, AssetQuerySet)
        return queryset.with_rank()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_upload_markets": request.user.has_perms(MARKET_UPLOAD_PERMS),
        }
        return super().changelist_view(request, extra_context)

    def get_fieldsets(
        self, request: HttpRequest, obj: Asset | None = None
    ) -> list[Fieldset]:
        fieldsets: list[Fieldset] = [
            (None, {"fields": ("slug", "symbol", "name", "categories")}),
            (
                "Market data",
                {
                    "fields": (
                        "price",
                        "circulating_supply",
                        "total_supply",
                        "max_supply",
                        "volume_24h",
                        "last_updated",
                        "source",
                    )
                },
            ),
        ]
        # Computed values need a saved row: market_cap is generated by the database.
        if obj is not None and obj.pk is not None:
            fieldsets.append(
                (
                    "Computed",
                    {
                        "fields": (  # type: ignore[typeddict-item]
                            "current_rank",
                            "market_cap_usd",
                            tier,
                            liquidity,
                            "snapshot_history",
                        )
                    },
                )
            )
            fieldsets.append(
                (
                    "As the provider published it",
                    {
                        "fields": (  # type: ignore[typeddict-item]
                            "provider_market_cap",
                            "provider_fdv",
                            "provider_rank",
                            data_quality,
                        )
                    },
                )
            )
        return fieldsets

    def get_formset_kwargs(
        self, request: HttpRequest, obj: Asset, inline: Any, prefix: str
    ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, MarketSnapshotInline) and obj.pk is not None:
            latest = (
                MarketSnapshot.objects.filter(asset=obj)
                .order_by("-taken_at")
                .values("pk")[:INLINE_SNAPSHOTS]
            )
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=latest)
        return kwargs

    # Rank 1 is the largest market cap; unranked assets sort last.
    @admin.display(description="rank", ordering=F("market_cap").desc(nulls_last=True))
    def rank(self, obj: Asset) -> int | None:
        # Stored by valuations.state.refresh_market_state.
        return obj.rank

    @admin.display(description="rank")
    def current_rank(self, obj: Asset) -> int | None:
        return obj.rank

    @admin.display(description="price (USD)", ordering="price")
    def price_usd(self, obj: Asset) -> str | None:
        return _number(obj.price)

    @admin.display(
        description="market cap (USD)",
        # Unknown caps count as smallest: first when ascending, last descending.
        ordering=F("market_cap").asc(nulls_first=True),
    )
    def market_cap_usd(self, obj: Asset) -> str | None:
        return _usd(obj.market_cap)

    @admin.display(description="24 h volume (USD)", ordering="volume_24h")
    def volume_usd(self, obj: Asset) -> str | None:
        return _usd(obj.volume_24h)

    @admin.display(description="snapshot history")
    def snapshot_history(self, obj: Asset) -> SafeString:
        url = reverse("admin:valuations_marketsnapshot_changelist")
        count = obj.snapshots.count()
        return format_html(
            '<a href="{}?asset__id__exact={}">All {} snapshots</a>', url, obj.pk, count
        )


class _AssetCount(TypedDict):
    asset_count: int


@admin.register(Category)
class CategoryAdmin(RefreshesMarketState):
    list_display = ("name", "slug", "is_stablecoin", "asset_count")
    list_filter = ("is_stablecoin",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(asset_count=Count("assets"))

    def history_assets(self, objects: list[Model]) -> list[int]:
        # A stablecoin category moves its assets into the stable bucket.
        return list(
            Asset.objects.filter(
                categories__in=[obj.pk for obj in objects]
            ).values_list("pk", flat=True)
        )

    @admin.display(description="assets", ordering="asset_count")
    def asset_count(self, obj: WithAnnotations[Category, _AssetCount]) -> int:
        return obj.asset_count


@admin.register(MarketSnapshot)
class MarketSnapshotAdmin(RefreshesMarketState):
    form = MarketSnapshotAdminForm

    def history_assets(self, objects: list[Model]) -> list[int]:
        return [obj.asset_id for obj in objects if isinstance(obj, MarketSnapshot)]

    list_display = (
        "asset",
        "taken_at",
        "price_usd",
        "market_cap_usd",
        "volume_usd",
    )
    list_select_related = ("asset",)
    search_fields = ("asset__slug", "asset__symbol", "asset__name")
    date_hierarchy = "taken_at"
    ordering = ("-taken_at", "asset__slug")
    autocomplete_fields = ("asset",)
    readonly_fields = ("market_cap_usd",)

    @admin.display(description="price (USD)", ordering="price")
    def price_usd(self, obj: MarketSnapshot) -> str | None:
        return _number(obj.price)

    @admin.display(description="market cap (USD)", ordering="market_cap")
    def market_cap_usd(self, obj: MarketSnapshot) -> str | None:
        return _snapshot_cap(obj)

    @admin.display(description="24 h volume (USD)", ordering="volume_24h")
    def volume_usd(self, obj: MarketSnapshot) -> str | None:
        return _usd(obj.volume_24h)


@admin.register(ProviderId)
class ProviderIdAdmin(admin.ModelAdmin):
    list_display = ("external_id", "provider", "asset")
    list_filter = ("provider",)
    list_select_related = ("asset",)
    search_fields = ("external_id", "asset__slug", "asset__symbol", "asset__name")
    search_help_text = "Search by the provider's id, or the asset's id, symbol or name."
    autocomplete_fields = ("asset",)
