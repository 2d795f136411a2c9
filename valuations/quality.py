"""Data quality (PRODUCT.md): where a provider's data disagrees with itself.

Each flag's rule is one function; ``quality_flags`` gives the flags stored
with an asset when its data is written, ``served_flags`` adds ``stale`` when
read, ``flag_condition`` is the SQL half that filters by a flag, and ``notes``
says in words, with both values, why an asset carries each one. Thresholds are
read when called, like every rule in valuations.metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from valuations.choices import QualityFlag
from valuations.metrics import _EXACT, is_stale, market_cap


def cap_mismatch(provider_cap: Decimal | None, cap: Decimal | None) -> bool:
    """Return whether a provider's published cap disagrees with price × circulating.

    More than ``CAPSITE_CAP_TOLERANCE`` (default 2 %) of capsite's cap apart. A
    published cap of 0 or none means the provider does not know it: no mismatch.
    A positive published cap beside no cap of capsite's own is a mismatch.
    """
    if provider_cap is None or provider_cap <= 0:
        return False
    if cap is None or cap <= 0:
        return True
    return _EXACT.subtract(provider_cap, cap).copy_abs() > _EXACT.multiply(
        cap, settings.CAPSITE_CAP_TOLERANCE
    )


def supply_above_max(
    circulating_supply: Decimal | None,
    max_supply: Decimal | None,
    total_supply: Decimal | None,
) -> bool:
    """Return whether circulating supply exceeds the max or the total supply by
    more than ``CAPSITE_SUPPLY_TOLERANCE`` (default 0.01 %).

    Less is a rounding leftover or supplies sampled moments apart (0.19 FLOW
    above 1.48 billion): accepted silently.
    """
    if circulating_supply is None:
        return False
    allowance = 1 + settings.CAPSITE_SUPPLY_TOLERANCE
    return any(
        ceiling is not None and circulating_supply > _EXACT.multiply(ceiling, allowance)
        for ceiling in (max_supply, total_supply)
    )


def is_supply_unknown(
    circulating_supply: Decimal | None, supply: Decimal | None
) -> bool:
    """Return whether a published max or total supply of 0 means "unknown".

    Zero beside a positive circulating supply cannot be a real ceiling: it is
    read as unknown (stored as null) and flagged ``supply_unknown``.
    """
    return supply == 0 and circulating_supply is not None and circulating_supply > 0


def quality_flags(
    *,
    price: Decimal | None,
    circulating_supply: Decimal | None,
    total_supply: Decimal | None,
    max_supply: Decimal | None,
    volume_24h: Decimal | None,
    provider_market_cap: Decimal | None,
    supply_unknown: bool = False,
) -> list[str]:
    """Return the stored data-quality flags of one asset's data, in table order.

    ``stale`` depends on the clock, so it is added when read (``is_stale``);
    ``supply_unknown`` is known only to the importer that read the zeros.
    """
    flags = []
    if cap_mismatch(provider_market_cap, market_cap(price, circulating_supply)):
        flags.append(QualityFlag.CAP_MISMATCH)
    if supply_above_max(circulating_supply, max_supply, total_supply):
        flags.append(QualityFlag.SUPPLY_ABOVE_MAX)
    if supply_unknown:
        flags.append(QualityFlag.SUPPLY_UNKNOWN)
    if volume_24h is None or volume_24h == 0:
        flags.append(QualityFlag.NO_VOLUME)
    return [str(flag) for flag in flags]


def served_flags(
    stored: str, last_updated: datetime | None, now: datetime
) -> list[str]:
    """Return an asset's flags as served: the stored ones, and ``stale`` if it is."""
    flags = stored.split()
    if is_stale(last_updated, now):
        flags.append(QualityFlag.STALE)
    return flags


