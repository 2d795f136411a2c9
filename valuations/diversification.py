"""Pure Decimal figures of a portfolio: tier mix, diversification, drift, rebalancing.

The portfolios app feeds positions in; nothing here touches the ORM or imports
portfolios. Settings are read when a function is called, never at import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, localcontext

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

from valuations.models import Liquidity, Tier

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
# Sums and products of 40-digit stored values need up to 80 significant digits;
# at 100 they stay exact, so a full rebalance's sells equal its buys to the wei.
_EXACT = Context(prec=100)
# Quotients (weights, splits) rarely terminate; 28 digits keeps them readable.
_QUOTIENT = Context(prec=28)
# Score and effective counts are rounded so an even split is exactly 1 (or 3).
_PLACES = Decimal("0.000001")
MAX_CANDIDATES = 3


class Bucket(models.TextChoices):
    LARGE = "large", "Large cap"
    MID = "mid", "Mid cap"
    SMALL = "small", "Small cap"
    STABLE = "stable", "Stablecoins"
    UNRANKED = "unranked", "Unranked"


BUCKETS: tuple[Bucket, ...] = tuple(Bucket)
# The tiers the diversification score spreads across: cash and unknowns excluded.
SCORED: tuple[Bucket, ...] = (Bucket.LARGE, Bucket.MID, Bucket.SMALL)
TARGET_FIELDS = ("large", "mid", "small", "stable")


class RebalanceMode(models.TextChoices):
    FULL = "full", "Full rebalance"
    BUY_ONLY = "buy_only", "Buy only, with new cash"


class RiskCode(models.TextChoices):
    LOW_LIQUIDITY = "low_liquidity", "Low liquidity"
    HIGH_DILUTION = "high_dilution", "High dilution"
    UNLOCK_SOON = "unlock_soon", "Unlock soon"
    CONCENTRATION = "concentration", "Concentration"


def bucket_for(tier: str, is_stablecoin: bool) -> Bucket:
    """Return the bucket of an asset: ``stable`` for any stablecoin, else its tier.

    A large-cap stablecoin is cash, not a large-cap risk asset (PRODUCT.md,
    Portfolios: bucket). Unranked assets keep their own bucket.
    """
    if is_stablecoin:
        return Bucket.STABLE
    if tier not in Tier.values:
        raise ValueError(f"Unknown tier {tier!r}.")
    return Bucket(tier)


@dataclass(frozen=True)
class Position:
    """One holding as portfolios feed it in: asset slug, USD value (≥ 0), tier."""

    asset: str
    value: Decimal
    tier: str
    is_stablecoin: bool = False
    name: str = ""
    symbol: str = ""

    @property
    def bucket(self) -> Bucket:
        return bucket_for(self.tier, self.is_stablecoin)


def _sum(values: Iterable[Decimal]) -> Decimal:
    with localcontext(_EXACT):
        return sum(values, ZERO)


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    """Return part ÷ whole as a percentage; 0 when either is 0."""
    if whole == 0 or part == 0:
        return ZERO
    return _QUOTIENT.divide(_EXACT.multiply(part, HUNDRED), whole)


def _quantize(value: Decimal) -> Decimal:
    return _EXACT.quantize(value, _PLACES)


# Tier mix -----------------------------------------------------------------


@dataclass(frozen=True)
class TierMix:
    """USD value and weight (percent 0–100) of every bucket, in BUCKETS order."""

    total: Decimal
    values: dict[str, Decimal]
    weights: dict[str, Decimal]


def tier_mix(positions: Iterable[Position]) -> TierMix:
    """Return the value (USD) and weight (percent 0–100) of each of the five buckets.

    Weight is bucket value ÷ portfolio value (PRODUCT.md, Portfolios: weight).
    Every bucket is present, zero when empty; unranked is shown, not dropped.
    A portfolio worth nothing has every weight 0.
    """
    values: dict[str, Decimal] = dict.fromkeys(BUCKETS, ZERO)
    for position in positions:
        values[position.bucket] = _EXACT.add(values[position.bucket], position.value)
    total = _sum(values.values())
    weights = {bucket: _percent(value, total) for bucket, value in values.items()}
    return TierMix(total=total, values=values, weights=weights)


# Diversification -------------------------------------------------------------


@dataclass(frozen=True)
class Diversification:
    """Spread across tiers (score, effective tiers) and across assets (the rest)."""

    score: Decimal | None
    effective_tiers: Decimal | None
    largest_asset: str | None
    largest_weight: Decimal | None
    hhi: Decimal | None
    effective_holdings: Decimal | None


def _asset_values(positions: Iterable[Position]) -> dict[str, Decimal]:
    """Return USD value per asset slug, largest first; repeated assets are added."""
    values: dict[str, Decimal] = {}
    for position in positions:
        values[position.asset] = _EXACT.add(
            values.get(position.asset, ZERO), position.value
        )
    return dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))


def holding_weights(positions: Iterable[Position]) -> dict[str, Decimal]:
    """Return each asset's weight in percent 0–100 of the portfolio, largest first.

    All weights are 0 when the portfolio is worth nothing.
    """
    values = _asset_values(positions)
    total = _sum(values.values())
    return {asset: _percent(value, total) for asset, value in values.items()}


def _tier_spread(values: Sequence[Decimal]) -> tuple[Decimal | None, Decimal | None]:
    """Return (entropy ÷ ln 3, 1 ÷ Σ p²) of the values renormalised to sum to 1."""
    with localcontext(_EXACT):
        total = sum(values, ZERO)
        if total <= 0:
            return None, None
        shares = [value / total for value in values if value > 0]
        # ZERO minus the sum keeps a single tier's entropy at 0 rather than -0.
        entropy = ZERO - sum((share * share.ln() for share in shares), ZERO)
        concentration = sum((share * share for share in shares), ZERO)
        return (
            _quantize(entropy / Decimal(len(SCORED)).ln()),
            _quantize(ONE / concentration),
        )


def diversification(positions: Iterable[Position]) -> Diversification:
    """Return the diversification figures of PRODUCT.md's Portfolios table.

    ``score``: −Σ pᵢ ln pᵢ ÷ ln 3 over the large, mid and small values renormalised
    to sum to 1 (0 = one tier, 1 = evenly spread; stable and unranked excluded);
    None when those three tiers hold nothing. ``effective_tiers``: 1 ÷ Σ pᵢ² over
    the same weights. Across assets: ``largest_weight`` in percent 0–100, ``hhi``
    = Σ wⱼ² with each holding's weight as a fraction (0–1], 1 = a single holding,
    and ``effective_holdings`` = 1 ÷ HHI; all None when the portfolio is worth
    nothing. Score, effective counts and HHI are rounded to 6 decimal places.
    """
    positions = list(positions)
    mix = tier_mix(positions)
    score, effective_tiers = _tier_spread([mix.values[bucket] for bucket in SCORED])
    values = _asset_values(positions)
    total = _sum(values.values())
    if total <= 0:
        return Diversification(score, effective_tiers, None, None, None, None)
    largest_asset, largest_value = next(iter(values.items()))
    with localcontext(_EXACT):
        hhi = sum((value * value for value in values.values()), ZERO) / (total * total)
        return Diversification(
            score=score,
            effective_tiers=effective_tiers,
            largest_asset=largest_asset,
            largest_weight=_percent(largest_value, total),
            hhi=_quantize(hhi),
            effective_holdings=_quantize(ONE / hhi),
        )


# Targets and drift -----------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Target weights in percent 0–100 per bucket; unranked's target is always 0."""

    large: Decimal
    mid: Decimal
    small: Decimal
    stable: Decimal

    def weight(self, bucket: str) -> Decimal:
        """Return the target weight of a bucket in percent (0 for unranked)."""
        if bucket == Bucket.UNRANKED:
            return ZERO
        if bucket not in TARGET_FIELDS:
            raise ValueError(f"Unknown bucket {bucket!r}.")
        return getattr(self, str(bucket))

    def weights(self) -> dict[str, Decimal]:
        """Return the target weight of every bucket in BUCKETS order, in percent."""
        return {bucket: self.weight(bucket) for bucket in BUCKETS}


