"""Portfolios, their transaction ledger, and the holdings derived from it."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.expressions import CombinedExpression
from django.urls import reverse

from portfolios.amounts import AMOUNT_CONSTRAINTS, validate_executed_at
from portfolios.targets import TARGETS_SUM_MESSAGE, TARGETS_SUM_TO_100, Target
from valuations.fields import decimal_field, product_field
from valuations.models import Asset

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User  # AUTH_USER_MODEL


def holding_value() -> CombinedExpression:
    """SQL: a holding's USD value, quantity × the asset's current price."""
    return F("quantity") * F("asset__price")


def _percent_field(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=5, decimal_places=2, **kwargs)


class CostBasisMethod(models.TextChoices):
    AVERAGE = "average", "Average cost"
    FIFO = "fifo", "First in, first out (FIFO)"
    LIFO = "lifo", "Last in, first out (LIFO)"
    HIFO = "hifo", "Highest cost first (HIFO)"


class PortfolioQuerySet(models.QuerySet["Portfolio"]):
    def owned_by(self, user: User | AnonymousUser) -> PortfolioQuerySet:
        """Scope before lookup: another user's portfolio is then simply not found."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def with_value(self) -> PortfolioQuerySet:
        """Annotate ``value``: the USD value of the open holdings at current prices.

        The one read of a portfolio's value for lists (page and API alike).
        """
        value = (
            Holding.objects.filter(portfolio=OuterRef("pk"), quantity__gt=0)
            .values("portfolio")
            .annotate(total=Sum(holding_value()))
            .values("total")
        )
        return self.annotate(value=Subquery(value))


