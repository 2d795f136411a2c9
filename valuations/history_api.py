"""API of the stored market history: one row per UTC day (valuations.history)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from capsite.api import Amount, SeriesPagination
from valuations.api import cached_per_version, request_state
from valuations.history import COLUMNS, history_rows
from valuations.models import MarketHistoryDay
from valuations.serializers import HistoryQuerySerializer

PERCENT = "Percent, 0–100; null when the day covers no such cap."


class TierSharesSerializer(serializers.Serializer):
    large = Amount(allow_null=True, help_text=PERCENT)
    mid = Amount(allow_null=True, help_text=PERCENT)
    small = Amount(allow_null=True, help_text=PERCENT)


class MarketHistoryPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    market_cap = Amount(
        help_text="USD: total cap of the assets with a snapshot that day "
        "(each at its last snapshot of the day)."
    )
    asset_count = serializers.IntegerField(help_text="Assets covered that day.")
    covered_share = Amount(
        allow_null=True,
        help_text="What the assets covered that day are worth today ÷ today's "
        "total market cap, percent (0–100): how much of today's market the "
        "day speaks for; null when today's total is 0.",
    )
    bitcoin_dominance = Amount(
        allow_null=True, help_text="Bitcoin's cap ÷ market_cap, percent."
    )
    ethereum_dominance = Amount(
        allow_null=True, help_text="Ethereum's cap ÷ market_cap, percent."
    )
    flippening_ratio = Amount(
        allow_null=True, help_text="Ethereum's cap ÷ Bitcoin's cap that day."
    )
    tiers = TierSharesSerializer(
        help_text="Each tier's share of market_cap, by that day's caps, percent."
    )


class MarketHistoryView(generics.ListAPIView):
    """Market history per UTC day, oldest first: covered cap, dominance, tiers.

    Per day, the assets with a snapshot that day: their total cap, the share
    of today's total cap they cover, Bitcoin and Ethereum dominance within them, the
    flippening ratio (ETH cap ÷ BTC cap) and each tier's share. Stored when
    snapshots change; a day without snapshots has no row.
    """

    serializer_class = MarketHistoryPointSerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = SeriesPagination

    @extend_schema(parameters=[HistoryQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[MarketHistoryDay]:
        days = MarketHistoryDay.objects.order_by("day")
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return days.none()
        params = HistoryQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        if start := params.validated_data.get("start"):
            days = days.filter(day__gte=start)
        if end := params.validated_data.get("end"):
            days = days.filter(day__lte=end)
        return days

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Shares are divisions within each stored row: no asset is read.
        # Rows built by history_rows in this serializer's shape (pinned equal by
        # tests/api/test_market_history.py): DRF's fields cost more than the query.
        # A page is a function of the market version and the address: kept
        # in the shared cache per version, as the asset list is.
        return Response(cached_per_version(request, "market-history", self._page))

    def _page(self) -> Any:
        page = self.paginate_queryset(self.get_queryset().values(*COLUMNS)) or []
        total = request_state(self.request).total_market_cap
        return self.get_paginated_response(history_rows(page, total)).data
