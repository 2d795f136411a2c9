"""Risk flags of a portfolio's holdings, each with the reason in a sentence.

PRODUCT.md, Portfolios: risk flags. Pure rules; limits are settings read when
called. No model import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import TextChoices

from portfolios.wording import in_days, plain_number
from valuations import metrics

HUNDRED = Decimal(100)


class RiskCode(TextChoices):
    THIN_MARKET = "thin_market", "Thin market"
    HIGH_DILUTION = "high_dilution", "High dilution"
    UNLOCK_SOON = "unlock_soon", "Unlock soon"
    CONCENTRATION = "concentration", "Concentration"


@dataclass(frozen=True)
class RiskInput:
    """One holding's risk figures: weight in percent, band, ratio, next unlock."""

    asset: str
    name: str
    weight: Decimal
    volume_24h: Decimal | None = None
    market_cap: Decimal | None = None
    dilution_ratio: Decimal | None = None
    next_unlock_date: date | None = None
    next_unlock_amount: Decimal | None = None


@dataclass(frozen=True)
class RiskFlag:
    code: str
    asset: str
    message: str


def risk_flags(holdings: Iterable[RiskInput], today: date) -> list[RiskFlag]:
    """Return the risk flags of each holding, in input order, with a reason each.

    PRODUCT.md, Portfolios: risk flags. ``thin_market``: the asset trades too
    thinly for its market cap to be trusted (metrics.is_thin_market). ``high_dilution``: dilution ratio above
    CAPSITE_RISK_DILUTION_ABOVE (default 2). ``unlock_soon``: the next unlock falls
    from today to CAPSITE_RISK_UNLOCK_DAYS (default 30) days ahead, both included.
    ``concentration``: weight above CAPSITE_RISK_CONCENTRATION_ABOVE percent
    (default 50). A value exactly on a limit is not flagged.
    """
    # The defaults live in settings.py alone (CAPSITE_RISK_*).
    dilution_above: Decimal = settings.CAPSITE_RISK_DILUTION_ABOVE
    unlock_days: int = settings.CAPSITE_RISK_UNLOCK_DAYS
    concentration_above: Decimal = settings.CAPSITE_RISK_CONCENTRATION_ABOVE
    flags = []
    for holding in holdings:
        name = holding.name or holding.asset
        reasons: list[tuple[str, str]] = []
        thin = metrics.thin_market_reason(holding.volume_24h, holding.market_cap)
        if thin:
            reasons.append(
                (
                    RiskCode.THIN_MARKET,
                    f"{name} trades thinly ({thin}), so its market cap is unreliable.",
                )
            )
        ratio = holding.dilution_ratio
        if ratio is not None and ratio > dilution_above:
            reasons.append(
                (
                    RiskCode.HIGH_DILUTION,
                    f"{name}'s fully diluted valuation is {plain_number(ratio)} times its "
                    f"market cap, above the limit of {plain_number(dilution_above)}: many "
                    "tokens are still to come into circulation.",
                )
            )
        when = holding.next_unlock_date
        days = None if when is None else (when - today).days
        if when is not None and days is not None and 0 <= days <= unlock_days:
            amount = holding.next_unlock_amount
            tokens = f"{plain_number(amount)} {name}" if amount else name
            reasons.append(
                (
                    RiskCode.UNLOCK_SOON,
                    f"{tokens} tokens unlock on {when.isoformat()}, {in_days(days)}, "
                    f"within the {unlock_days}-day window.",
                )
            )
        if holding.weight > concentration_above:
            reasons.append(
                (
                    RiskCode.CONCENTRATION,
                    f"{name} is {plain_number(holding.weight)} % of the portfolio, above "
                    f"the {plain_number(concentration_above)} % limit.",
                )
            )
        flags += [RiskFlag(code, holding.asset, message) for code, message in reasons]
    return flags
