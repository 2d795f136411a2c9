"""A portfolio's spread across tiers and assets: buckets, weights, concentration.

Pure Decimal maths of PRODUCT.md's Portfolios table (bucket, weight,
diversification score, effective tiers, Herfindahl index, effective holdings).
The portfolios app feeds positions in; nothing here imports a model. The SQL
half of ``bucket_for`` sits beside it. Settings are never read at import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext

from django.db.models import Case, CharField, Value, When

from valuations.choices import Bucket, Tier
from valuations.metrics import tier_case

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
# Sums and products of 40-digit stored values need up to 80 significant digits.
EXACT = Context(prec=100)
# Quotients (weights, splits) rarely terminate; 28 digits keeps them readable.
QUOTIENT = Context(prec=28)
# Score and effective counts are rounded so an even split is exactly 1 (or 3).
_PLACES = Decimal("0.000001")

BUCKETS: tuple[Bucket, ...] = tuple(Bucket)
# The tiers the diversification score spreads across: cash and unknowns excluded.
SCORED: tuple[Bucket, ...] = (Bucket.LARGE, Bucket.MID, Bucket.SMALL)
# Each tier's own bucket (a plain dict: the stored series asks it per asset-day).
_TIER_BUCKETS = {str(tier): Bucket(tier) for tier in Tier}


def bucket_for(tier: str, is_stablecoin: bool) -> Bucket:
    """Return the bucket of an asset: ``stable`` for any stablecoin, else its tier.

    A large-cap stablecoin is cash, not a large-cap risk asset (PRODUCT.md,
    Portfolios: bucket). Unranked assets keep their own bucket.
    """
    if is_stablecoin:
        return Bucket.STABLE
    try:
        return _TIER_BUCKETS[tier]
    except KeyError:
        raise ValueError(f"Unknown tier {tier!r}.") from None


def bucket_case(cap: str, stable: str) -> Case:
    """SQL half of ``bucket_for``: ``stable`` when column ``stable`` is true, else
    the tier of the market cap in column ``cap``."""
    return Case(
        When(**{stable: True}, then=Value(str(Bucket.STABLE))),
        default=tier_case(cap),
        output_field=CharField(),
    )


def total(values: Iterable[Decimal]) -> Decimal:
    """Return the exact sum of USD values (no rounding at 28 digits)."""
    with localcontext(EXACT):
        return sum(values, ZERO)


def weight(part: Decimal, whole: Decimal) -> Decimal:
    """Return part ÷ whole as a percentage 0–100 (PRODUCT.md, Portfolios: weight).

    0 when either is 0: a portfolio worth nothing has every weight 0.
    """
    if whole == 0 or part == 0:
        return ZERO
    return QUOTIENT.divide(EXACT.multiply(part, HUNDRED), whole)


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


@dataclass(frozen=True)
class TierMix:
    """USD value and weight (percent 0–100) of every bucket, in BUCKETS order."""

    total: Decimal
    values: dict[str, Decimal]
    weights: dict[str, Decimal]


def bucket_weights(values: dict[str, Decimal]) -> TierMix:
    """Return the mix of USD values already summed per bucket."""
    whole = total(values.values())
    return TierMix(
        total=whole,
        values=values,
        weights={bucket: weight(value, whole) for bucket, value in values.items()},
    )


def tier_mix(positions: Iterable[Position]) -> TierMix:
    """Return the value (USD) and weight (percent 0–100) of each of the five buckets.

    Every bucket is present, zero when empty; unranked is shown, not dropped.
    """
    values: dict[str, Decimal] = dict.fromkeys(BUCKETS, ZERO)
    for position in positions:
        values[position.bucket] = EXACT.add(values[position.bucket], position.value)
    return bucket_weights(values)


def _quantize(value: Decimal) -> Decimal:
    return EXACT.quantize(value, _PLACES)


def _shares(values: Sequence[Decimal]) -> list[Decimal] | None:
    """Return the positive values renormalised to sum to 1; None when all are 0."""
    whole = total(values)
    if whole <= 0:
        return None
    return [EXACT.divide(value, whole) for value in values if value > 0]


def diversification_score(tier_values: Sequence[Decimal]) -> Decimal | None:
    """Return −Σ pᵢ ln pᵢ ÷ ln 3 over the large, mid and small values.

    The values are renormalised to sum to 1; 0 = one tier, 1 = evenly spread
    (PRODUCT.md, Portfolios: diversification score). None when they hold
    nothing. Rounded to 6 decimal places.
    """
    shares = _shares(tier_values)
    if shares is None:
        return None
    with localcontext(EXACT):
        # ZERO minus the sum keeps a single tier's entropy at 0 rather than -0.
        entropy = ZERO - sum((share * share.ln() for share in shares), ZERO)
        return _quantize(entropy / Decimal(len(SCORED)).ln())


def effective_tiers(tier_values: Sequence[Decimal]) -> Decimal | None:
    """Return 1 ÷ Σ pᵢ² over the same renormalised tier weights (6 places)."""
    shares = _shares(tier_values)
    if shares is None:
        return None
    with localcontext(EXACT):
        return _quantize(ONE / sum((share * share for share in shares), ZERO))


def herfindahl_index(values: Iterable[Decimal]) -> Decimal | None:
    """Return Σ wⱼ² over every holding's weight as a fraction (0–1], unrounded.

    1 = a single holding (PRODUCT.md, Portfolios: HHI). None when worth nothing.
    """
    values = list(values)
    whole = total(values)
    if whole <= 0:
        return None
    with localcontext(EXACT):
        return sum((value * value for value in values), ZERO) / (whole * whole)


def effective_holdings(hhi: Decimal | None) -> Decimal | None:
    """Return 1 ÷ HHI, the number of equal holdings with the same concentration.

    Rounded to 6 places, so four equal holdings are exactly 4.
    """
    if hhi is None or hhi == 0:
        return None
    return _quantize(EXACT.divide(ONE, hhi))


def asset_values(positions: Iterable[Position]) -> dict[str, Decimal]:
    """Return USD value per asset slug, largest first; repeated assets are added."""
    values: dict[str, Decimal] = {}
    for position in positions:
        values[position.asset] = EXACT.add(
            values.get(position.asset, ZERO), position.value
        )
    return dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class Diversification:
    """Spread across tiers (score, effective tiers) and across assets (the rest)."""

    score: Decimal | None
    effective_tiers: Decimal | None
    largest_asset: str | None
    largest_weight: Decimal | None
    hhi: Decimal | None
    effective_holdings: Decimal | None


def diversification(positions: Iterable[Position]) -> Diversification:
    """Return the diversification figures of PRODUCT.md's Portfolios table.

    Across tiers: ``diversification_score`` and ``effective_tiers``. Across
    assets: ``largest_weight`` in percent 0–100, ``herfindahl_index`` and
    ``effective_holdings``; all None when the portfolio is worth nothing.
    """
    positions = list(positions)
    mix = tier_mix(positions)
    tier_values = [mix.values[bucket] for bucket in SCORED]
    score, spread = diversification_score(tier_values), effective_tiers(tier_values)
    values = asset_values(positions)
    hhi = herfindahl_index(values.values())
    if hhi is None:
        return Diversification(score, spread, None, None, None, None)
    largest_asset, largest_value = next(iter(values.items()))
    return Diversification(
        score=score,
        effective_tiers=spread,
        largest_asset=largest_asset,
        largest_weight=weight(largest_value, total(values.values())),
        hhi=_quantize(hhi),
        effective_holdings=effective_holdings(hhi),
    )
