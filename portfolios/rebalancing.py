"""The rebalancing plan: USD to move per bucket and the trades that do it.

Pure Decimal rules of PRODUCT.md (Portfolios: rebalancing plan), full or
buy-only with new cash. No model import; amounts are exact (the API serves them
so), and ``in_cents`` rounds a plan for people without breaking its sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import TextChoices

from portfolios.targets import Target, validate_target
from valuations.tiermix import (
    BUCKETS,
    EXACT,
    HUNDRED,
    ONE,
    QUOTIENT,
    ZERO,
    Position,
    asset_values,
    tier_mix,
    total,
    weight,
)

MAX_CANDIDATES = 3
CENT = Decimal("0.01")
# Significant digits of a trade's token quantity: within a cent on trades up to
# $10,000, as precise as an order ticket needs.
QUANTITY_DIGITS = 6


class RebalanceMode(TextChoices):
    FULL = "full", "Full rebalance"
    BUY_ONLY = "buy_only", "Buy only, with new cash"


@dataclass(frozen=True)
class Trade:
    """A suggested trade in USD: positive buys, negative sells.

    ``is_candidate`` marks an asset not held yet, suggested for a bucket that
    needs a buy but holds nothing.
    """

    asset: str
    amount: Decimal
    bucket: str
    is_candidate: bool = False


@dataclass(frozen=True)
class RebalancePlan:
    """USD to move per bucket, the trades that do it, and the weights after."""

    mode: str
    cash: Decimal
    total: Decimal
    amounts: dict[str, Decimal]
    trades: tuple[Trade, ...]
    resulting_weights: dict[str, Decimal]

    @property
    def buys(self) -> Decimal:
        """Return the USD bought across buckets."""
        return total(amount for amount in self.amounts.values() if amount > 0)

    @property
    def sells(self) -> Decimal:
        """Return the USD sold across buckets, as a positive number."""
        return ZERO - total(amount for amount in self.amounts.values() if amount < 0)


def _full_amounts(
    values: Mapping[str, Decimal], goals: Mapping[str, Decimal], cash: Decimal
) -> dict[str, Decimal]:
    amounts: dict[str, Decimal] = {
        bucket: EXACT.subtract(goals[bucket], values[bucket]) for bucket in BUCKETS
    }
    # The arithmetic is exact, so this changes nothing in practice; it guarantees
    # the amounts add up to the cash (sells equal buys) even if a digit was lost.
    anchor = max(BUCKETS, key=lambda bucket: goals[bucket])
    others = total(amount for bucket, amount in amounts.items() if bucket != anchor)
    amounts[anchor] = EXACT.subtract(cash, others)
    return amounts


def _buy_only_amounts(
    values: Mapping[str, Decimal], goals: Mapping[str, Decimal], cash: Decimal
) -> dict[str, Decimal]:
    amounts: dict[str, Decimal] = dict.fromkeys(BUCKETS, ZERO)
    shortfalls: dict[str, Decimal] = {
        bucket: max(ZERO, EXACT.subtract(goals[bucket], values[bucket]))
        for bucket in BUCKETS
    }
    needed = total(shortfalls.values())
    if cash <= 0 or needed <= 0:
        return amounts
    # Shortfalls minus the overweight buckets' excess add up to the cash, so
    # needed ≥ cash: equal means the cash reaches the target exactly.
    if needed <= cash:
        return shortfalls
    # Water-filling: cut the largest shortfalls down to one common level, the
    # level at which the cash is spent. This minimises the distance to target.
    order = sorted(
        (bucket for bucket in BUCKETS if shortfalls[bucket] > 0),
        key=lambda bucket: -shortfalls[bucket],
    )
    running = ZERO
    for count, bucket in enumerate(order, start=1):
        running = EXACT.add(running, shortfalls[bucket])
        level = QUOTIENT.divide(EXACT.subtract(running, cash), count)
        following = shortfalls[order[count]] if count < len(order) else ZERO
        if level >= following:
            break
    filled = order[:count]
    for bucket in filled:
        amounts[bucket] = EXACT.subtract(shortfalls[bucket], level)
    amounts[filled[0]] = EXACT.subtract(
        cash, total(amounts[bucket] for bucket in filled[1:])
    )
    return amounts


def _split(
    bucket: str, amount: Decimal, shares: Sequence[tuple[str, Decimal]], candidate: bool
) -> list[Trade]:
    """Split an amount in proportion to shares; the last takes the remainder."""
    whole = total(share for _, share in shares)
    trades = []
    given = ZERO
    for asset, share in shares[:-1]:
        part = QUOTIENT.divide(EXACT.multiply(amount, share), whole)
        given = EXACT.add(given, part)
        trades.append(Trade(asset, part, bucket, candidate))
    trades.append(
        Trade(shares[-1][0], EXACT.subtract(amount, given), bucket, candidate)
    )
    return trades


def rebalance_plan(
    positions: Iterable[Position],
    target: Target,
    mode: str,
    cash: Decimal = ZERO,
    candidates: Mapping[str, Sequence[str]] | None = None,
) -> RebalancePlan:
    """Return the USD to move per bucket (+ buy, − sell), the trades, and weights after.

    ``full``: every bucket moves to target × (value + cash), so the amounts add up
    to the cash exactly (with no cash, sells equal buys); unranked, whose target
    is 0, is sold in full. ``buy_only``: the cash is split without selling. When
    it covers every bucket's shortfall from target × (value + cash) the result hits
    the target; otherwise it is water-filled: the largest shortfalls are cut down
    to one common level until the cash is spent, the allocation closest to the
    target. Amounts are never negative. (PRODUCT.md, Portfolios: rebalancing plan.)

    Within a bucket, trades split its amount over its holdings in proportion to
    their value. A bucket to buy that holds nothing splits its amount evenly over
    its first three ``candidates`` (bucket → asset slugs, largest first, supplied
    by the caller) as trades with ``is_candidate``; without candidates its amount
    stays in ``amounts`` with no trade. Amounts are exact: round at presentation.
    """
    errors: dict[str, str] = {}
    if mode not in RebalanceMode.values:
        errors["mode"] = "Choose a full rebalance or buy only."
    if not cash.is_finite() or cash < 0:
        errors["cash"] = "Cash to invest cannot be negative."
    if errors:
        raise ValidationError(errors)
    validate_target(target)
    positions = list(positions)
    mix = tier_mix(positions)
    after = EXACT.add(mix.total, cash)
    goals = {
        bucket: EXACT.divide(EXACT.multiply(after, weight), HUNDRED)
        for bucket, weight in target.weights().items()
    }
    if mode == RebalanceMode.FULL:
        amounts = _full_amounts(mix.values, goals, cash)
    else:
        amounts = _buy_only_amounts(mix.values, goals, cash)

    trades: list[Trade] = []
    for bucket in BUCKETS:
        amount = amounts[bucket]
        if amount == 0:
            continue
        held = [
            (asset, value)
            for asset, value in asset_values(
                p for p in positions if p.bucket == bucket
            ).items()
            if value > 0
        ]
        if held:
            trades += _split(bucket, amount, held, candidate=False)
        elif amount > 0:
            names = list((candidates or {}).get(bucket, ()))[:MAX_CANDIDATES]
            if names:
                trades += _split(bucket, amount, [(n, ONE) for n in names], True)
    resulting: dict[str, Decimal] = {
        bucket: weight(EXACT.add(mix.values[bucket], amounts[bucket]), after)
        for bucket in BUCKETS
    }
    return RebalancePlan(
        mode=mode,
        cash=cash,
        total=mix.total,
        amounts=amounts,
        trades=tuple(trades),
        resulting_weights=resulting,
    )


def _to_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)


def round_to_cents(amounts: Sequence[Decimal], total_cents: Decimal) -> list[Decimal]:
    """Return the USD amounts rounded to cents so that they add up to ``total_cents``.

    Largest-remainder method: every amount is rounded down to the cent, then the
    cents still missing go one each to the amounts that lost the most, ties to
    the larger amount, then the earlier. $1,000 split in three equal parts is
    333.34 + 333.33 + 333.33. Signs are kept: a sell of -12.345 is -12.35 or,
    given a cent, -12.34. ``total_cents`` must lie within a cent per amount of
    the exact sum (the exact sum rounded to the cent always does).
    """
    floors = [
        amount.quantize(CENT, rounding=ROUND_FLOOR, context=EXACT) for amount in amounts
    ]
    missing = EXACT.divide(EXACT.subtract(total_cents, total(floors)), CENT)
    if missing != missing.to_integral_value() or not 0 <= missing <= len(amounts):
        raise ValueError(f"{total_cents} cannot be split over these amounts in cents.")
    order = sorted(
        range(len(amounts)),
        key=lambda i: (EXACT.subtract(floors[i], amounts[i]), -abs(amounts[i]), i),
    )
    for i in order[: int(missing)]:
        floors[i] = EXACT.add(floors[i], CENT)
    return floors


def in_cents(plan: RebalancePlan) -> RebalancePlan:
    """Return the plan with the cash, bucket amounts and trades rounded to cents.

    The sums still hold to the cent: the bucket amounts add up to the cash (a
    buy-only plan spends it exactly; a full rebalance sells what it buys, plus
    the cash), and each bucket's trades add up to its amount. Weights after the
    plan stay exact. For people; the API serves the exact plan.
    """
    buckets = list(plan.amounts)
    cash = _to_cent(total(plan.amounts.values()))
    amounts = dict(
        zip(
            buckets,
            round_to_cents([plan.amounts[b] for b in buckets], cash),
            strict=True,
        )
    )
    trades: list[Trade] = []
    for bucket in buckets:
        mine = [trade for trade in plan.trades if trade.bucket == bucket]
        if not mine:
            continue  # an empty bucket with no candidates: its amount, no trade
        rounded = round_to_cents([trade.amount for trade in mine], amounts[bucket])
        trades += [
            replace(trade, amount=amount)
            for trade, amount in zip(mine, rounded, strict=True)
            if amount != 0
        ]
    return replace(plan, cash=cash, amounts=amounts, trades=tuple(trades))


def trade_quantity(amount: Decimal, price: Decimal | None) -> Decimal | None:
    """Return the tokens a trade of ``amount`` USD (either sign) moves at ``price``.

    Rounded to QUANTITY_DIGITS significant digits (whole tokens when the whole
    part is longer), without trailing zeros: $1,000 at $95,000 is 0.0105263
    and $500 at $0.00001234 is 40,518,639. None without a price.
    """
    if price is None or price <= 0:
        return None
    tokens = QUOTIENT.divide(abs(amount), price)
    if tokens == 0:
        return ZERO
    places = max(0, QUANTITY_DIGITS - 1 - tokens.adjusted())
    rounded = tokens.quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=EXACT
    )
    return rounded.normalize(EXACT)
