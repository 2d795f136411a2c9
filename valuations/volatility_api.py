"""API of the tiers' index volatility: GET /api/v1/market/volatility/."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, views
from rest_framework.request import Request
from rest_framework.response import Response

from valuations.serializers import MarketVolatilitySerializer
from valuations.volatility import market_volatility


class MarketVolatilityView(views.APIView):
    """Annualised volatility of the large, mid and small cap indices over 30, 90
    and 365 days, with how many assets each index covered (PRODUCT.md)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=MarketVolatilitySerializer)
    def get(self, request: Request) -> Response:
        windows = market_volatility()
        return Response(MarketVolatilitySerializer({"windows": windows}).data)
