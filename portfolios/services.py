"""The ledger: every write to a portfolio's transactions, and its holdings rebuild."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import astuple
from datetime import datetime
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction

from alerts import hooks as alerts
from portfolios import lots, series
from portfolios.amounts import amount_errors
from portfolios.models import Disposal, Holding, Portfolio, Transaction
from portfolios.targets import TARGET_FIELDS, TARGETS_SUM_MESSAGE, targets_sum_error
from valuations.fields import DECIMAL_PLACES, MAX_DIGITS
from valuations.models import Asset
from valuations.queries import prices_on

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # settings.AUTH_USER_MODEL

ZERO = Decimal(0)
QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)
# A holding's quantity, cost and realised P&L are stored in 22 integer digits.
STORABLE_BELOW = Decimal(1).scaleb(MAX_DIGITS - DECIMAL_PLACES)
TRANSACTION_FIELDS = (
    "asset",
    "kind",
    "quantity",
    "unit_price",
    "fee",
    "executed_at",
    "note",
)


def _lock(portfolio: Portfolio) -> Portfolio:
    """Lock the portfolio row so concurrent ledger writes to it run one at a time.

    On PostgreSQL the second writer waits here and then sees the first's rows;
    SQLite serialises writers with its database lock.
    """
    return Portfolio.objects.select_for_update().get(pk=portfolio.pk)


def _full_clean(portfolio: Portfolio) -> None:
    """Validate the portfolio; a name the owner already uses is an error on name.

    The unique constraint spans owner and name, so Django alone would report it
    as a non-field error; the form shows it on the name field instead.
    """
    taken = Portfolio.objects.filter(owner_id=portfolio.owner_id, name=portfolio.name)
    if portfolio.pk is not None:
        taken = taken.exclude(pk=portfolio.pk)
    if taken.exists():
        raise ValidationError(
            {"name": f"You already have a portfolio called “{portfolio.name}”."}
        )
    errors: dict[str, list[str]] = {}
    try:
        portfolio.full_clean()
    except ValidationError as err:
        errors = err.message_dict
    # The sum rule's own message gives the sum; the constraint's cannot, so it
    # replaces the constraint's among the non-field errors.
    weights = astuple(portfolio.target)
    if all(isinstance(w, Decimal) and w.is_finite() for w in weights):
        problem = targets_sum_error(portfolio.target)
        others = [
            message
            for message in errors.pop(NON_FIELD_ERRORS, [])
            if message != TARGETS_SUM_MESSAGE
        ]
        if problem or others:
            errors[NON_FIELD_ERRORS] = [*others, *([problem] if problem else [])]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_portfolio(*, owner: User, **fields: Any) -> Portfolio:
    """Create a portfolio after validating name uniqueness and the target mix."""
    portfolio = Portfolio(owner=owner, **fields)
    _full_clean(portfolio)
    portfolio.save()
    return portfolio


@transaction.atomic
def update_portfolio(*, portfolio: Portfolio, **fields: Any) -> Portfolio:
    """Change a portfolio's name, description, target mix, tolerance or cost-basis
    method; a new method recomputes every holding and disposal from the ledger."""
    method = (
        Portfolio.objects.filter(pk=portfolio.pk)
        .values_list("cost_basis_method", flat=True)
        .first()
    )
    for name, value in fields.items():
        setattr(portfolio, name, value)
    _full_clean(portfolio)
    portfolio.save()
    if method is not None and method != portfolio.cost_basis_method:
        _lock(portfolio)
        rebuild_holdings(
            portfolio=portfolio,
            asset_ids=set(portfolio.transactions.values_list("asset_id", flat=True)),
        )
    if {"tolerance", *(f"target_{name}" for name in TARGET_FIELDS)} & fields.keys():
        alerts.ledger_changed(portfolio.pk)
    return portfolio


def price_rewards(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Give each reward without a unit price the market price of its UTC day.

    Returns {row position (1-based): reason} for rewards no snapshot prices;
    one query for all of them.
    """
    unpriced = [
        (position, row)
        for position, row in enumerate(rows, 1)
        if row.get("kind") == Transaction.Kind.REWARD and row.get("unit_price") is None
    ]
    if not unpriced:
        return {}
    found = prices_on(
        {(row["asset"].pk, series.utc_day(row["executed_at"])) for _, row in unpriced}
    )
    problems = {}
    for position, row in unpriced:
        day = series.utc_day(row["executed_at"])
        price = found.get((row["asset"].pk, day))
        if price is None:
            problems[position] = (
                f"No market price for {row['asset'].symbol.upper()} on {day}: "
                "give the price at receipt."
            )
        else:
            row["unit_price"] = price
    return problems


