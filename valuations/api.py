"""Public market API: assets, their history, the market summary and the calculator."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import django_filters
from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import condition
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, views
from rest_framework.request import Request
from rest_framework.response import Response

from valuations import metrics, queries
from valuations.choices import Tier
from valuations.models import Asset, AssetQuerySet, MarketSnapshot
from valuations.serializers import (
    AssetDetailSerializer,
    AssetSerializer,
    CalculatorInputSerializer,
    CalculatorSerializer,
    HistoryQuerySerializer,
    MarketSerializer,
    SnapshotSerializer,
)

# A page's row type, as in GenericAPIView.paginate_queryset.
_Row = TypeVar("_Row")

ORDERINGS = ["rank", "market_cap", "volume_24h", "price"]


def _market_version() -> tuple[datetime | None, str]:
    """Return when market data last changed and a fingerprint of its current state.

    One aggregate query; any new price, supply or volume changes the sums. The
    ``stale`` flags change with time alone, so an asset turning stale counts as
    a change too, dated when it turned.
    """
    stale_after = timedelta(seconds=settings.CAPSITE_STALE_AFTER)
    stale_before = timezone.now() - stale_after
    row = Asset.objects.order_by().aggregate(
        updated=Max("last_updated"),
        count=Count("pk"),
        caps=Sum("market_cap"),
        volume=Sum("volume_24h"),
        stale=Count(
            "pk",
            filter=Q(last_updated__lt=stale_before) | Q(last_updated__isnull=True),
        ),
        turned=Max("last_updated", filter=Q(last_updated__lt=stale_before)),
    )
    changed = row["updated"]
    if row["turned"] is not None:
        changed = max(changed, row["turned"] + stale_after)
    fingerprint = (
        f"{row['updated']}|{row['count']}|{row['caps']}|{row['volume']}|{row['stale']}"
    )
    return changed, fingerprint


def _request_version(request: Any) -> tuple[datetime | None, str]:
    """The market version, read once per request: the ETag and Last-Modified
    checks both need it."""
    if not hasattr(request, "_market_version"):
        request._market_version = _market_version()
    return request._market_version


def _etag(request: Any, *args: Any, **kwargs: Any) -> str:
    _, fingerprint = _request_version(request)
    key = f"{fingerprint}|{request.get_full_path()}|{request.headers.get('Accept', '')}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _last_modified(request: Any, *args: Any, **kwargs: Any) -> datetime | None:
    return _request_version(request)[0]


# ETag and Last-Modified on market reads: a client that sends If-None-Match or
# If-Modified-Since gets 304 without the page being built.
conditional = condition(etag_func=_etag, last_modified_func=_last_modified)


class AssetFilterSet(django_filters.FilterSet):
    tier = django_filters.ChoiceFilter(choices=Tier.choices, method="filter_tier")
    category = django_filters.CharFilter(field_name="categories__slug")
    search = django_filters.CharFilter(
        method="filter_search", help_text="Name or symbol."
    )
    min_market_cap = django_filters.NumberFilter(
        field_name="market_cap", lookup_expr="gte"
    )
    max_market_cap = django_filters.NumberFilter(
        field_name="market_cap", lookup_expr="lte"
    )
    ordering = django_filters.ChoiceFilter(
        choices=[
            (f"{sign}{key}", f"{sign}{key}") for key in ORDERINGS for sign in ("", "-")
        ],
        method="filter_ordering",
        help_text="rank (default), market_cap, volume_24h or price; '-' descends.",
    )

    class Meta:
        model = Asset
        fields: list[str] = []

    # The view's queryset comes from Asset.objects, so it is an AssetQuerySet.
    def filter_tier(
        self, queryset: AssetQuerySet, name: str, value: str
    ) -> AssetQuerySet:
        return queryset.in_tier(value)

    def filter_search(
        self, queryset: AssetQuerySet, name: str, value: str
    ) -> AssetQuerySet:
        return queryset.search(value)

    def filter_ordering(
        self, queryset: QuerySet[Asset], name: str, value: str
    ) -> QuerySet[Asset]:
        return queries.order_assets(queryset, value)


if TYPE_CHECKING:
    # What the mixin's super() resolves to in the views that use it.
    _AssetView = generics.GenericAPIView[Asset]
else:
    _AssetView = object


class _MarketContextMixin(_AssetView):
    def get_serializer_context(self) -> dict[str, Any]:
        return {
            **super().get_serializer_context(),
            "total_market_cap": queries.total_market_cap(),
        }


@method_decorator(conditional, name="get")
class AssetListView(_MarketContextMixin, generics.ListAPIView[Asset]):
    """Assets with every valuation metric, ranked by market cap."""

    serializer_class = AssetSerializer
    filterset_class = AssetFilterSet
    permission_classes = [permissions.AllowAny]

    def get_queryset(self) -> QuerySet[Asset]:
        return queries.order_assets(
            Asset.objects.prefetch_related("categories"), "rank"
        )

    def paginate_queryset(
        self, queryset: QuerySet[Asset, _Row] | Sequence[_Row]
    ) -> list[_Row] | None:
        page = super().paginate_queryset(queryset)
        if page is None:
            return None
        # get_queryset never calls values(): the rows are Asset instances, and
        # attach_ranks sets their rank in place.
        queries.attach_ranks(cast("list[Asset]", page))
        return page


@method_decorator(conditional, name="get")
class AssetDetailView(_MarketContextMixin, generics.RetrieveAPIView[Asset]):
    """One asset with its metrics and unlock schedule projected at today's price."""

    serializer_class = AssetDetailSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    queryset = Asset.objects.prefetch_related("categories", "unlocks")

    def get_object(self) -> Asset:
        asset = super().get_object()
        asset.rank = queries.ranks_for([asset.pk]).get(asset.pk)
        asset.unlock_projections = [
            {**vars(projection), "note": unlock.note}
            for unlock, projection in queries.unlock_schedule(
                asset, asset.unlocks.all()
            )
        ]
        return asset


