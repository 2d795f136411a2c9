"""Portfolio API (owner only): portfolios, their ledger, holdings and analytics.

Every lookup is scoped to request.user first, so another user's portfolio or
transaction is a 404, exactly like a missing one. Writes go through
portfolios.services, the same code the pages use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings as django_settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, Throttled, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from capsite.accounts import cool_off_seconds, signed_in
from capsite.api import SeriesPagination
from jobs.serializers import JobSerializer
from portfolios import (
    analysis,
    benchmarks,
    imports,
    reads,
    realized,
    series,
    services,
    tasks,
)
from portfolios.models import Portfolio, PortfolioQuerySet, Transaction
from portfolios.serializers import (
    AllocationSerializer,
    DisposalSerializer,
    HistoryPointSerializer,
    HoldingSerializer,
    ImportErrorsSerializer,
    ImportFileSerializer,
    ImportQuerySerializer,
    ImportResultSerializer,
    PerformanceSerializer,
    PortfolioSerializer,
    RealizedQuerySerializer,
    RebalanceQuerySerializer,
    RebalanceSerializer,
    TransactionSerializer,
    YearTotalsSerializer,
)
from valuations.serializers import HistoryQuerySerializer
from valuations.tiermix import BUCKETS


def _locked_out(request: Request, credentials: dict[str, str]) -> bool:
    return bool(
        getattr(django_settings, "AXES_ENABLED", True)
        and AxesProxyHandler.is_locked(request._request, credentials)
    )


class LockedOut(Throttled):
    default_detail = "Too many failed logins for this username from your address."


class TokenView(APIView):
    """Exchange a username and password for an API token, or revoke it."""

    permission_classes = [AllowAny]
    serializer_class = AuthTokenSerializer
    # Scripts written for the first API send a form (curl -d username=…).
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_permissions(self) -> Sequence[Any]:
        # Anyone may ask for a token; only a signed-in client may revoke its own.
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(
        # Forms are still accepted (older scripts); the schema says JSON, the
        # one body type generated clients handle.
        request={"application/json": AuthTokenSerializer},
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        # django-axes refuses a locked-out login inside authenticate(), which
        # DRF would report as a wrong password: say it is a lock-out, and when
        # to come back, as the login page does.
        data = request.data if isinstance(request.data, Mapping) else {}
        credentials = {"username": str(data.get("username", ""))[:150]}
        if _locked_out(request, credentials):
            raise LockedOut(cool_off_seconds())
        params = AuthTokenSerializer(data=request.data, context={"request": request})
        if not params.is_valid():
            if _locked_out(request, credentials):
                raise LockedOut(cool_off_seconds())
            raise ValidationError(params.errors)
        token, _ = Token.objects.get_or_create(user=params.validated_data["user"])
        return Response({"token": token.key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=signed_in(request.user)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _owned_portfolios(request: Request) -> PortfolioQuerySet:
    return Portfolio.objects.owned_by(request.user)


class PortfolioViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Portfolio],
):
    """The signed-in user's portfolios and their analytics."""

    serializer_class = PortfolioSerializer
    permission_classes = [IsAuthenticated]
    lookup_value_converter = "int"
    # No PUT: a portfolio is changed by PATCH only.
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Portfolio]:
        return _owned_portfolios(self.request).with_value()

    # The mixins pass the serializer built from serializer_class, and an update
    # passes it the portfolio being updated.
    def perform_create(self, serializer: BaseSerializer[Portfolio]) -> None:
        assert isinstance(serializer, PortfolioSerializer)
        serializer.instance = services.create_portfolio(
            owner=signed_in(self.request.user), **serializer.service_fields()
        )

    def perform_update(self, serializer: BaseSerializer[Portfolio]) -> None:
        assert isinstance(serializer, PortfolioSerializer)
        assert serializer.instance is not None
        serializer.instance = services.update_portfolio(
            portfolio=serializer.instance, **serializer.service_fields()
        )

    def perform_destroy(self, instance: Portfolio) -> None:
        services.delete_portfolio(portfolio=instance)

    def _portfolio(self) -> Portfolio:
        portfolios = reads.with_market_state(_owned_portfolios(self.request))
        return get_object_or_404(portfolios, pk=self.kwargs["pk"])

    # Each read below is cached as JSON under its portfolio's and the market's
    # versions and its address (portfolios.reads): a write moves the versions,
    # so nothing stale is ever served, and a hit is served without decoding.

    def _cached(self, portfolio: Portfolio, build: Callable[[], Any]) -> Response:
        return Response(
            reads.cached_json(portfolio, self.request.get_full_path(), build)
        )

    @extend_schema(responses=HoldingSerializer(many=True))
    @action(detail=True)
    def holdings(self, request: Request, pk: int) -> Response:
        """Open positions valued at current prices, largest first."""
        portfolio = self._portfolio()

        def build() -> Any:
            rows = _analysis(portfolio).holdings.rows
            page = self.paginate_queryset(rows)  # type: ignore[arg-type]  # rows
            return self.get_paginated_response(
                HoldingSerializer(page, many=True).data
            ).data

        return self._cached(portfolio, build)

    @extend_schema(responses=AllocationSerializer)
    @action(detail=True)
    def allocation(self, request: Request, pk: int) -> Response:
        """Tier mix against the target, diversification and risk flags."""
        portfolio = self._portfolio()
        return self._cached(portfolio, lambda: _allocation(portfolio))

    @extend_schema(parameters=[RebalanceQuerySerializer], responses=RebalanceSerializer)
    @action(detail=True)
    def rebalance(self, request: Request, pk: int) -> Response:
        """The USD to move per bucket and per holding: full, or buy-only with cash."""
        params = RebalanceQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        portfolio = self._portfolio()
        return self._cached(
            portfolio, lambda: _rebalance(portfolio, **params.validated_data)
        )

    @extend_schema(
        parameters=[HistoryQuerySerializer], responses=HistoryPointSerializer(many=True)
    )
    @action(detail=True, pagination_class=SeriesPagination)
    def history(self, request: Request, pk: int) -> Response:
        """Value, net invested and bucket weights per UTC day, oldest first.

        From the first transaction to the newest market data; a day without a
        snapshot of a holding carries its last price forward (``price_age``).
        """
        portfolio = self._portfolio()
        params = HistoryQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)

        def build() -> Any:
            days = series.history(portfolio, **params.validated_data)
            page = self.paginate_queryset(days)  # type: ignore[arg-type]  # days
            return self.get_paginated_response(
                HistoryPointSerializer(page, many=True).data
            ).data

        return self._cached(portfolio, build)

    @extend_schema(
        parameters=[RealizedQuerySerializer],
        responses=inline_serializer(
            "RealizedGains",
            {
                "method": serializers.CharField(),
                "year": serializers.IntegerField(),
                "totals": YearTotalsSerializer(allow_null=True),
                "years": YearTotalsSerializer(many=True),
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": DisposalSerializer(many=True),
            },
        ),
    )
    @action(detail=True)
    def realized(self, request: Request, pk: int) -> Response:
        """Realised gains of a tax year: every disposal, by the cost-basis method.

        Each line is a lot (or part of one) a sell consumed: dates acquired and
        disposed, quantity, proceeds, cost, gain and holding period (short
        under 365 days, long from 365); with the year's totals and every year's.
        """
        params = RealizedQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        portfolio = self._portfolio()
        year = params.validated_data.get("year")
        return self._cached(portfolio, lambda: _realized(self, portfolio, year))

    @extend_schema(parameters=[HistoryQuerySerializer], responses=PerformanceSerializer)
    @action(detail=True)
    def performance(self, request: Request, pk: int) -> Response:
        """Value, flows, profit, time- and money-weighted return over a range.

        Without ``start`` and ``end``: the whole history. Deposits are never
        counted as returns: the TWR chains daily returns net of each day's flow.
        """
        portfolio = self._portfolio()
        params = HistoryQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return self._cached(
            portfolio, lambda: _performance(portfolio, **params.validated_data)
        )


