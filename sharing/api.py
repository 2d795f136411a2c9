"""Share-link API: the owner's link of a portfolio, and the public shared read.

The owner's endpoints scope the portfolio to request.user first, so another
user's portfolio is a 404. The public read needs no credentials; a revoked or
unknown token is a 404.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolios.models import Portfolio
from sharing import queries, services
from sharing.models import ShareLink
from sharing.serializers import (
    NewShareLinkSerializer,
    SharedPortfolioSerializer,
    ShareLinkInputSerializer,
    ShareLinkSerializer,
)
from sharing.views import UNLISTED_HEADERS


class PortfolioShareLinkView(APIView):
    """The active share link of one of the user's portfolios."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    def _portfolio(self) -> Portfolio:
        return get_object_or_404(
            Portfolio.objects.owned_by(self.request.user), pk=self.kwargs["pk"]
        )

    def _link(self) -> ShareLink:
        link = queries.active_link_of(self._portfolio())
        if link is None:
            raise Http404("This portfolio has no active share link.")
        return link

    @extend_schema(responses=ShareLinkSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """The active link: its first characters, when it was made, what it shows.

        The link itself is shown only when it is made.
        """
        return Response(ShareLinkSerializer(self._link()).data)

    @extend_schema(
        request=ShareLinkInputSerializer, responses={201: NewShareLinkSerializer}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Make a new link, revoking the active one; the answer holds its ``url``
        and ``token``, shown this once (capsite keeps only their SHA-256)."""
        portfolio = self._portfolio()
        params = ShareLinkInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        link, token = services.create_share_link(
            portfolio=portfolio, show_amounts=params.validated_data["show_amounts"]
        )
        data = {
            "prefix": link.prefix,
            "show_amounts": link.show_amounts,
            "created": link.created,
            "url": request.build_absolute_uri(reverse("sharing:public", args=[token])),
            "token": token,
        }
        return Response(
            NewShareLinkSerializer(data).data,
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "private, no-store"},
        )

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Revoke the active link: its page and read answer 404 from now on."""
        services.revoke_share_link(link=self._link())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharedPortfolioView(APIView):
    """The portfolio behind a share link, as its page shows it; no credentials."""

    permission_classes = [AllowAny]

    @extend_schema(responses=SharedPortfolioSerializer)
    def get(self, request: Request, token: str) -> Response:
        """Tier mix against the target with drift, diversification and holding
        weights; amounts are null unless the owner shows them."""
        link = queries.active_link(token)
        if link is None:
            raise Http404("No such share link.")
        shared = queries.shared_portfolio(link, today=timezone.now().date())
        return Response(SharedPortfolioSerializer(shared).data)

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in UNLISTED_HEADERS.items():
            response[header] = value
        return response
