"""Choices shared by models, pure metrics and portfolios; loads no Django model."""

from __future__ import annotations

from django.db.models import TextChoices


class Tier(TextChoices):
    LARGE = "large", "Large cap"
    MID = "mid", "Mid cap"
    SMALL = "small", "Small cap"
    UNRANKED = "unranked", "Unranked"


class Liquidity(TextChoices):
    """Turnover band of 24 h volume ÷ market cap: shown, never alarming."""

    HIGH = "high", "High"
    HEALTHY = "healthy", "Healthy"
    LOW = "low", "Low"


class FdvBasis(TextChoices):
    MAX_SUPPLY = "max_supply", "Max supply"
    TOTAL_SUPPLY = "total_supply", "Total supply"


class Bucket(TextChoices):
    """A portfolio bucket: an asset's tier, or ``stable`` for any stablecoin."""

    LARGE = "large", "Large cap"
    MID = "mid", "Mid cap"
    SMALL = "small", "Small cap"
    STABLE = "stable", "Stablecoins"
    UNRANKED = "unranked", "Unranked"


class QualityFlag(TextChoices):
    """Where a provider's data disagrees with itself (PRODUCT.md, data quality)."""

    CAP_MISMATCH = "cap_mismatch", "Provider's cap differs"
    SUPPLY_ABOVE_MAX = "supply_above_max", "Circulating above max"
    SUPPLY_UNKNOWN = "supply_unknown", "Supply unknown"
    NO_VOLUME = "no_volume", "No volume"
    STALE = "stale", "Stale"