def _realized(view: PortfolioViewSet, portfolio: Portfolio, year: int | None) -> Any:
    years = realized.totals_by_year(portfolio)
    if year is None:
        year = years[0].year if years else timezone.now().year
    lines = realized.disposals_in(portfolio, year)
    page = view.paginate_queryset(lines)  # type: ignore[arg-type]  # disposals
    response = view.get_paginated_response(
        DisposalSerializer(page, many=True).data
    ).data
    chosen = next((t for t in years if t.year == year), None)
    return {
        "method": portfolio.cost_basis_method,
        "year": year,
        "totals": YearTotalsSerializer(chosen).data if chosen else None,
        "years": YearTotalsSerializer(years, many=True).data,
        **response,
    }


def _analysis(portfolio: Portfolio) -> analysis.Analysis:
    return analysis.analyse(portfolio, today=timezone.now().date())


def _allocation(portfolio: Portfolio) -> dict[str, Any]:
    result = _analysis(portfolio)
    div = result.diversification
    data = {
        "total_value": result.mix.total,
        "buckets": [vars(d) for d in result.drift],
        "diversification": {
            "score": div.score,
            "effective_tiers": div.effective_tiers,
            "hhi": div.hhi,
            "effective_holdings": div.effective_holdings,
            "largest_weight": div.largest_weight,
        },
        "flags": [vars(f) for f in result.flags],
    }
    return dict(AllocationSerializer(data).data)