class Portfolio(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    # Target mix in percent; unranked assets always have a target of 0.
    target_large = _percent_field(default=Decimal("50"))
    target_mid = _percent_field(default=Decimal("30"))
    target_small = _percent_field(default=Decimal("15"))
    target_stable = _percent_field(default=Decimal("5"))
    cost_basis_method = models.CharField(
        max_length=10,
        choices=CostBasisMethod.choices,
        default=CostBasisMethod.AVERAGE,
        help_text="How sells and transfers out consume what was bought (PRODUCT.md).",
    )
    tolerance = _percent_field(
        default=Decimal("5"),
        help_text="Drift allowed either side, in percentage points.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # The stored daily series (PortfolioDay) is complete through series_through;
    # from series_from on it waits to be recomputed (portfolios.series).
    series_through = models.DateField(null=True, blank=True, editable=False)
    series_from = models.DateField(null=True, blank=True, editable=False)
    # Moves with every ledger write and series recomputation: reads are cached
    # under it (portfolios.reads).
    version = models.PositiveBigIntegerField(default=0, editable=False)

    objects = PortfolioQuerySet.as_manager()

    # Not a column: annotated by PortfolioQuerySet.with_value (None: no holdings).
    value: Decimal | None

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                name="portfolio_name_unique_per_owner",
                violation_error_message="You already have a portfolio with this name.",
            ),
            models.CheckConstraint(
                condition=Q(
                    target_large__gte=0,
                    target_mid__gte=0,
                    target_small__gte=0,
                    target_stable__gte=0,
                ),
                name="portfolio_targets_not_negative",
            ),
            models.CheckConstraint(
                condition=TARGETS_SUM_TO_100,
                name="portfolio_targets_sum_to_100",
                # Django %-formats this message with the constraint name: escape %.
                violation_error_message=TARGETS_SUM_MESSAGE.replace("%", "%%"),
            ),
            models.CheckConstraint(
                condition=Q(tolerance__gte=0, tolerance__lte=100),
                name="portfolio_tolerance_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("portfolios:detail", kwargs={"pk": self.pk})

    @property
    def target(self) -> Target:
        """The target mix as the pure rules take it."""
        return Target(
            large=self.target_large,
            mid=self.target_mid,
            small=self.target_small,
            stable=self.target_stable,
        )


class Transaction(models.Model):
    class Kind(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"
        TRANSFER_IN = "transfer_in", "Transfer in"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        REWARD = "reward", "Reward"

    INFLOWS = (Kind.BUY, Kind.TRANSFER_IN, Kind.REWARD)
    OUTFLOWS = (Kind.SELL, Kind.TRANSFER_OUT)

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="transactions"
    )
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="transactions"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    quantity = decimal_field()
    unit_price = decimal_field(help_text="USD per unit")
    fee = decimal_field(default=Decimal(0), help_text="USD")
    executed_at = models.DateTimeField(validators=[validate_executed_at])
    note = models.CharField(max_length=200, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-executed_at", "-pk"]
        indexes = [
            models.Index(
                fields=["portfolio", "asset", "executed_at"], name="tx_ledger_order_idx"
            ),
            models.Index(
                fields=["portfolio", "-executed_at"], name="tx_portfolio_time_idx"
            ),
        ]
        constraints = [
            *AMOUNT_CONSTRAINTS,
            models.CheckConstraint(
                condition=Q(
                    kind__in=["buy", "sell", "transfer_in", "transfer_out", "reward"]
                ),
                name="tx_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} {self.asset.symbol.upper()}"

    @property
    def gross(self) -> Decimal:
        """Quantity × unit price in USD, fee excluded."""
        return self.quantity * self.unit_price


class Holding(models.Model):
    """One asset's position in a portfolio, rebuilt from the ledger on every write.

    Average-cost figures depend on the order of trades, so they cannot be a plain
    SUM; keeping them here lets every read be a single indexed query.
    """

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="holdings"
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="holdings")
    quantity = decimal_field()
    cost_basis = decimal_field(
        help_text="USD cost of the units held (average-cost method)"
    )
    realized_pnl = decimal_field(help_text="USD realised on sells")

    class Meta:
        ordering = ["portfolio", "asset"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "asset"], name="holding_one_per_asset"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="holding_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.asset.symbol.upper()} in {self.portfolio}"


class PortfolioDay(models.Model):
    """One UTC day of a portfolio's stored series (PRODUCT.md, performance).

    Written by portfolios.series only, from the ledger and the market snapshots;
    reads of history and performance take a range of these rows and nothing else.
    """

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="days"
    )
    day = models.DateField()
    # Value at the day's end per bucket, each holding at its last known price.
    large = product_field()
    mid = product_field()
    small = product_field()
    stable = product_field()
    unranked = product_field()
    value = product_field()
    flow = product_field(help_text="External flow of the day: money in minus out.")
    income = product_field(
        default=Decimal(0), help_text="Rewards received that day, at their value."
    )
    net_invested = product_field(help_text="Sum of external flows to date.")
    growth = product_field(
        help_text="Chain-linked time-weighted growth since the first day, 1 = flat."
    )
    # Carried-forward prices: {asset id: days since its price} for the holdings
    # valued at an earlier day's price; the oldest of them, in days (0: every
    # holding priced that day); and how many are older than the stale limit.
    carried = models.JSONField(default=dict, blank=True)
    price_age = models.PositiveIntegerField(default=0)
    stale_holdings = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["portfolio", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "day"], name="portfolio_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.portfolio} on {self.day}"


class Disposal(models.Model):
    """One lot (or part of one) a sell consumed: a line of the realised-gains report.

    Written by portfolios.services.rebuild_holdings with the holdings, from the
    ledger and the portfolio's cost-basis method; never edited.
    """

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="disposals"
    )
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    sell = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="disposals"
    )
    acquired_at = models.DateTimeField(help_text="When the lot was acquired.")
    disposed_at = models.DateTimeField()
    quantity = decimal_field()
    proceeds = product_field(help_text="USD: this part of the sell, less its fee.")
    cost = product_field(help_text="USD: the lot's cost, fee included.")
    gain = product_field()
    long_term = models.BooleanField(help_text="Held 365 days or more.")

    class Meta:
        ordering = ["portfolio", "disposed_at", "pk"]
        indexes = [
            models.Index(
                fields=["portfolio", "disposed_at"], name="disposal_portfolio_time_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.asset} disposed {self.disposed_at:%Y-%m-%d}"
