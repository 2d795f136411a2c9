"""Performance of a portfolio (PRODUCT.md): one pure function per figure.

External flow, profit, the daily return and its chain, time-weighted return
(TWR) and money-weighted return (MWR, XIRR). Decimals in and out; no ORM.
Percentages are on the 0–100 scale, like every weight the site serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, localcontext

import pyxirr

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
# Stored figures keep 18 decimals, like every amount in the database; each step
# of the stored series rounds there, so a recomputation from any day agrees.
QUANTUM = Decimal("1e-18")
# Returns are served to 8 decimals of a percent.
PERCENT_QUANTUM = Decimal("1e-8")
# Yearly rates beyond this (as a fraction: 10^12 %) are served as null.
MWR_LIMIT = 1e10


def external_flow(
    kind: str,
    quantity: Decimal,
    unit_price: Decimal,
    fee: Decimal,
    market_price: Decimal | None,
) -> Decimal:
    """Money a transaction brings in (+) or takes out (−) of the portfolio.

    Buy: quantity × price + fee; sell: −(quantity × price − fee); a transfer:
    ± quantity × the day's market price (the trade's own price when no market
    price is known). A transfer's fee is not a flow, as PRODUCT.md defines it.
    A reward is income, a return and never a flow: 0.
    """
    if kind == "reward":
        return ZERO
    if kind == "buy":
        return quantity * unit_price + fee
    if kind == "sell":
        return -(quantity * unit_price - fee)
    moved = quantity * (unit_price if market_price is None else market_price)
    return moved if kind == "transfer_in" else -moved


def income(kind: str, quantity: Decimal, unit_price: Decimal) -> Decimal:
    """What a transaction earns as income: a reward's value at receipt, else 0."""
    return quantity * unit_price if kind == "reward" else ZERO


def profit(value: Decimal, net_invested: Decimal) -> Decimal:
    """Value − net invested: realised and unrealised gains together."""
    return value - net_invested


def daily_return(
    value: Decimal, flow: Decimal, previous_value: Decimal
) -> Decimal | None:
    """rₜ = (Vₜ − Fₜ) ÷ Vₜ₋₁ − 1, as a fraction; None for a day starting at 0."""
    if previous_value == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return (value - flow) / previous_value - ONE


def chain(growth: Decimal, value: Decimal, flow: Decimal, previous: Decimal) -> Decimal:
    """Growth after one more day: growth × (1 + rₜ), rounded as stored.

    A day that starts at 0 contributes nothing: deposits are never returns.
    """
    r = daily_return(value, flow, previous)
    if r is None:
        return growth
    with localcontext() as ctx:
        ctx.prec = 60
        return (growth * (ONE + r)).quantize(QUANTUM)


def time_weighted_return(growth_start: Decimal, growth_end: Decimal) -> Decimal | None:
    """TWR between two days of the chain, in percent: (Gₑ ÷ Gₛ − 1) × 100.

    None when the start's growth is 0 (a total loss, after which nothing chains).
    """
    if growth_start == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return ((growth_end / growth_start - ONE) * HUNDRED).quantize(PERCENT_QUANTUM)


def money_weighted_return(
    flows: Sequence[tuple[date, Decimal]], *, end: date, value_end: Decimal
) -> Decimal | None:
    """MWR (XIRR) in percent a year: the rate r at which the flows, compounded at
    (1 + r)^(days ÷ 365) to ``end``, add up to ``value_end``.

    ``flows`` are (day, money in) pairs, the opening value among them; None when
    no rate solves it (no money in, or nothing to solve for), or when the rate
    is too large to mean anything (past MWR_LIMIT).
    """
    dates = [day for day, _ in flows] + [end]
    # The investor's view: money put in is paid out (−), the final value received.
    amounts = [-float(amount) for _, amount in flows] + [float(value_end)]
    if not any(a < 0 for a in amounts) or not any(a > 0 for a in amounts):
        return None
    rate = pyxirr.xirr(dates, amounts, silent=True)
    # A few days' gain compounds to absurd yearly rates: past 10^12 % (or an
    # overflow) the rate says nothing, and is served as no solution.
    if rate is None or not abs(rate) < MWR_LIMIT:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(repr(rate)) * HUNDRED).quantize(PERCENT_QUANTUM)