def _rebalance(portfolio: Portfolio, *, mode: str, cash: Decimal) -> dict[str, Any]:
    plan = analysis.rebalance(_analysis(portfolio), mode=mode, cash=cash)
    data = {
        "mode": plan.mode,
        "cash": plan.cash,
        "buckets": [{"bucket": b, "amount": plan.amounts[b]} for b in BUCKETS],
        "trades": [vars(t) for t in plan.trades],
        "resulting_weights": plan.resulting_weights,
    }
    return dict(RebalanceSerializer(data).data)


def _performance(
    portfolio: Portfolio, *, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    result = series.performance_between(portfolio, start=start, end=end)
    if result is None:
        zero = Decimal(0)
        data: dict[str, Any] = {
            "start": None,
            "end": None,
            **dict.fromkeys(
                ("value_start", "value_end", "net_invested", "net_flows", "profit"),
                zero,
            ),
            "twr": None,
            "mwr": None,
            "income": zero,
            "income_by_year": [],
            "benchmarks": [],
        }
    else:
        data = {
            **vars(result),
            "income_by_year": [
                {"year": year, "income": income}
                for year, income in sorted(result.income_by_year.items())
            ],
            "benchmarks": benchmarks.for_portfolio(
                portfolio,
                start=result.start,
                end=result.end,
                opening=result.value_start > 0,
            ),
        }
    return dict(PerformanceSerializer(data).data)


# A ledger of imports.MAX_ROWS rows fits well within this.
MAX_CSV_BYTES = 10 * 1024 * 1024


class CSVParser(BaseParser):
    """A ``text/csv`` body, read as UTF-8 text up to MAX_CSV_BYTES."""

    media_type = "text/csv"

    # DRF takes any data from a parser; the stubs say mappings only.
    def parse(  # type: ignore[override]
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> str:
        data = stream.read(MAX_CSV_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_CSV_BYTES:
            raise ParseError(f"The file is larger than {MAX_CSV_BYTES // 2**20} MB.")
        try:
            return str(data.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise ParseError("The file is not UTF-8 text.") from err


class FileFormatNegotiation(DefaultContentNegotiation):
    """On the import action ``?format=`` names the uploaded file's format
    (binance, kraken…), not the response's: the answer is always JSON."""

    class settings:  # noqa: N801  # what DefaultContentNegotiation reads
        URL_FORMAT_OVERRIDE = None


class JSONTextParser(CSVParser):
    """An ``application/json`` body (Ghostfolio's export), kept as text for the
    importer, which reads numbers as decimals."""

    media_type = "application/json"


def _csv_text(request: Request) -> tuple[str, str | None]:
    """The uploaded CSV as text, or the reason it cannot be read."""
    try:
        data = request.data
    except ParseError as exc:  # not UTF-8, too large: said in the import's shape
        return "", str(exc.detail)
    if isinstance(data, str):
        return data, None
    upload = request.FILES.get("file")
    if upload is None:
        return "", "Send the CSV as a text/csv body or as a multipart field “file”."
    if upload.size and upload.size > MAX_CSV_BYTES:
        return "", f"The file is larger than {MAX_CSV_BYTES // 2**20} MB."
    try:
        return upload.read().decode("utf-8"), None
    except UnicodeDecodeError:
        return "", "The file is not UTF-8 text."


def _prefers_async(request: Request) -> bool:
    """RFC 7240 ``Prefer: respond-async``: answer 202 and run the work as a job."""
    prefer = request.headers.get("Prefer", "")
    return any(
        part.strip().lower() == "respond-async"
        for item in prefer.split(",")
        for part in item.split(";")[:1]
    )


def _ledger_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = dict(data)
    if "fee" in fields and fields["fee"] is None:
        fields["fee"] = Decimal(0)
    return fields


class TransactionViewSet(viewsets.ModelViewSet[Transaction]):
    """The ledger of one of the user's portfolios."""

    serializer_class = TransactionSerializer
    permission_classes = [IsAuthenticated]
    lookup_url_kwarg = "tid"
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_portfolio(self) -> Portfolio:
        if not hasattr(self, "_portfolio"):
            self._portfolio = get_object_or_404(
                _owned_portfolios(self.request), pk=self.kwargs["pk"]
            )
        return self._portfolio

    def get_queryset(self) -> QuerySet[Transaction]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Transaction.objects.none()
        return self.get_portfolio().transactions.select_related("asset")

    def perform_create(self, serializer: BaseSerializer[Transaction]) -> None:
        serializer.instance = services.record_transaction(
            portfolio=self.get_portfolio(), **_ledger_fields(serializer.validated_data)
        )

    def perform_update(self, serializer: BaseSerializer[Transaction]) -> None:
        # UpdateModelMixin passes the serializer the transaction being updated.
        assert serializer.instance is not None
        serializer.instance = services.update_transaction(
            tx=serializer.instance, **_ledger_fields(serializer.validated_data)
        )

    def perform_destroy(self, instance: Transaction) -> None:
        services.delete_transaction(tx=instance)

    @extend_schema(
        parameters=[ImportQuerySerializer],
        request={
            "text/csv": {
                "type": "string",
                "minLength": 1,
                "description": "The ledger file: a header line, then a row per line.",
            },
            "application/json": {
                "type": "object",
                "description": "Ghostfolio's JSON export.",
                "properties": {
                    "activities": {"type": "array", "items": {"type": "object"}}
                },
                "required": ["activities"],
            },
            "multipart/form-data": ImportFileSerializer,
        },
        responses={
            201: ImportResultSerializer,
            202: inline_serializer("ImportJob", {"job": JobSerializer()}),
            400: ImportErrorsSerializer,
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[CSVParser, JSONTextParser, MultiPartParser],
        content_negotiation_class=FileFormatNegotiation,
    )
    def import_csv(self, request: Request, pk: int) -> Response:
        """Record every row of a ledger file, or none: each bad row with its line.

        Formats (``format``, or detected from the file): capsite's export
        (``executed_at,asset,kind,quantity,unit_price,fee,note``), Binance
        transaction history, Coinbase transaction history, Kraken ledger CSV
        and Ghostfolio's JSON export; sent as the request body or a multipart
        ``file``. Rows deliberately left out (cash moves, stocks) come back as
        ``skipped`` with the reason.

        A file longer than CAPSITE_IMPORT_JOB_LINES lines (2,000 by default), or
        any file sent with ``Prefer: respond-async``, is imported in the
        background: the answer is 202 with the ``job`` (and its URL in
        ``Location``); poll it until ``status`` is ``done`` (``result`` holds
        ``created`` and ``skipped``) or ``failed`` (``errors``, each with its line).
        """
        params = ImportQuerySerializer(data=request.query_params)
        if not params.is_valid():
            # In the import's own error shape; line 0: not a line of the file.
            return Response(
                {
                    "errors": [
                        {"line": 0, "field": name, "message": str(message)}
                        for name, messages in params.errors.items()
                        for message in messages
                    ]
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        portfolio = self.get_portfolio()
        text, problem = _csv_text(request)
        if problem:
            return Response(
                {"errors": [{"line": 1, "field": "file", "message": problem}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        fmt = params.validated_data.get("format")
        if tasks.in_background(text, asked=_prefers_async(request)):
            job = tasks.start_import(portfolio=portfolio, text=text, fmt=fmt)
            body = {"job": JobSerializer(job, context={"request": request}).data}
            return Response(
                body,
                status=status.HTTP_202_ACCEPTED,
                headers={
                    "Location": body["job"]["url"],
                    "Preference-Applied": "respond-async",
                },
            )
        report = imports.import_transactions(portfolio=portfolio, text=text, fmt=fmt)
        if not report.ok:
            return Response(
                {"format": report.format, "errors": [vars(e) for e in report.errors]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "format": report.format,
                "created": report.created,
                "skipped": [vars(e) for e in report.skipped],
            },
            status=status.HTTP_201_CREATED,
        )