PRESETS: dict[str, Target] = {
    "conservative": Target(Decimal(70), Decimal(20), Decimal(5), Decimal(5)),
    "balanced": Target(Decimal(50), Decimal(30), Decimal(15), Decimal(5)),
    "aggressive": Target(Decimal(30), Decimal(35), Decimal(30), Decimal(5)),
}


def validate_target(target: Target) -> Target:
    """Return the target unchanged, or raise ValidationError keyed by field.

    Each weight must be a number from 0 to 100, and together they must add up to
    exactly 100 % (PRODUCT.md, Portfolios: target mix). A wrong sum belongs to no
    single field, so it is keyed by NON_FIELD_ERRORS.
    """
    errors: dict[str, str] = {}
    for name in TARGET_FIELDS:
        weight = getattr(target, name)
        if not isinstance(weight, Decimal) or not weight.is_finite():
            errors[name] = "Enter a number."
        elif weight < 0:
            errors[name] = "A target weight cannot be negative."
        elif weight > HUNDRED:
            errors[name] = "A target weight cannot be above 100 %."
    if not errors:
        total = _sum(getattr(target, name) for name in TARGET_FIELDS)
        if total != HUNDRED:
            errors[NON_FIELD_ERRORS] = (
                f"Target weights must add up to 100 %, not {_number(total)} %."
            )
    if errors:
        raise ValidationError(errors)
    return target