def flag_condition(flag: str, now: datetime) -> Q | None:
    """SQL half of ``served_flags``: assets carrying ``flag``; None if no such flag."""
    if flag == QualityFlag.STALE:
        cutoff = now - timedelta(seconds=settings.CAPSITE_STALE_AFTER)
        return Q(last_updated__isnull=True) | Q(last_updated__lt=cutoff)
    if flag in QualityFlag.values:
        # No flag's name is part of another's, so a substring match is exact.
        return Q(quality_flags__contains=flag)
    return None


@dataclass(frozen=True)
class Note:
    flag: str
    label: str
    detail: str


def _usd(value: Decimal) -> str:
    return f"${value:,.0f}"


def _supply(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def notes(
    *,
    flags: list[str],
    price: Decimal | None,
    circulating_supply: Decimal | None,
    total_supply: Decimal | None,
    max_supply: Decimal | None,
    provider_market_cap: Decimal | None,
    last_updated: datetime | None,
) -> list[Note]:
    """Why each served flag holds, in words, with the values that disagree."""
    found = []
    for flag in flags:
        detail = ""
        if flag == QualityFlag.CAP_MISMATCH and provider_market_cap is not None:
            cap = market_cap(price, circulating_supply)
            if cap:
                gap = (provider_market_cap - cap) / cap * 100
                detail = (
                    f"The provider publishes a market cap of {_usd(provider_market_cap)}; "
                    f"price × circulating supply is {_usd(cap)} ({gap:+.1f} %). "
                    "capsite uses its own figure for tiers and ranks."
                )
            else:
                detail = (
                    f"The provider publishes a market cap of {_usd(provider_market_cap)} "
                    "but no circulating supply and price that give one."
                )
        elif flag == QualityFlag.SUPPLY_ABOVE_MAX and circulating_supply is not None:
            ceilings = [
                f"{label} supply {_supply(ceiling)}"
                for label, ceiling in (("max", max_supply), ("total", total_supply))
                if ceiling is not None and circulating_supply > ceiling
            ]
            detail = (
                f"Circulating supply {_supply(circulating_supply)} is above the "
                f"{' and the '.join(ceilings)}: more than rounding."
            )
        elif flag == QualityFlag.SUPPLY_UNKNOWN:
            detail = (
                "The provider reported a max or total supply of 0 beside a positive "
                "circulating supply: read as unknown, not as zero."
            )
        elif flag == QualityFlag.NO_VOLUME:
            detail = "No 24 h trading volume is reported."
        elif flag == QualityFlag.STALE:
            when = f"{last_updated:%Y-%m-%d %H:%M} UTC" if last_updated else "never"
            detail = f"Last updated {when}."
        found.append(Note(flag, QualityFlag(flag).label, detail))
    return found


# Below this, a provider's figure and capsite's are the same for a reader.
SHOWN_DIFFERENCE = Decimal("0.005")


@dataclass(frozen=True)
class ProviderFigure:
    value: Decimal | int
    gap: Decimal | None  # (provider − capsite) ÷ capsite, as a percentage


def _differs(ours: Decimal | None, theirs: Decimal | None) -> ProviderFigure | None:
    if theirs is None or theirs <= 0:
        return None
    if not ours:
        return ProviderFigure(theirs, None)
    gap = (theirs - ours) / ours
    return ProviderFigure(theirs, gap * 100) if abs(gap) > SHOWN_DIFFERENCE else None


def provider_differences(
    *,
    market_cap: Decimal | None,
    fdv: Decimal | None,
    rank: int | None,
    provider_market_cap: Decimal | None,
    provider_fdv: Decimal | None,
    provider_rank: int | None,
) -> dict[str, ProviderFigure | None]:
    """The provider's published figures that differ from capsite's (by more than
    0.5 % for amounts; any other rank), to show beside them; None where they agree."""
    return {
        "market_cap": _differs(market_cap, provider_market_cap),
        "fdv": _differs(fdv, provider_fdv),
        "rank": (
            ProviderFigure(provider_rank, None)
            if provider_rank and provider_rank != rank
            else None
        ),
    }
