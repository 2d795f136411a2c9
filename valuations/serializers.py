"""API serializers for assets, the market summary and the calculator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from capsite.api import Amount, QuerySerializer
from valuations import metrics, quality, queries
from valuations.choices import FdvBasis, Liquidity, QualityFlag, Tier
from valuations.fields import MAX_DIGITS
from valuations.models import Asset, Category


class NextTierSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    price = Amount()


class FiguresMixin(serializers.Serializer):
    """The computed metrics, read from ``obj.figures`` (a metrics.AssetFigures)."""

    market_cap = Amount(source="figures.market_cap", allow_null=True)
    tier = serializers.ChoiceField(source="figures.tier", choices=Tier.choices)
    fully_diluted_valuation = Amount(
        source="figures.fully_diluted_valuation", allow_null=True
    )
    fdv_basis = serializers.ChoiceField(
        source="figures.fdv_basis", choices=FdvBasis.choices, allow_null=True
    )
    dilution_ratio = Amount(source="figures.dilution_ratio", allow_null=True)
    volume_to_market_cap = Amount(
        source="figures.volume_to_market_cap", allow_null=True
    )
    liquidity = serializers.ChoiceField(
        source="figures.liquidity",
        choices=Liquidity.choices,
        allow_null=True,
        help_text="Turnover band (volume ÷ market cap): a label, not a warning.",
    )
    thin_market = serializers.BooleanField(
        source="figures.thin_market",
        read_only=True,
        help_text="Volume too thin to trust the market cap (PRODUCT.md).",
    )


VOLATILITY_HELP = (
    "Annualised volatility over the last {days} days, percent a year: sample "
    "standard deviation of daily log returns × √365; null with fewer than "
    "{days} ÷ 2 daily returns."
)


def volatility_field(days: int, **options: Any) -> serializers.DecimalField:
    """An asset's stored volatility over ``days`` (30, 90 or 365), read from
    ``obj.volatility``; ``options`` go to the field (read_only…)."""
    return Amount(
        source=f"volatility.volatility_{days}d",
        allow_null=True,
        help_text=VOLATILITY_HELP.format(days=days),
        **options,
    )


class AssetSerializer(FiguresMixin, serializers.ModelSerializer):
    """An asset with every metric. Needs ``total_market_cap`` in the context."""

    rank = serializers.IntegerField(allow_null=True, read_only=True)
    price = Amount(allow_null=True)
    circulating_supply = Amount(allow_null=True)
    total_supply = Amount(allow_null=True)
    max_supply = Amount(allow_null=True)
    volume_24h = Amount(allow_null=True)
    dominance = Amount(
        source="figures.dominance_percent",
        allow_null=True,
        help_text="Percent of the total market cap, 0–100.",
    )
    categories: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    stale = serializers.BooleanField(
        read_only=True, help_text="Last updated longer ago than the staleness limit."
    )
    provider_market_cap = Amount(
        allow_null=True, help_text="The market cap the provider published (USD)."
    )
    provider_fdv = Amount(
        allow_null=True, help_text="The FDV the provider published (USD)."
    )
    provider_rank = serializers.IntegerField(
        allow_null=True, read_only=True, help_text="The provider's own rank."
    )
    quality_flags = serializers.ListField(
        child=serializers.ChoiceField(choices=QualityFlag.choices),
        read_only=True,
        help_text="Where the provider's data disagrees with itself (PRODUCT.md).",
    )
    volatility_30d = volatility_field(30, read_only=True)
    volatility_90d = volatility_field(90, read_only=True)
    volatility_365d = volatility_field(365, read_only=True)

    class Meta:
        model = Asset
        fields = [
            "slug",
            "symbol",
            "name",
            "rank",
            "price",
            "circulating_supply",
            "total_supply",
            "max_supply",
            "market_cap",
            "fully_diluted_valuation",
            "fdv_basis",
            "dilution_ratio",
            "volume_24h",
            "volume_to_market_cap",
            "liquidity",
            "thin_market",
            "tier",
            "dominance",
            "categories",
            "last_updated",
            "stale",
            "provider_market_cap",
            "provider_fdv",
            "provider_rank",
            "quality_flags",
            "volatility_30d",
            "volatility_90d",
            "volatility_365d",
        ]

    def to_representation(self, instance: Asset) -> dict[str, Any]:
        now = timezone.now()
        instance.figures = queries.figures_for(
            instance, self.context.get("total_market_cap")
        )
        instance.stale = metrics.is_stale(instance.last_updated, now)
        data = super().to_representation(instance)
        data["quality_flags"] = quality.served_flags(
            instance.quality_flags, instance.last_updated, now
        )
        return data


class UnlockSerializer(serializers.Serializer):
    date = serializers.DateField()
    amount = Amount()
    note = serializers.CharField()
    circulating_supply = Amount(
        help_text="Projected circulating supply after the unlock."
    )
    market_cap = Amount(
        allow_null=True, help_text="Projected market cap at today's price."
    )
    tier = serializers.ChoiceField(choices=Tier.choices)


class CategoryPeerSerializer(serializers.Serializer):
    category = serializers.CharField(source="slug", help_text="The category's slug.")
    name = serializers.CharField()
    rank = serializers.IntegerField(
        help_text="Position by market cap among the category's ranked assets."
    )
    of = serializers.IntegerField(help_text="The category's ranked assets.")
    share = Amount(
        source="share_percent",
        allow_null=True,
        help_text="The asset's cap ÷ the category's total cap, percent 0–100.",
    )
    median_market_cap = Amount(
        allow_null=True, help_text="USD: the median cap of the category's assets."
    )


class AssetDetailSerializer(AssetSerializer):
    unlocks = UnlockSerializer(many=True, read_only=True, source="unlock_projections")
    category_peers = CategoryPeerSerializer(
        many=True,
        read_only=True,
        help_text="Its standing in each of its categories (none when unranked).",
    )
    circulating_share = Amount(
        source="figures.circulating_share_percent",
        allow_null=True,
        help_text="Percent, 0–100.",
    )
    next_tier = NextTierSerializer(
        source="figures.next_tier", allow_null=True, read_only=True
    )

    class Meta(AssetSerializer.Meta):
        fields = [
            *AssetSerializer.Meta.fields,
            "circulating_share",
            "next_tier",
            "category_peers",
            "unlocks",
        ]


class SnapshotSerializer(serializers.Serializer):
    taken_at = serializers.DateTimeField()
    price = Amount(allow_null=True)
    circulating_supply = Amount(allow_null=True)
    total_supply = Amount(allow_null=True)
    max_supply = Amount(allow_null=True)
    volume_24h = Amount(allow_null=True)
    market_cap = Amount(allow_null=True)
    tier = serializers.ChoiceField(choices=Tier.choices)


class HistoryQuerySerializer(QuerySerializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"start": "start must be on or before end."}
            )
        return attrs


class ShareSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    share = Amount(help_text="Percent of the total market cap, 0–100.")


class TierTotalSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    asset_count = serializers.IntegerField()
    market_cap = Amount()
    share = Amount(allow_null=True, help_text="Percent, 0–100.")


class CategoryTotalSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    market_cap = Amount()
    share = Amount(allow_null=True, help_text="Percent, 0–100.")


class MarketSerializer(serializers.Serializer):
    total_market_cap = Amount()
    altcoin_market_cap = Amount()
    asset_count = serializers.IntegerField()
    as_of = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField(
        help_text="as_of is older than the staleness limit."
    )
    dominance = ShareSerializer(many=True)
    tiers = TierTotalSerializer(many=True)
    categories = CategoryTotalSerializer(many=True)


# Calculator inputs have the precision of stored market data (valuations.fields).
INPUT = {"max_digits": MAX_DIGITS, "min_value": Decimal(0)}


class CalculatorInputSerializer(serializers.Serializer):
    price = Amount(**INPUT)
    circulating_supply = Amount(**INPUT)
    total_supply = Amount(**INPUT, required=False, allow_null=True)
    max_supply = Amount(**INPUT, required=False, allow_null=True)
    volume_24h = Amount(**INPUT, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        maximum = attrs.get("max_supply")
        if not metrics.circulating_within_max(attrs.get("circulating_supply"), maximum):
            raise serializers.ValidationError(
                {"circulating_supply": "Circulating supply cannot exceed max supply."}
            )
        return attrs


class CalculatorSerializer(FiguresMixin):
    circulating_share = Amount(
        source="figures.circulating_share_percent",
        allow_null=True,
        help_text="Percent, 0–100.",
    )
    next_tier = NextTierSerializer(
        source="figures.next_tier",
        allow_null=True,
        help_text="The next tier up and the price that reaches it; null for large.",
    )


class TierVolatilitySerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    volatility = Amount(
        allow_null=True,
        help_text="Percent a year; null with fewer than window ÷ 2 daily returns.",
    )
    returns = serializers.IntegerField(help_text="Daily index returns used.")
    assets = serializers.IntegerField(
        help_text="Assets the tier's index covered on the window's last day."
    )
    assets_min = serializers.IntegerField(help_text="Fewest on a day used.")
    assets_max = serializers.IntegerField(help_text="Most on a day used.")


class VolatilityWindowSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    tiers = TierVolatilitySerializer(many=True)


class MarketVolatilitySerializer(serializers.Serializer):
    """Each tier's cap-weighted index volatility over 30, 90 and 365 days."""

    windows = VolatilityWindowSerializer(many=True)
