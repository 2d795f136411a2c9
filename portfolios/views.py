"""Portfolio pages: list, create/edit/delete, the analysis page, the ledger and CSV."""

from __future__ import annotations

import csv
import functools
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from capsite.accounts import signed_in
from portfolios import (
    analysis,
    benchmarks,
    imports,
    queries,
    reads,
    realized,
    series,
    services,
    tasks,
)
from portfolios.forms import ImportForm, PortfolioForm, RebalanceForm, TransactionForm
from portfolios.models import Portfolio, Transaction
from portfolios.rebalancing import RebalanceMode, RebalancePlan, in_cents
from valuations import charts, timecharts
from valuations.choices import Bucket
from valuations.models import Asset
from valuations.queries import market_overview
from valuations.tiermix import BUCKETS

HISTORY_RANGES = {"30d": 30, "90d": 90, "1y": 365, "all": None}
BUCKET_LABELS = dict(Bucket.choices)


def _owned(request: HttpRequest, pk: int) -> Portfolio:
    """Scope before lookup: another user's portfolio is a 404, like a missing one."""
    return get_object_or_404(Portfolio.objects.owned_by(request.user), pk=pk)


@login_required
def portfolio_list(request: HttpRequest) -> HttpResponse:
    """The user's portfolios, each with its value and tier-mix bar."""
    portfolios = list(Portfolio.objects.owned_by(request.user).with_value())
    mixes = queries.tier_mixes(portfolios)
    rows = [
        (p, p.value or 0, charts.mix_bar(mixes[p.pk].weights, BUCKET_LABELS))
        for p in portfolios
    ]
    return render(request, "portfolios/portfolio_list.html", {"rows": rows})