@transaction.atomic
def delete_portfolio(*, portfolio: Portfolio) -> None:
    """Delete a portfolio with its ledger and holdings."""
    _lock(portfolio)
    portfolio.holdings.all().delete()
    portfolio.delete()


@transaction.atomic
def record_transaction(
    *,
    portfolio: Portfolio,
    asset: Asset,
    kind: str,
    quantity: Decimal,
    unit_price: Decimal | None = None,
    fee: Decimal = ZERO,
    executed_at: datetime,
    note: str = "",
) -> Transaction:
    """Append a ledger entry; refuse an outflow beyond what is held at its time.

    A reward without a unit price is valued at the market price of its day.
    """
    _lock(portfolio)
    if unit_price is None:
        unit_price = _market_price_of_reward(kind, asset, executed_at)
    tx = Transaction(
        portfolio=portfolio,
        asset=asset,
        kind=kind,
        quantity=quantity,
        unit_price=unit_price,
        fee=fee,
        executed_at=executed_at,
        note=note,
    )
    _clean(tx)
    with series.revaluing(
        portfolio, asset_ids={asset.pk}, since=series.utc_day(tx.executed_at)
    ):
        tx.save()
        rebuild_holdings(portfolio=portfolio, asset_ids={asset.pk}, changed=tx)
    alerts.ledger_changed(portfolio.pk)
    return tx


def _market_price_of_reward(kind: str, asset: Asset, executed_at: datetime) -> Decimal:
    """The unit price of an entry given without one: a reward's market price on
    its day; anything else, or a reward on a day without one, is refused."""
    row: dict[str, Any] = {
        "kind": kind,
        "asset": asset,
        "unit_price": None,
        "executed_at": executed_at,
    }
    problems = price_rewards([row]) if kind == Transaction.Kind.REWARD else {}
    if problems or row["unit_price"] is None:
        raise ValidationError(
            {"unit_price": problems.get(1, "Give the unit price in USD.")}
        )
    price: Decimal = row["unit_price"]
    return price


# The stages of a large import, as its job's page shows them (jobs.progress).
CHECKING_ENTRIES = "Step 2 of 4: checking entries"
SAVING = "Step 3 of 4: saving transactions"
RECOMPUTING = "Step 4 of 4: recomputing holdings and daily history"
IMPORT_BATCH = 1000