@dataclass(frozen=True)
class BucketDrift:
    """One bucket's value (USD), weight, target and drift (percentage points)."""

    bucket: str
    value: Decimal
    weight: Decimal
    target: Decimal
    drift: Decimal
    outside_band: bool


def drift(mix: TierMix, target: Target, tolerance: Decimal) -> list[BucketDrift]:
    """Return the drift of every bucket, unranked included (its target is 0).

    Drift is bucket weight − target weight in percentage points (PRODUCT.md,
    Portfolios: drift). A bucket is outside the band when |drift| > tolerance:
    a drift exactly equal to the tolerance is still inside.
    """
    if not tolerance.is_finite() or tolerance < 0:
        raise ValidationError({"tolerance": "The tolerance cannot be negative."})
    rows = []
    for bucket in BUCKETS:
        goal = target.weight(bucket)
        gap = _EXACT.subtract(mix.weights[bucket], goal)
        rows.append(
            BucketDrift(
                bucket=bucket,
                value=mix.values[bucket],
                weight=mix.weights[bucket],
                target=goal,
                drift=gap,
                outside_band=abs(gap) > tolerance,
            )
        )
    return rows


# Rebalancing -------------------------------------------------------------------


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
        return _sum(amount for amount in self.amounts.values() if amount > 0)

    @property
    def sells(self) -> Decimal:
        """Return the USD sold across buckets, as a positive number."""
        return ZERO - _sum(amount for amount in self.amounts.values() if amount < 0)


def _full_amounts(
    values: Mapping[str, Decimal], goals: Mapping[str, Decimal], cash: Decimal
) -> dict[str, Decimal]:
    amounts = {
        bucket: _EXACT.subtract(goals[bucket], values[bucket]) for bucket in BUCKETS
    }
    # The arithmetic is exact, so this changes nothing in practice; it guarantees
    # the amounts add up to the cash (sells equal buys) even if a digit was lost.
    anchor = max(BUCKETS, key=lambda bucket: goals[bucket])
    others = _sum(amount for bucket, amount in amounts.items() if bucket != anchor)
    amounts[anchor] = _EXACT.subtract(cash, others)
    return amounts


def _buy_only_amounts(
    values: Mapping[str, Decimal], goals: Mapping[str, Decimal], cash: Decimal
) -> dict[str, Decimal]:
    amounts: dict[str, Decimal] = dict.fromkeys(BUCKETS, ZERO)
    shortfalls = {
        bucket: max(ZERO, _EXACT.subtract(goals[bucket], values[bucket]))
        for bucket in BUCKETS
    }
    needed = _sum(shortfalls.values())
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
        running = _EXACT.add(running, shortfalls[bucket])
        level = _QUOTIENT.divide(_EXACT.subtract(running, cash), count)
        following = shortfalls[order[count]] if count < len(order) else ZERO
        if level >= following:
            break
    filled = order[:count]
    for bucket in filled:
        amounts[bucket] = _EXACT.subtract(shortfalls[bucket], level)
    amounts[filled[0]] = _EXACT.subtract(
        cash, _sum(amounts[bucket] for bucket in filled[1:])
    )
    return amounts