def _save_portfolio(request: HttpRequest, form: PortfolioForm) -> Portfolio | None:
    """Run the create or update service; put its errors on the form."""
    fields = {k: v for k, v in form.cleaned_data.items() if k != "preset"}
    try:
        if form.instance.pk:
            return services.update_portfolio(portfolio=form.instance, **fields)
        return services.create_portfolio(owner=signed_in(request.user), **fields)
    except ValidationError as err:
        form.add_error(None, err)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def portfolio_create(request: HttpRequest) -> HttpResponse:
    owner = signed_in(request.user)
    form = PortfolioForm(request.POST or None, instance=Portfolio(owner=owner))
    if request.method == "POST" and form.is_valid():
        portfolio = _save_portfolio(request, form)
        if portfolio:
            messages.success(request, f"Portfolio “{portfolio.name}” created.")
            return redirect(portfolio)
    status = 400 if form.is_bound else 200
    return render(
        request, "portfolios/portfolio_form.html", {"form": form}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def portfolio_edit(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _owned(request, pk)
    form = PortfolioForm(request.POST or None, instance=portfolio)
    if request.method == "POST" and form.is_valid():
        if _save_portfolio(request, form):
            messages.success(request, "Portfolio saved.")
            return redirect(portfolio)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "portfolios/portfolio_form.html",
        {"form": form, "portfolio": portfolio},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def portfolio_delete(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _owned(request, pk)
    if request.method == "POST":
        name = portfolio.name
        services.delete_portfolio(portfolio=portfolio)
        messages.success(request, f"Portfolio “{name}” deleted.")
        return redirect("portfolios:list")
    count = portfolio.transactions.count()
    return render(
        request,
        "portfolios/portfolio_confirm_delete.html",
        {"portfolio": portfolio, "transaction_count": count},
    )


@login_required
def portfolio_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Holdings, tier mix, diversification, drift, rebalancing plan, risks, history.

    The page's content is cached under the portfolio's and the market's
    versions and the address (portfolios.reads); every figure below is a
    function the template calls only when its cached copy is missing.
    """
    portfolio = get_object_or_404(
        reads.with_market_state(Portfolio.objects.owned_by(request.user)), pk=pk
    )
    detail_key = reads.read_key(portfolio, request.get_full_path())
    today = timezone.now().date()
    form = RebalanceForm(request.GET or None)
    period = request.GET.get("range", "1y")
    if period not in HISTORY_RANGES:
        period = "1y"

    @functools.cache
    def result() -> analysis.Analysis:
        return analysis.analyse(portfolio, today=today)

    @functools.cache
    def plan() -> RebalancePlan | None:
        if not (result().holdings.rows or request.GET.get("cash")):
            return None
        mode, cash = RebalanceMode.FULL, Decimal(0)
        if form.is_bound:
            if not form.is_valid():
                return None  # a plan for other cash than asked would mislead
            mode = form.cleaned_data["mode"] or mode
            cash = form.cleaned_data["cash"] or cash
        try:
            exact = analysis.rebalance(result(), mode=mode, cash=cash)
        except ValidationError as err:
            form.add_error(None, err)
            return None
        # People trade in cents; the API serves the exact plan.
        return in_cents(exact)

    status = 200
    if form.is_bound:
        plan()  # its errors decide the status, so the plan is made now
        status = 400 if form.errors else 200

    @functools.cache
    def history() -> list[series.Day]:
        end = series.current_through(portfolio)
        if end is None:
            return []
        days = HISTORY_RANGES[period]
        start = end - timedelta(days=days - 1) if days else None
        return series.history(portfolio, start=start, end=end)

    @functools.cache
    def performance() -> series.Performance | None:
        days = history()
        if not days:
            return None
        return series.performance_between(
            portfolio, start=days[0].date, end=days[-1].date
        )

    @functools.cache
    def benchmark_rows() -> list[dict[str, object]]:
        made = performance()
        if made is None:
            return []
        return benchmarks.for_portfolio(
            portfolio, start=made.start, end=made.end, opening=made.value_start > 0
        )

    @functools.cache
    def bitcoin_share() -> dict[str, object] | None:
        """Your Bitcoin weight beside Bitcoin's dominance of the market."""
        rows = result().holdings.rows
        if not rows:
            return None
        weight = next((r.weight for r in rows if r.asset_slug == "bitcoin"), Decimal(0))
        overview = market_overview()
        return {"weight": weight, "dominance": overview.bitcoin_dominance}

    @functools.cache
    def history_chart() -> timecharts.Chart | None:
        made = performance()
        return timecharts.history_chart(
            [
                (d.date, d.value, d.net_invested, d.price_age, d.stale_holdings > 0)
                for d in history()
            ],
            benchmarks.same_money_in_bitcoin(
                history(), opening_value=made.value_start if made else Decimal(0)
            ),
            benchmark_label="The same money in Bitcoin",
            stale_days=settings.CAPSITE_PRICE_STALE_DAYS,
        )

    @functools.cache
    def mix_chart() -> timecharts.Chart | None:
        return timecharts.tier_area_chart(
            [(d.date, d.weights) for d in history()], BUCKET_LABELS
        )

    def plan_rows() -> list[dict[str, object]]:
        made = plan()
        if made is None:
            return []
        return [
            {
                "bucket": b,
                "amount": made.amounts[b],
                "weight": made.resulting_weights[b],
            }
            for b in BUCKETS
        ]

    @functools.cache
    def trades() -> list[analysis.TradeLine]:
        made = plan()
        return analysis.trade_lines(result(), made) if made else []

    context = {
        "portfolio": portfolio,
        "detail_key": detail_key,
        "a": result,
        "mix_bar": lambda: charts.mix_bar(result().mix.weights, BUCKET_LABELS),
        "target_bar": lambda: charts.mix_bar(result().target.weights(), BUCKET_LABELS),
        "bucket_labels": BUCKET_LABELS,
        "plan": plan,
        "plan_rows": plan_rows,
        "trades": trades,
        "form": form,
        "history": history,
        "history_last": lambda: history()[-1] if history() else None,
        "history_chart": history_chart,
        "mix_chart": mix_chart,
        "performance": performance,
        "benchmarks": benchmark_rows,
        "bitcoin_share": bitcoin_share,
        "method": portfolio.get_cost_basis_method_display(),
        "carried_days": lambda: sum(1 for d in history() if d.price_age),
        "stale_days": lambda: sum(1 for d in history() if d.stale_holdings),
        "oldest_price": lambda: max((d.price_age for d in history()), default=0),
        "stale_limit": settings.CAPSITE_PRICE_STALE_DAYS,
        "period": period,
        "ranges": list(HISTORY_RANGES),
    }
    return render(request, "portfolios/portfolio_detail.html", context, status=status)


@login_required
def transaction_list(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _owned(request, pk)
    ledger = portfolio.transactions.select_related("asset")
    page = Paginator(ledger, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portfolios/transaction_list.html",
        {"portfolio": portfolio, "page": page},
    )


def _asset_options() -> list[tuple[str, str, str]]:
    """The 250 largest assets for the asset field's suggestions."""
    return list(Asset.objects.ranked().values_list("slug", "symbol", "name")[:250])


def _transaction_form_page(
    request: HttpRequest,
    portfolio: Portfolio,
    form: TransactionForm,
    tx: Transaction | None,
) -> HttpResponse:
    return render(
        request,
        "portfolios/transaction_form.html",
        {
            "portfolio": portfolio,
            "form": form,
            "tx": tx,
            "asset_options": _asset_options(),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def transaction_create(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _owned(request, pk)
    initial = {"executed_at": timezone.now().replace(second=0, microsecond=0), "fee": 0}
    if request.GET.get("asset"):
        initial["asset"] = request.GET["asset"]
    form = TransactionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_transaction(portfolio=portfolio, **form.cleaned_data)
        except ValidationError as err:
            form.add_error(None, err)
        else:
            messages.success(request, "Transaction recorded.")
            if "add_another" in request.POST:
                return redirect("portfolios:transaction-create", pk=portfolio.pk)
            return redirect(portfolio)
    return _transaction_form_page(request, portfolio, form, None)


def _owned_transaction(request: HttpRequest, pk: int, tid: int) -> Transaction:
    portfolio = _owned(request, pk)
    return get_object_or_404(portfolio.transactions.select_related("asset"), pk=tid)


@login_required
@require_http_methods(["GET", "POST"])
def transaction_edit(request: HttpRequest, pk: int, tid: int) -> HttpResponse:
    tx = _owned_transaction(request, pk, tid)
    form = TransactionForm(
        request.POST or None, initial=TransactionForm.initial_for(tx)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_transaction(tx=tx, **form.cleaned_data)
        except ValidationError as err:
            form.add_error(None, err)
        else:
            messages.success(request, "Transaction saved.")
            return redirect("portfolios:transactions", pk=pk)
    return _transaction_form_page(request, tx.portfolio, form, tx)


@login_required
@require_http_methods(["GET", "POST"])
def transaction_delete(request: HttpRequest, pk: int, tid: int) -> HttpResponse:
    tx = _owned_transaction(request, pk, tid)
    error = None
    if request.method == "POST":
        try:
            services.delete_transaction(tx=tx)
        except ValidationError as err:
            error = " ".join(err.messages)
        else:
            messages.success(request, "Transaction deleted.")
            return redirect("portfolios:transactions", pk=pk)
    return render(
        request,
        "portfolios/transaction_confirm_delete.html",
        {"portfolio": tx.portfolio, "tx": tx, "error": error},
        status=400 if error else 200,
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def transaction_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Stream the ledger as CSV in the same format the import reads."""
    portfolio = _owned(request, pk)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in imports.export_rows(portfolio)),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"capsite-{portfolio.pk}-transactions.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def transaction_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a CSV; bad rows are listed and nothing applies unless all are good."""
    portfolio = _owned(request, pk)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text.")
        else:
            fmt = form.cleaned_data["format"] or None
            if tasks.in_background(text):
                job = tasks.start_import(portfolio=portfolio, text=text, fmt=fmt)
                return redirect(job)
            report = imports.import_transactions(
                portfolio=portfolio, text=text, fmt=fmt
            )
            if report.ok:
                skipped = len(report.skipped)
                messages.success(
                    request,
                    f"Imported {report.created} transactions"
                    + (
                        f"; {skipped} rows left out (cash moves, other assets)."
                        if skipped
                        else "."
                    ),
                )
                return redirect("portfolios:transactions", pk=pk)
    failed = form.is_bound and (
        not form.is_valid() or (report is not None and not report.ok)
    )
    return render(
        request,
        "portfolios/transaction_import.html",
        {
            "portfolio": portfolio,
            "form": form,
            "report": report,
            "columns": imports.COLUMNS,
        },
        status=400 if failed else 200,
    )


def _tax_year(request: HttpRequest, years: list[realized.YearTotals]) -> int | None:
    """The ``year`` asked for, else the latest with a disposal; None when unreadable."""
    raw = request.GET.get("year", "")
    if not raw:
        return years[0].year if years else timezone.now().year
    return int(raw) if raw.isdigit() and 2009 <= int(raw) <= 9999 else None


@login_required
def realized_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Realised gains of one tax year, by the portfolio's cost-basis method."""
    portfolio = _owned(request, pk)
    years = realized.totals_by_year(portfolio)
    year = _tax_year(request, years)
    if year is None:
        context = {"portfolio": portfolio, "years": years, "error": True}
        return render(request, "portfolios/realized.html", context, status=400)
    paginator = Paginator(realized.disposals_in(portfolio, year), 100)
    context = {
        "portfolio": portfolio,
        "years": years,
        "year": year,
        "totals": next((t for t in years if t.year == year), None),
        "page": paginator.get_page(request.GET.get("page")),
        "method": portfolio.get_cost_basis_method_display(),
    }
    return render(request, "portfolios/realized.html", context)


@login_required
def realized_export(request: HttpRequest, pk: int) -> HttpResponse:
    """One tax year's realised gains as CSV."""
    portfolio = _owned(request, pk)
    year = _tax_year(request, realized.totals_by_year(portfolio))
    if year is None:
        return HttpResponse("year must be a year from 2009.", status=400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    csv.writer(response).writerows(realized.csv_rows(portfolio, year))
    filename = f"capsite-{portfolio.pk}-realized-{year}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
