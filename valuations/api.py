"""Public market API: assets, their history, the market summary and the calculator."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

import django_filters
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, permissions, views
from rest_framework.request import Request
from rest_framework.response import Response

from capsite.api import (
    CONDITION_HEADERS,
    TEXT_PATTERN,
    CountedPagination,
    DecimalQueryField,
    FilterForm,
    decimal_length,
    decimal_pattern,
)
from valuations import metrics, peers, queries, rows
from valuations.choices import QualityFlag, Tier
from valuations.models import Asset, AssetQuerySet, MarketSnapshot, MarketState
from valuations.serializers import (
    AssetDetailSerializer,
    AssetSerializer,
    CalculatorInputSerializer,
    CalculatorSerializer,
    HistoryQuerySerializer,
    MarketSerializer,
    SnapshotSerializer,
)
from valuations.state import Version, current_state, version_of

# A page's row type, as in GenericAPIView.paginate_queryset.
_Row = TypeVar("_Row")

ORDERINGS = ["rank", "market_cap", "volume_24h", "price"]


def request_state(request: Any) -> MarketState:
    """The market state, read once per request (one primary-key read): the
    ETag, Last-Modified and the response all need it."""
    if not hasattr(request, "_market_state"):
        request._market_state = current_state()
    state: MarketState = request._market_state
    return state


def request_version(request: Any) -> Version:
    """The market version as of this request, worked out once: ETag,
    Last-Modified and the cached page agree even at a staleness turn."""
    if not hasattr(request, "_market_version"):
        request._market_version = version_of(request_state(request), timezone.now())
    version: Version = request._market_version
    return version


def cached_per_version(request: Any, name: str, build: Callable[[], Any]) -> Any:
    """The answer to this address at this market version: from the shared
    cache, or built and stored. A market write (or an asset turning stale)
    moves the version, so nothing stale is served; errors raised by ``build``
    are never stored."""
    digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    key = f"{name}:{request_version(request).tag}:{digest}"
    payload = cache.get(key)
    if payload is None:
        payload = build()
        cache.set(key, payload, timeout=3600)
    return payload


def _etag(request: Any, *args: Any, **kwargs: Any) -> str:
    tag = request_version(request).tag
    key = f"{tag}|{request.get_full_path()}|{request.headers.get('Accept', '')}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _last_modified(request: Any, *args: Any, **kwargs: Any) -> datetime | None:
    return request_version(request).last_modified


def conditional(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponseBase]:
    """ETag and Last-Modified on a market read, and 304 for a client that sends
    them back (If-None-Match, If-Modified-Since).

    Wrapped around the whole DRF view in api_urls (not its get method), so a
    304 for an ETag costs the state's primary-key read and nothing of DRF's
    authentication, throttling or negotiation. Preconditions apply only to a
    request that would succeed without them (RFC 9110 §13.2.1): an ETag names
    one address in one market version and only a 200 carries it, so a match
    proves that; ``*`` and a date prove nothing, so those run the view and
    turn its 200, and only a 200, into a 304.
    """

    @functools.wraps(view)
    def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        for header, longest in CONDITION_HEADERS.items():
            if len(request.headers.get(header, "")) > longest:
                reason = f"Ensure this value has at most {longest} characters."
                return JsonResponse({header: [reason]}, status=400)
        etag = quote_etag(_etag(request))
        modified = _last_modified(request)
        stamp = int(modified.timestamp()) if modified else None
        tags = request.headers.get("If-None-Match", "").strip()
        if tags and tags != "*":
            shortcut = get_conditional_response(request, etag=etag, last_modified=stamp)
            if shortcut is not None:
                return shortcut
        response = view(request, *args, **kwargs)
        if response.status_code != 200:
            return response  # no validators: there is nothing to revalidate
        response.headers.setdefault("ETag", etag)
        if stamp is not None:
            response.headers.setdefault("Last-Modified", http_date(stamp))
        revalidated = get_conditional_response(
            request, etag=etag, last_modified=stamp, response=response
        )
        return revalidated or response

    return inner


# A name, a symbol or a category slug is far shorter.
TEXT_FILTER_LENGTH = 100


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": decimal_pattern(40, 18, False),
        "maxLength": decimal_length(40, 18),
    }
)
class DecimalFilter(django_filters.NumberFilter):
    """A money bound: parsed as a Decimal, documented as a decimal string like
    every other amount in the API (not a float)."""

    field_class = DecimalQueryField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(min_value=0, max_digits=58, decimal_places=18)
        super().__init__(*args, **kwargs)


@extend_schema_field(
    {"type": "string", "pattern": TEXT_PATTERN, "maxLength": TEXT_FILTER_LENGTH}
)
class TextFilter(django_filters.CharFilter):
    """Free text: no NUL character, at most TEXT_FILTER_LENGTH characters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", TEXT_FILTER_LENGTH)
        super().__init__(*args, **kwargs)


