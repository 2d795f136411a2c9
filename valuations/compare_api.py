"""GET /api/v1/assets/compare/: two to five assets side by side (valuations.compare)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, views
from rest_framework.request import Request
from rest_framework.response import Response

from capsite.api import Amount, QuerySerializer
from valuations import compare
from valuations.api import cached_per_version, request_state
from valuations.choices import QualityFlag
from valuations.rows import stored
from valuations.serializers import FiguresMixin, volatility_field


class CompareQuerySerializer(QuerySerializer):
    # Not trimmed: " bitcoin" is not an asset id, as the schema's pattern says.
    ids = serializers.CharField(
        max_length=compare.IDS_MAX_LENGTH, trim_whitespace=False
    )


class PriceAtCapSerializer(serializers.Serializer):
    slug = serializers.CharField(help_text="The other asset.")
    symbol = serializers.CharField()
    price = Amount(
        allow_null=True,
        help_text="USD price at which this asset's cap equals the other's: "
        "other cap ÷ own circulating supply, rounded up to 18 places.",
    )
    multiple = Amount(
        allow_null=True, help_text="Other cap ÷ own cap: the price's move needed."
    )


class ComparedAssetSerializer(FiguresMixin):
    """One compared asset: the metrics of AssetSerializer, and its price at
    every other compared asset's cap."""

    slug = serializers.CharField(source="asset.slug")
    symbol = serializers.CharField(source="asset.symbol")
    name = serializers.CharField(source="asset.name")
    rank = serializers.IntegerField(source="asset.rank", allow_null=True)
    price = Amount(source="asset.price", allow_null=True)
    circulating_supply = Amount(source="asset.circulating_supply", allow_null=True)
    total_supply = Amount(source="asset.total_supply", allow_null=True)
    max_supply = Amount(source="asset.max_supply", allow_null=True)
    volume_24h = Amount(source="asset.volume_24h", allow_null=True)
    circulating_share = Amount(
        source="figures.circulating_share_percent",
        allow_null=True,
        help_text="Percent, 0–100.",
    )
    dominance = Amount(
        source="figures.dominance_percent",
        allow_null=True,
        help_text="Percent of the total market cap, 0–100.",
    )
    last_updated = serializers.DateTimeField(
        source="asset.last_updated", allow_null=True
    )
    stale = serializers.BooleanField()
    quality_flags = serializers.ListField(
        source="flags",
        child=serializers.ChoiceField(choices=QualityFlag.choices),
        help_text="Where the provider's data disagrees with itself (PRODUCT.md).",
    )
    prices_at_caps = PriceAtCapSerializer(source="at_caps", many=True)
    volatility_30d = volatility_field(30)
    volatility_90d = volatility_field(90)
    volatility_365d = volatility_field(365)


class IndexSeriesSerializer(serializers.Serializer):
    slug = serializers.CharField()
    price = serializers.ListField(
        child=Amount(allow_null=True),
        help_text="Price index per day of ``dates``: 100 on the start day; null "
        "where the asset has no snapshot that day.",
    )
    market_cap = serializers.ListField(
        child=Amount(allow_null=True),
        help_text="Market cap index per day of ``dates``: 100 on the start day.",
    )


class CompareHistorySerializer(serializers.Serializer):
    start = serializers.DateField(
        allow_null=True,
        help_text="First day every asset has a price (UTC); null: no common range.",
    )
    end = serializers.DateField(allow_null=True)
    dates = serializers.ListField(
        child=serializers.DateField(),
        help_text="The UTC days from start to end with a snapshot of any asset.",
    )
    series = IndexSeriesSerializer(many=True, help_text="One per asset, in order.")


class ComparisonSerializer(serializers.Serializer):
    assets = ComparedAssetSerializer(many=True)
    history = CompareHistorySerializer()


def comparison_data(comparison: compare.Comparison) -> dict[str, Any]:
    """The answer's JSON. The history is built by hand, in the formats of
    ComparisonSerializer (which documents it): years of days through DRF's
    fields would cost more than the queries."""
    days = comparison.days
    series = [
        {
            "slug": item.asset.slug,
            "price": [stored(day.prices[i]) for day in days],
            "market_cap": [stored(day.caps[i]) for day in days],
        }
        for i, item in enumerate(comparison.assets)
    ]
    return {
        "assets": ComparedAssetSerializer(comparison.assets, many=True).data,
        "history": {
            "start": comparison.start.isoformat() if comparison.start else None,
            "end": comparison.end.isoformat() if comparison.end else None,
            "dates": [day.day.isoformat() for day in days],
            "series": series,
        },
    }


IDS_PARAMETER = OpenApiParameter(
    "ids",
    {
        "type": "string",
        "pattern": compare.IDS_PATTERN,
        "maxLength": compare.IDS_MAX_LENGTH,
    },
    OpenApiParameter.QUERY,
    required=True,
    description=f"{compare.MIN_ASSETS} to {compare.MAX_ASSETS} asset slugs, comma "
    "separated, each once: bitcoin,ethereum.",
)


class AssetCompareView(views.APIView):
    """Two to five assets side by side, with prices at each other's caps and histories indexed to 100.

    Every metric of each asset; the price each would need for its market cap
    to equal each other's (other cap ÷ own circulating supply); and each UTC
    day's price and cap, indexed to 100 on the first day every asset has a
    price, up to the last day they all have one. Fewer than 2 or more than 5
    ids, a repeated id or an unknown one is a 400 on ``ids``.
    """

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[IDS_PARAMETER], responses=ComparisonSerializer)
    def get(self, request: Request) -> Response:
        params = CompareQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        slugs = compare.parse_slugs(params.validated_data["ids"], field_name="ids")

        # An answer is a function of the market version (staleness turns
        # included) and the ids: kept in the shared cache per version, as the
        # asset list is. Errors are raised before anything is stored.
        def build() -> dict[str, Any]:
            comparison = compare.compare_assets(
                slugs,
                total_market_cap=request_state(request).total_market_cap,
                now=timezone.now(),
            )
            return comparison_data(comparison)

        return Response(cached_per_version(request, "asset-compare", build))
