"""A portfolio's target mix: presets, the sum-to-100 rule, and drift from target.

Pure Decimal rules of PRODUCT.md (Portfolios: target mix, drift); the SQL half
of the sum rule, a CheckConstraint condition, sits beside it. No model import.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import F, Q

from portfolios.wording import plain_number
from valuations.choices import Bucket
from valuations.tiermix import BUCKETS, EXACT, HUNDRED, ZERO, TierMix, total

TARGET_FIELDS = ("large", "mid", "small", "stable")


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
        weight: Decimal = getattr(self, str(bucket))
        return weight

    def weights(self) -> dict[str, Decimal]:
        """Return the target weight of every bucket in BUCKETS order, in percent."""
        return {bucket: self.weight(bucket) for bucket in BUCKETS}


PRESETS: dict[str, Target] = {
    "conservative": Target(Decimal(70), Decimal(20), Decimal(5), Decimal(5)),
    "balanced": Target(Decimal(50), Decimal(30), Decimal(15), Decimal(5)),
    "aggressive": Target(Decimal(30), Decimal(35), Decimal(30), Decimal(5)),
}


def preset_named(target: Target) -> str | None:
    """Return the name of the preset with exactly these weights, or None."""
    for name, preset in PRESETS.items():
        if preset == target:
            return name
    return None


def targets_sum_error(weights: Target) -> str | None:
    """Return why the weights break the sum rule, or None when they add up to 100.

    PRODUCT.md, Portfolios: target mix, weights per tier summing to 100 %.
    """
    added = total(getattr(weights, name) for name in TARGET_FIELDS)
    if added == HUNDRED:
        return None
    return (
        f"Target weights must add up to 100 %; these add up to {plain_number(added)} %."
    )


# SQL half of targets_sum_error, for the Portfolio table's CheckConstraint, and
# the message the database check gives (it cannot name the sum).
TARGETS_SUM_TO_100 = Q(
    target_large=100 - F("target_mid") - F("target_small") - F("target_stable")
)
TARGETS_SUM_MESSAGE = "Target weights must add up to 100 %."


def validate_target(target: Target) -> Target:
    """Return the target unchanged, or raise ValidationError keyed by field.

    Each weight must be a number from 0 to 100, and together they must add up to
    exactly 100 %. A wrong sum belongs to no single field, so it is keyed by
    NON_FIELD_ERRORS.
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
    if not errors and (problem := targets_sum_error(target)):
        errors[NON_FIELD_ERRORS] = problem
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
        gap = EXACT.subtract(mix.weights[bucket], goal)
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