@method_decorator(conditional, name="get")
class AssetHistoryView(generics.ListAPIView):
    """Daily market snapshots of one asset, oldest first, with the tier of each day."""

    serializer_class = SnapshotSerializer
    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[HistoryQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return MarketSnapshot.objects.none()
        asset = get_object_or_404(Asset, slug=self.kwargs["slug"])
        params = HistoryQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        snapshots = asset.snapshots.annotate(tier=metrics.tier_case()).order_by(
            "taken_at"
        )
        if start := params.validated_data.get("start"):
            snapshots = snapshots.filter(taken_at__date__gte=start)
        if end := params.validated_data.get("end"):
            snapshots = snapshots.filter(taken_at__date__lte=end)
        return snapshots


@method_decorator(conditional, name="get")
class MarketView(views.APIView):
    """Total and altcoin market cap, dominance of the top ten, tiers and categories."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=MarketSerializer)
    def get(self, request: Request) -> Response:
        summary = queries.market_summary(top=10)
        overview = summary.overview
        data = {
            "total_market_cap": overview.total_market_cap,
            "altcoin_market_cap": overview.altcoin_market_cap,
            "asset_count": overview.asset_count,
            "as_of": overview.as_of,
            "stale": metrics.is_stale(overview.as_of, timezone.now()),
            "dominance": [
                {"symbol": d.symbol, "share": metrics.percent(d.share)}
                for d in summary.dominance
                if d.share is not None
            ],
            "tiers": [
                {**vars(t), "share": metrics.percent(t.share)} for t in overview.tiers
            ],
            "categories": [
                {**vars(c), "share": metrics.percent(c.share)}
                for c in summary.categories
            ],
        }
        return Response(MarketSerializer(data).data)


class CalculatorView(views.APIView):
    """Market cap, tier, FDV, dilution, liquidity and next-tier price from inputs."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(request=CalculatorInputSerializer, responses=CalculatorSerializer)
    def post(self, request: Request) -> Response:
        params = CalculatorInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        figures = metrics.asset_figures(
            price=data["price"],
            circulating_supply=data["circulating_supply"],
            total_supply=data.get("total_supply"),
            max_supply=data.get("max_supply"),
            volume_24h=data.get("volume_24h"),
            total_market_cap=None,
        )
        return Response(CalculatorSerializer(SimpleNamespace(figures=figures)).data)
