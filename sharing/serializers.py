"""API serializers for share links and the shared portfolio."""

from __future__ import annotations

from rest_framework import serializers

from capsite.api import Amount, JSONBooleanField
from portfolios.serializers import DiversificationSerializer
from valuations.choices import Bucket, Tier

HIDDEN = "USD; null unless the owner shows amounts."


class ShareLinkInputSerializer(serializers.Serializer):
    show_amounts = JSONBooleanField(
        default=False,
        help_text="Show values, quantities, cost and P/L; weights are always shown.",
    )


class ShareLinkSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="The token's first characters.")
    show_amounts = serializers.BooleanField()
    created = serializers.DateTimeField()


class NewShareLinkSerializer(ShareLinkSerializer):
    url = serializers.URLField(
        help_text="The shared page. Shown only in this answer: keep it."
    )
    token = serializers.CharField(
        help_text="For GET /api/v1/share/{token}/. Shown only in this answer."
    )


class SharedHoldingSerializer(serializers.Serializer):
    asset = serializers.CharField()
    name = serializers.CharField()
    symbol = serializers.CharField()
    tier = serializers.ChoiceField(choices=Tier.choices)
    bucket = serializers.ChoiceField(choices=Bucket.choices)
    weight = Amount(help_text="Percent of the portfolio's value, 0–100.")
    quantity = Amount(allow_null=True, help_text="Null unless amounts are shown.")
    price = Amount(allow_null=True, help_text=HIDDEN)
    value = Amount(allow_null=True, help_text=HIDDEN)
    cost_basis = Amount(allow_null=True, help_text=HIDDEN)
    unrealized_pnl = Amount(allow_null=True, help_text=HIDDEN)
    realized_pnl = Amount(allow_null=True, help_text=HIDDEN)


class SharedBucketSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=Bucket.choices)
    weight = Amount(help_text="Percent, 0–100.")
    target = Amount(help_text="Percent, 0–100.")
    drift = Amount(help_text="Weight − target, in percentage points.")
    outside_band = serializers.BooleanField()
    value = Amount(allow_null=True, help_text=HIDDEN)


class SharedPortfolioSerializer(serializers.Serializer):
    name = serializers.CharField()
    show_amounts = serializers.BooleanField()
    tolerance = Amount(help_text="Band either side of the target, in points.")
    total_value = Amount(allow_null=True, help_text=HIDDEN)
    total_cost = Amount(allow_null=True, help_text=HIDDEN)
    unrealized_pnl = Amount(allow_null=True, help_text=HIDDEN)
    realized_pnl = Amount(allow_null=True, help_text=HIDDEN)
    buckets = SharedBucketSerializer(many=True)
    diversification = DiversificationSerializer()
    holdings = SharedHoldingSerializer(
        many=True, help_text="Open positions, largest first."
    )