@transaction.atomic
def record_transactions(
    *,
    portfolio: Portfolio,
    rows: list[dict[str, Any]],
    progress: Callable[[int, int, str], None] | None = None,
) -> int:
    """Append many entries at once (imports): all are written, or none.

    Each row is validated alone first; then the holdings of every touched asset
    are rebuilt once, which refuses the batch if any holding would go negative.
    ``progress(done, total, stage)`` hears how far it is.
    """
    _lock(portfolio)
    report = progress or (lambda done, total, stage: None)
    entries = []
    errors: dict[str, list[str]] = {}
    for position, reason in price_rewards(rows).items():
        errors.setdefault("unit_price", []).append(f"row {position}: {reason}")
    for position, row in enumerate(rows, 1):
        if position % 250 == 1:
            report(position - 1, len(rows), CHECKING_ENTRIES)
        tx = Transaction(portfolio=portfolio, **row)
        try:
            # The portfolio and assets are objects already in hand.
            _clean(tx, exclude=["portfolio", "asset"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(
                    f"row {position}: {m}" for m in messages
                )
        entries.append(tx)
    if errors:
        raise ValidationError(errors)
    for start in range(0, len(entries), IMPORT_BATCH):
        report(start, len(entries), SAVING)
        Transaction.objects.bulk_create(entries[start : start + IMPORT_BATCH])
    report(len(entries), len(entries), RECOMPUTING)
    positions = {tx.pk: position for position, tx in enumerate(entries, 1)}
    try:
        rebuild_holdings(portfolio=portfolio, asset_ids={tx.asset_id for tx in entries})
    except Oversold as exc:
        if exc.tx_pk not in positions:
            raise
        raise ValidationError(
            {"quantity": [f"row {positions[exc.tx_pk]}: {exc.held}"]}
        ) from exc
    if entries:
        series.refresh(
            portfolio, since=min(series.utc_day(tx.executed_at) for tx in entries)
        )
    alerts.ledger_changed(portfolio.pk)
    return len(entries)


def _clean(tx: Transaction, *, exclude: list[str] | None = None) -> None:
    """Validate an entry's fields, then its amounts by the rules' Python half.

    Django would check each CheckConstraint with a query of its own; the
    amount rules give the same messages keyed by field, and the database still
    enforces the constraints on save.
    """
    errors: dict[str, list[str]] = {}
    try:
        tx.full_clean(
            exclude=exclude or ["portfolio"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        errors = exc.message_dict
    amounts = amount_errors(quantity=tx.quantity, unit_price=tx.unit_price, fee=tx.fee)
    for name, reason in amounts.items():
        if name not in errors:
            errors[name] = [reason]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def update_transaction(*, tx: Transaction, **changes: Any) -> Transaction:
    """Edit a ledger entry; refuse it if any holding would go negative at any time."""
    _lock(tx.portfolio)
    unknown = set(changes) - set(TRANSACTION_FIELDS)
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))}")
    before, was = tx.asset_id, tx.executed_at
    if "unit_price" in changes and changes["unit_price"] is None:
        # A form's empty price: a reward is valued at its day's market price.
        changes["unit_price"] = _market_price_of_reward(
            changes.get("kind", tx.kind),
            changes.get("asset", tx.asset),
            changes.get("executed_at", was),
        )
    for name, value in changes.items():
        setattr(tx, name, value)
    _clean(tx)
    assets = {before, tx.asset_id}
    since = series.utc_day(min(was, tx.executed_at))
    with series.revaluing(tx.portfolio, asset_ids=assets, since=since):
        tx.save()
        rebuild_holdings(portfolio=tx.portfolio, asset_ids=assets, changed=tx)
    alerts.ledger_changed(tx.portfolio_id)
    return tx


@transaction.atomic
def delete_transaction(*, tx: Transaction) -> None:
    """Delete a ledger entry; refuse it if a later outflow would exceed the holding."""
    _lock(tx.portfolio)
    portfolio, asset_id = tx.portfolio, tx.asset_id
    with series.revaluing(
        portfolio, asset_ids={asset_id}, since=series.utc_day(tx.executed_at)
    ):
        tx.delete()
        rebuild_holdings(portfolio=portfolio, asset_ids={asset_id}, deleting=True)
    alerts.ledger_changed(portfolio.pk)


def rebuild_holdings(
    *,
    portfolio: Portfolio,
    asset_ids: Iterable[int],
    changed: Transaction | None = None,
    deleting: bool = False,
) -> None:
    """Replay the ledger of the given assets in time order and store their holdings
    and the disposals of their sells (the realised-gains report).

    Lots and the portfolio's cost-basis method (portfolios.lots): buys,
    transfers in and rewards add a lot costing quantity × price + fee; sells
    and transfers out consume lots; a sell realises proceeds − fee − the cost
    consumed; a transfer-out fee is a realised loss. Raises ValidationError,
    rolling back the caller's write, if an outflow ever exceeds the quantity
    held at its time. One read and three write queries whatever the number of
    transactions.
    """
    asset_ids = set(asset_ids)
    method = portfolio.cost_basis_method
    ledger = (
        Transaction.objects.filter(portfolio=portfolio, asset_id__in=asset_ids)
        .order_by("asset_id", "executed_at", "pk")
        .values_list(
            "pk", "asset_id", "kind", "quantity", "unit_price", "fee", "executed_at"
        )
    )
    positions: dict[int, lots.Position] = {}
    disposals: list[Disposal] = []
    with localcontext() as ctx:
        ctx.prec = 60
        for pk, asset_id, kind, quantity, unit_price, fee, at in ledger:
            position = positions.setdefault(asset_id, lots.Position())
            if kind in lots.INFLOWS:
                lots.acquire(
                    position, at=at, quantity=quantity, cost=quantity * unit_price + fee
                )
                continue
            held = position.held
            if quantity > held:
                tx = Transaction.objects.select_related("asset").get(pk=pk)
                _refuse(tx, held, changed=changed, deleting=deleting)
            for piece in lots.dispose(
                position,
                method=method,
                kind=kind,
                at=at,
                quantity=quantity,
                unit_price=unit_price,
                fee=fee,
            ):
                disposals.append(
                    Disposal(
                        portfolio=portfolio,
                        asset_id=asset_id,
                        sell_id=pk,
                        acquired_at=piece.acquired_at,
                        disposed_at=piece.disposed_at,
                        quantity=piece.quantity.quantize(QUANTUM),
                        proceeds=piece.proceeds.quantize(QUANTUM),
                        cost=piece.cost.quantize(QUANTUM),
                        gain=piece.gain.quantize(QUANTUM),
                        long_term=piece.long_term,
                    )
                )
        # Round in the 60-digit context: at the default 28 digits a cost of $10B
        # or more has no room for 18 decimals and quantize raises.
        state: dict[int, tuple[Decimal, Decimal, Decimal]] = {}
        for asset_id, position in positions.items():
            figures = (
                position.held,
                position.cost_basis(method),
                position.realized,
            )
            if any(abs(value) >= STORABLE_BELOW for value in figures):
                raise ValidationError(
                    {"quantity": "The holding would be too large to store."}
                )
            state[asset_id] = (
                figures[0],
                figures[1].quantize(QUANTUM),
                figures[2].quantize(QUANTUM),
            )
    Holding.objects.bulk_create(
        [
            Holding(
                portfolio=portfolio,
                asset_id=asset_id,
                quantity=held,
                cost_basis=cost,
                realized_pnl=realized,
            )
            for asset_id, (held, cost, realized) in state.items()
        ],
        update_conflicts=True,
        unique_fields=["portfolio", "asset"],
        update_fields=["quantity", "cost_basis", "realized_pnl"],
    )
    # An asset whose last transaction was deleted or moved has no holding left.
    Holding.objects.filter(
        portfolio=portfolio, asset_id__in=asset_ids - set(state)
    ).delete()
    Disposal.objects.filter(portfolio=portfolio, asset_id__in=asset_ids).delete()
    _insert_disposals(disposals)


_DISPOSAL_COLUMNS = (
    "portfolio_id",
    "asset_id",
    "sell_id",
    "acquired_at",
    "disposed_at",
    "quantity",
    "proceeds",
    "cost",
    "gain",
    "long_term",
)


def _insert_disposals(disposals: list[Disposal]) -> None:
    """Insert report lines in bulk: with COPY on PostgreSQL, where a 20,000-row
    ledger sold lot by lot makes tens of thousands of them and Django's per-value
    preparation would cost more than the database's work."""
    if connection.vendor != "postgresql" or len(disposals) < 1000:
        Disposal.objects.bulk_create(disposals, batch_size=1000)
        return
    table = Disposal._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(
            f"COPY {table} ({', '.join(_DISPOSAL_COLUMNS)}) FROM STDIN"
        ) as copy:
            for d in disposals:
                copy.write_row(tuple(getattr(d, name) for name in _DISPOSAL_COLUMNS))


class Oversold(ValidationError):
    """An outflow beyond what was held at its time, naming the refused entry."""

    def __init__(self, message: Any, *, tx_pk: int, held: str) -> None:
        super().__init__(message)
        self.tx_pk = tx_pk
        self.held = held  # "Only 2 BTC held on 2026-01-02 10:00."


def _refuse(
    tx: Transaction, held: Decimal, *, changed: Transaction | None, deleting: bool
) -> None:
    symbol = tx.asset.symbol.upper()
    when = f"{tx.executed_at:%Y-%m-%d %H:%M}"
    only = f"Only {held.normalize():f} {symbol} held on {when}."
    if changed is not None and tx.pk == changed.pk:
        raise Oversold({"quantity": only}, tx_pk=tx.pk, held=only)
    action = "Deleting this transaction" if deleting else "This change"
    raise Oversold(
        f"{action} would leave {held.normalize():f} {symbol} on {when}, less than the "
        f"{tx.get_kind_display().lower()} of {tx.quantity.normalize():f} recorded then.",
        tx_pk=tx.pk,
        held=only,
    )
