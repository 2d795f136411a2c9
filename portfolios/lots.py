"""Cost basis by lots (PRODUCT.md, cost basis): pure Decimal code, no ORM.

Every buy, transfer in and reward is a lot; every sell and transfer out
consumes lots by the portfolio's method:

- ``fifo``: oldest lots first; ``lifo``: newest first; ``hifo``: highest unit
  cost first (the oldest of equal costs first);
- ``average``: the cost removed is the average cost of what is held, and the
  quantities leave the lots oldest first, which dates each disposal.

A sell realises proceeds − fee − the cost of the lots consumed; each consumed
lot (or part of one) is a ``Piece`` of the realised-gains report. A transfer
out moves its lots away: no gain, its fee a realised loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)
# Held this long or more, a disposal is long-term (PRODUCT.md: short under 365
# days, long from 365).
LONG_TERM = timedelta(days=365)
METHODS = ("average", "fifo", "lifo", "hifo")
INFLOWS = ("buy", "transfer_in", "reward")


@dataclass
class Lot:
    acquired_at: datetime
    quantity: Decimal
    cost: Decimal  # USD for the whole remaining quantity, fee included


@dataclass(frozen=True)
class Piece:
    """One lot, or part of one, that a sell disposed of."""

    acquired_at: datetime
    disposed_at: datetime
    quantity: Decimal
    proceeds: Decimal  # this part of the sell's proceeds, its share of the fee off
    cost: Decimal
    gain: Decimal
    long_term: bool


@dataclass
class Position:
    """One asset as the ledger leaves it: quantity, cost basis, realised P/L."""

    lots: list[Lot] = field(default_factory=list)
    average_cost: Decimal = ZERO  # the pooled cost, for the average method
    realized: Decimal = ZERO

    @property
    def held(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), ZERO)

    def cost_basis(self, method: str) -> Decimal:
        if method == "average":
            return self.average_cost
        return sum((lot.cost for lot in self.lots), ZERO)


def acquire(
    position: Position, *, at: datetime, quantity: Decimal, cost: Decimal
) -> None:
    """Add a lot: a buy, transfer in or reward of ``quantity`` costing ``cost``."""
    position.lots.append(Lot(at, quantity, cost))
    position.average_cost += cost


def _order(lots: list[Lot], method: str) -> list[Lot]:
    if method == "lifo":
        return lots[::-1]
    if method == "hifo":
        # sorted() is stable: among equal unit costs the oldest goes first.
        return sorted(lots, key=lambda lot: -(lot.cost / lot.quantity))
    return lots  # fifo, and the average method's dating


def consume(
    position: Position, *, method: str, quantity: Decimal
) -> list[tuple[Lot, Decimal, Decimal]]:
    """Take ``quantity`` out of the lots by ``method``.

    Returns (lot as it was acquired, quantity taken, cost removed) per lot
    touched. The caller checks that ``quantity`` is held.
    """
    held = position.held
    pooled = (
        position.average_cost
        if quantity == held
        else position.average_cost * quantity / held
    )
    taken: list[tuple[Lot, Decimal, Decimal]] = []
    left = quantity
    for lot in _order(position.lots, method):
        if left <= 0:
            break
        part = min(lot.quantity, left)
        cost = lot.cost if part == lot.quantity else lot.cost * part / lot.quantity
        taken.append((Lot(lot.acquired_at, lot.quantity, lot.cost), part, cost))
        lot.quantity -= part
        lot.cost -= cost
        left -= part
    position.lots = [lot for lot in position.lots if lot.quantity > 0]
    if method == "average":
        # The pooled average, spread over the dated parts by quantity.
        taken = [(lot, part, pooled * part / quantity) for lot, part, _ in taken]
        position.average_cost -= pooled
    return taken


def dispose(
    position: Position,
    *,
    method: str,
    kind: str,
    at: datetime,
    quantity: Decimal,
    unit_price: Decimal,
    fee: Decimal,
) -> list[Piece]:
    """A sell or transfer out: consume lots, realise the gain, return the pieces.

    A sell's pieces share its proceeds (quantity × price − fee) by quantity; a
    transfer out has no pieces, and its fee is a realised loss.
    """
    taken = consume(position, method=method, quantity=quantity)
    removed = sum((cost for _, _, cost in taken), ZERO)
    if kind != "sell":
        position.realized -= fee
        return []
    proceeds = quantity * unit_price - fee
    position.realized += proceeds - removed
    pieces = []
    for lot, part, cost in taken:
        share = proceeds * part / quantity
        pieces.append(
            Piece(
                acquired_at=lot.acquired_at,
                disposed_at=at,
                quantity=part,
                proceeds=share,
                cost=cost,
                gain=share - cost,
                long_term=at - lot.acquired_at >= LONG_TERM,
            )
        )
    return pieces
