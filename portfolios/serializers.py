"""API serializers for portfolios, transactions, holdings and the analytics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from capsite.api import Amount, ModelSerializer, QuerySerializer
from portfolios.amounts import amount_errors
from portfolios.models import Portfolio, Transaction
from portfolios.rebalancing import RebalanceMode
from portfolios.risk import RiskCode
from portfolios.targets import Target, validate_target
from valuations.choices import Bucket, Tier
from valuations.fields import MAX_DIGITS
from valuations.models import Asset

PERCENT = {
    "min_value": Decimal(0),
    "max_value": Decimal(100),
    "max_digits": 5,
    "decimal_places": 2,
}


class TargetSerializer(serializers.Serializer):
    large = Amount(**PERCENT)
    mid = Amount(**PERCENT)
    small = Amount(**PERCENT)
    stable = Amount(**PERCENT)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH skips missing fields, but a target is only valid as a whole.
        # keys(): the stubs type iterating a BindingDict as yielding its fields.
        missing = [name for name in self.fields.keys() if name not in attrs]
        if missing:
            raise serializers.ValidationError(
                {
                    name: [self.fields[name].error_messages["required"]]
                    for name in missing
                }
            )
        try:
            validate_target(Target(**attrs))
        except DjangoValidationError as err:
            raise serializers.ValidationError(err.messages) from err
        return attrs


class PortfolioSerializer(ModelSerializer[Portfolio]):
    target = TargetSerializer(
        help_text="Weights in percent per bucket, adding up to 100."
    )
    tolerance = Amount(
        **PERCENT, required=False, help_text="Band either side, in points."
    )
    value = Amount(read_only=True, help_text="USD at current prices.")

    class Meta:
        model = Portfolio
        fields = [
            "id",
            "name",
            "description",
            "target",
            "tolerance",
            "cost_basis_method",
            "value",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "created", "updated"]
        # Name uniqueness per owner is checked by the service, which knows the owner.
        validators: list = []

    def to_representation(self, instance: Portfolio) -> dict[str, Any]:
        instance.value = getattr(instance, "value", None) or Decimal(0)
        return super().to_representation(instance)

    def service_fields(self) -> dict[str, Any]:
        """The validated input as keyword arguments for portfolios.services."""
        data = dict(self.validated_data)
        for bucket, weight in data.pop("target", {}).items():
            data[f"target_{bucket}"] = weight
        return data


# The ledger columns hold 40 digits (22 before the point). One digit less keeps
# clear of SQLite, which reads decimals back through a float: a value a hair
# under 10^22 comes back as 10^22, one digit too many, and fails to load.
LEDGER = {"max_digits": MAX_DIGITS - 1, "min_value": Decimal(0)}


class TransactionSerializer(ModelSerializer[Transaction]):
    asset = serializers.SlugRelatedField(
        slug_field="slug", queryset=Asset.objects.all()
    )
    quantity = Amount(**LEDGER)
    price = Amount(
        **LEDGER,
        source="unit_price",
        required=False,
        help_text="USD. For a reward, omit it to use that day's market price.",
    )
    fee = Amount(**LEDGER, required=False, help_text="USD")

    class Meta:
        model = Transaction
        fields = [
            "id",
            "asset",
            "kind",
            "quantity",
            "price",
            "fee",
            "executed_at",
            "note",
        ]
        read_only_fields = ["id"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = amount_errors(
            quantity=attrs.get("quantity"),
            unit_price=attrs.get("unit_price"),
            fee=attrs.get("fee"),
        )
        if attrs.get("unit_price") is None and attrs.get("kind") not in (
            None,
            Transaction.Kind.REWARD,
        ):
            errors["price"] = "This field is required."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class HoldingSerializer(serializers.Serializer):
    asset = serializers.CharField(source="asset_slug")
    quantity = Amount()
    price = Amount(allow_null=True)
    value = Amount()
    weight = Amount(help_text="Percent of the portfolio's value, 0–100.")
    tier = serializers.ChoiceField(choices=Tier.choices)
    bucket = serializers.ChoiceField(choices=Bucket.choices)
    cost_basis = Amount()
    unrealized_pnl = Amount(allow_null=True)
    realized_pnl = Amount()


class BucketSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=Bucket.choices)
    value = Amount()
    weight = Amount(help_text="Percent, 0–100.")
    target = Amount(help_text="Percent, 0–100.")
    drift = Amount(help_text="Weight − target, in percentage points.")
    outside_band = serializers.BooleanField()


class DiversificationSerializer(serializers.Serializer):
    score = Amount(
        allow_null=True, help_text="0 = one tier, 1 = even across large/mid/small."
    )
    effective_tiers = Amount(allow_null=True)
    hhi = Amount(allow_null=True, help_text="Herfindahl index over holdings, 0–1.")
    effective_holdings = Amount(allow_null=True)
    largest_weight = Amount(allow_null=True, help_text="Percent, 0–100.")


class FlagSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=RiskCode.choices)
    asset = serializers.CharField()
    message = serializers.CharField()


class AllocationSerializer(serializers.Serializer):
    total_value = Amount()
    buckets = BucketSerializer(many=True)
    diversification = DiversificationSerializer()
    flags = FlagSerializer(many=True)


class RebalanceQuerySerializer(QuerySerializer):
    mode = serializers.ChoiceField(choices=RebalanceMode.choices, default="full")
    cash = Amount(max_digits=40, min_value=Decimal(0), default=Decimal(0))


class BucketAmountSerializer(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=Bucket.choices)
    amount = Amount(help_text="USD; positive buys, negative sells.")


class TradeSerializer(serializers.Serializer):
    asset = serializers.CharField()
    amount = Amount(help_text="USD; positive buys, negative sells.")
    bucket = serializers.ChoiceField(choices=Bucket.choices)
    is_candidate = serializers.BooleanField(help_text="Not held yet: a suggestion.")


class WeightsSerializer(serializers.Serializer):
    large = Amount()
    mid = Amount()
    small = Amount()
    stable = Amount()
    unranked = Amount()


class RebalanceSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=RebalanceMode.choices)
    cash = Amount()
    buckets = BucketAmountSerializer(many=True)
    trades = TradeSerializer(many=True)
    resulting_weights = WeightsSerializer(
        help_text="Percent per bucket after the plan."
    )


class HistoryPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    value = Amount(help_text="USD at the day's end, each holding at its last price.")
    net_invested = Amount(help_text="USD: the sum of external flows to date.")
    flow = Amount(help_text="USD brought in (+) or taken out (−) that day.")
    weights = WeightsSerializer(help_text="Percent per bucket that day.")
    price_age = serializers.IntegerField(
        help_text="Days since the oldest price used that day; 0 when all are fresh."
    )
    stale_holdings = serializers.IntegerField(
        help_text="Holdings valued at a price older than the stale limit (7 days)."
    )


class IncomeYearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    income = Amount()


class BenchmarkSerializer(serializers.Serializer):
    name = serializers.CharField()
    twr = Amount(
        allow_null=True, help_text="Return over the portfolio's range, percent."
    )
    coverage = serializers.DictField(
        help_text="What the index could use: the days and how many assets."
    )


class PerformanceSerializer(serializers.Serializer):
    start = serializers.DateField(
        allow_null=True, help_text="First day of the range; null: no history yet."
    )
    end = serializers.DateField(
        allow_null=True, help_text="Last day: at most the newest market day."
    )
    value_start = Amount(help_text="USD the range opens with (the day before start).")
    value_end = Amount(help_text="USD at the end of the last day.")
    net_invested = Amount(help_text="USD: external flows to the end of the range.")
    net_flows = Amount(help_text="USD: external flows within the range.")
    profit = Amount(help_text="value_end − value_start − net_flows, USD.")
    twr = Amount(
        allow_null=True,
        help_text="Time-weighted return over the range, percent; flows never count.",
    )
    mwr = Amount(
        allow_null=True,
        help_text="Money-weighted return (XIRR), percent a year; null: no solution.",
    )
    income = Amount(
        help_text="USD: rewards received in the range at their value (a return)."
    )
    income_by_year = IncomeYearSerializer(many=True)
    benchmarks = BenchmarkSerializer(
        many=True, help_text="The same range's return of Bitcoin, the market, the mix."
    )


class ImportFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV file.")


class ImportRowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        help_text="File line (the header is line 1); 0 for a query parameter."
    )
    field = serializers.CharField()
    message = serializers.CharField()


class ImportQuerySerializer(QuerySerializer):
    format = serializers.ChoiceField(
        choices=["capsite", "binance", "coinbase", "kraken", "ghostfolio"],
        required=False,
        help_text="The file's format; detected from its header when left out.",
    )


class ImportResultSerializer(serializers.Serializer):
    format = serializers.CharField(help_text="The format read.")
    created = serializers.IntegerField(help_text="Transactions recorded.")
    skipped = ImportRowErrorSerializer(
        many=True, help_text="Rows deliberately not imported, with the reason."
    )


# Schema only: a serializer field cannot be called "errors" (Serializer.errors).
ImportErrorsSerializer = inline_serializer(
    "ImportErrors",
    {
        "format": serializers.CharField(
            required=False, help_text="The format read, once the file was readable."
        ),
        "errors": ImportRowErrorSerializer(many=True),
    },
)


class RealizedQuerySerializer(QuerySerializer):
    year = serializers.IntegerField(
        required=False,
        min_value=2009,
        max_value=9999,
        help_text="Tax year (UTC calendar year); the latest with a disposal by default.",
    )


class YearTotalsSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    disposals = serializers.IntegerField()
    proceeds = Amount()
    cost = Amount()
    gain = Amount()
    short_term_gain = Amount(help_text="Held under 365 days.")
    long_term_gain = Amount(help_text="Held 365 days or more.")


class DisposalSerializer(serializers.Serializer):
    asset = serializers.CharField(source="asset.slug", read_only=True)
    date_acquired = serializers.DateTimeField(source="acquired_at")
    date_disposed = serializers.DateTimeField(source="disposed_at")
    quantity = Amount()
    proceeds = Amount(help_text="USD, the sell's fee taken off.")
    cost = Amount(help_text="USD, by the portfolio's cost-basis method.")
    gain = Amount()
    holding_period = serializers.SerializerMethodField()

    def get_holding_period(self, obj: Any) -> str:
        return "long" if obj.long_term else "short"