class AssetFilterSet(django_filters.FilterSet):
    tier = django_filters.ChoiceFilter(choices=Tier.choices, method="filter_tier")
    category = TextFilter(field_name="categories__slug")
    search = TextFilter(method="filter_search", help_text="Name or symbol.")
    min_market_cap = DecimalFilter(
        field_name="market_cap", lookup_expr="gte", help_text="USD, at least."
    )
    max_market_cap = DecimalFilter(
        field_name="market_cap", lookup_expr="lte", help_text="USD, at most."
    )
    flag = django_filters.ChoiceFilter(
        choices=QualityFlag.choices,
        method="filter_flag",
        help_text="Only assets with this data-quality flag (PRODUCT.md).",
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
        form = FilterForm

    # The view's queryset comes from Asset.objects, so it is an AssetQuerySet.
    def filter_tier(
        self, queryset: AssetQuerySet, name: str, value: str
    ) -> AssetQuerySet:
        return queryset.in_tier(value)

    def filter_search(
        self, queryset: AssetQuerySet, name: str, value: str
    ) -> AssetQuerySet:
        return queryset.search(value)

    def filter_flag(
        self, queryset: QuerySet[Asset], name: str, value: str
    ) -> QuerySet[Asset]:
        return queries.flagged(queryset, value, timezone.now())

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
            "total_market_cap": request_state(self.request).total_market_cap,
        }


# Query parameters that page or sort the list without changing what it holds.
_PAGING = {"page", "page_size", "ordering", "format"}


class AssetListView(_MarketContextMixin, generics.ListAPIView[Asset]):
    """Assets with every valuation metric, ranked by market cap."""

    serializer_class = AssetSerializer
    filterset_class = AssetFilterSet
    permission_classes = [permissions.AllowAny]
    pagination_class = CountedPagination

    def get_queryset(self) -> QuerySet[Asset]:
        return queries.order_assets(Asset.objects.with_rank(), "rank")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A page is a function of the market version and the address: kept in
        # the shared cache per version, built again only after a market write
        # (or an asset turning stale). Errors are raised before it is stored.
        state = request_state(request)
        now = timezone.now()
        return Response(
            cached_per_version(
                request, "asset-list", lambda: self._page(request, state, now).data
            )
        )

    def _page(self, request: Request, state: MarketState, now: datetime) -> Response:
        # Rows straight from stored columns (valuations.rows): the same figures
        # as AssetSerializer, which still documents them in the schema.
        queryset = self.filter_queryset(self.get_queryset())
        assert isinstance(self.paginator, CountedPagination)
        filters = {
            key: str(value)
            for key, value in request.query_params.items()
            if key not in _PAGING
        }
        self.paginator.known_count = queries.table_count(queryset, state, filters)
        page = self.paginate_queryset(rows.page_values(queryset))
        data = rows.asset_rows(
            page or [], total_market_cap=state.total_market_cap, now=now
        )
        return self.get_paginated_response(data)


class AssetDetailView(_MarketContextMixin, generics.RetrieveAPIView[Asset]):
    """One asset with its metrics and unlock schedule projected at today's price."""

    serializer_class = AssetDetailSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    queryset = (
        Asset.objects.with_rank()
        .select_related("volatility")
        .prefetch_related("categories", "unlocks")
    )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A function of the market version and the address, as the list is;
        # an unknown asset's 404 is raised before anything is stored.
        def build() -> Any:
            return super(AssetDetailView, self).retrieve(request, *args, **kwargs).data

        return Response(cached_per_version(request, "asset-detail", build))

    def get_object(self) -> Asset:
        asset = super().get_object()
        asset.category_peers = peers.category_peers(asset)
        asset.unlock_projections = [
            {**vars(projection), "note": unlock.note}
            for unlock, projection in queries.unlock_schedule(
                asset, asset.unlocks.all()
            )
        ]
        return asset


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


class MarketView(views.APIView):
    """Total and altcoin market cap, dominance of the top ten, tiers and categories."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=MarketSerializer)
    def get(self, request: Request) -> Response:
        summary = queries.market_summary(request_state(request))
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