def _split(
    bucket: str, amount: Decimal, shares: Sequence[tuple[str, Decimal]], candidate: bool
) -> list[Trade]:
    """Split an amount in proportion to shares; the last takes the remainder."""
    whole = _sum(share for _, share in shares)
    trades = []
    given = ZERO
    for asset, share in shares[:-1]:
        part = _QUOTIENT.divide(_EXACT.multiply(amount, share), whole)
        given = _EXACT.add(given, part)
        trades.append(Trade(asset, part, bucket, candidate))
    trades.append(
        Trade(shares[-1][0], _EXACT.subtract(amount, given), bucket, candidate)
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
    after = _EXACT.add(mix.total, cash)
    goals = {
        bucket: _EXACT.divide(_EXACT.multiply(after, weight), HUNDRED)
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
            for asset, value in _asset_values(
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
    resulting = {
        bucket: _percent(_EXACT.add(mix.values[bucket], amounts[bucket]), after)
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


# Risk flags ----------------------------------------------------------------------


@dataclass(frozen=True)
class RiskInput:
    """One holding's risk figures: weight in percent, band, ratio, next unlock."""

    asset: str
    name: str
    weight: Decimal
    liquidity: str | None = None
    dilution_ratio: Decimal | None = None
    next_unlock_date: date | None = None
    next_unlock_amount: Decimal | None = None


@dataclass(frozen=True)
class RiskFlag:
    code: str
    asset: str
    message: str


def _setting(name: str, default: Decimal) -> Decimal:
    # getattr with a default: the risk settings may not be defined yet.
    return Decimal(str(getattr(settings, name, default)))


def _number(value: Decimal) -> str:
    """Return a number for a sentence: thousands separated, at most 2 decimals."""
    text = f"{_EXACT.quantize(value, Decimal('0.01')):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _days(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def risk_flags(holdings: Iterable[RiskInput], today: date) -> list[RiskFlag]:
    """Return the risk flags of each holding, in input order, with a reason each.

    PRODUCT.md, Portfolios: risk flags. ``low_liquidity``: the liquidity band is
    low, so the market cap is unreliable. ``high_dilution``: dilution ratio above
    CAPSITE_RISK_DILUTION_ABOVE (default 2). ``unlock_soon``: the next unlock falls
    from today to CAPSITE_RISK_UNLOCK_DAYS (default 30) days ahead, both included.
    ``concentration``: weight above CAPSITE_RISK_CONCENTRATION_ABOVE percent
    (default 50). A value exactly on a limit is not flagged.
    """
    dilution_above = _setting("CAPSITE_RISK_DILUTION_ABOVE", Decimal(2))
    unlock_days = int(getattr(settings, "CAPSITE_RISK_UNLOCK_DAYS", 30))
    concentration_above = _setting("CAPSITE_RISK_CONCENTRATION_ABOVE", Decimal(50))
    low_below = _setting("CAPSITE_LIQUIDITY_LOW_BELOW", Decimal("0.1"))
    flags = []
    for holding in holdings:
        name = holding.name or holding.asset
        reasons: list[tuple[str, str]] = []
        if holding.liquidity == Liquidity.LOW:
            low = _number(low_below * HUNDRED)
            reasons.append(
                (
                    RiskCode.LOW_LIQUIDITY,
                    f"{name} trades thinly (24 h volume below {low} % of its market "
                    "cap), so its market cap is unreliable.",
                )
            )
        ratio = holding.dilution_ratio
        if ratio is not None and ratio > dilution_above:
            reasons.append(
                (
                    RiskCode.HIGH_DILUTION,
                    f"{name}'s fully diluted valuation is {_number(ratio)} times its "
                    f"market cap, above the limit of {_number(dilution_above)}: many "
                    "tokens are still to come into circulation.",
                )
            )
        when = holding.next_unlock_date
        days = None if when is None else (when - today).days
        if when is not None and days is not None and 0 <= days <= unlock_days:
            amount = holding.next_unlock_amount
            tokens = f"{_number(amount)} {name}" if amount else name
            reasons.append(
                (
                    RiskCode.UNLOCK_SOON,
                    f"{tokens} tokens unlock on {when.isoformat()}, {_days(days)}, "
                    f"within the {unlock_days}-day window.",
                )
            )
        if holding.weight > concentration_above:
            reasons.append(
                (
                    RiskCode.CONCENTRATION,
                    f"{name} is {_number(holding.weight)} % of the portfolio, above "
                    f"the {_number(concentration_above)} % limit.",
                )
            )
        flags += [RiskFlag(code, holding.asset, message) for code, message in reasons]
    return flags
