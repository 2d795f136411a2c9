"""Every market rule of PRODUCT.md, each in one function named after it.

Pure Decimal functions, and beside each rule the database must also apply
(tiers, ranking, the total market cap, circulating within max) its SQL half as
a query expression, so the two are read, changed and tested together. No model
is imported and no setting is read at import time: thresholds are read when
called, so tests can change them with pytest-django's ``settings`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, Context, Decimal, localcontext
from typing import NamedTuple

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    F,
    FloatField,
    Func,
    OrderBy,
    Q,
    Sum,
    Value,
    When,
)

from valuations.choices import FdvBasis, Liquidity, Tier

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Products and sums of 40-digit stored values need up to 80 significant digits;
# the default 28-digit context would round them (a wei on a 10^15 supply).
_EXACT = Context(prec=100)


class Fdv(NamedTuple):
    value: Decimal | None
    basis: str | None  # FdvBasis value, or None when neither supply is known


class NextTier(NamedTuple):
    tier: str
    price: Decimal


@dataclass(frozen=True)
class UnlockProjection:
    date: date
    amount: Decimal
    circulating_supply: Decimal
    market_cap: Decimal | None
    tier: str


def market_cap(
    price: Decimal | None, circulating_supply: Decimal | None
) -> Decimal | None:
    """Return price × circulating supply in USD, or None when either is unknown."""
    if price is None or circulating_supply is None:
        return None
    return _EXACT.multiply(price, circulating_supply)


def fully_diluted_valuation(
    price: Decimal | None, max_supply: Decimal | None, total_supply: Decimal | None
) -> Fdv:
    """Return FDV in USD and its basis: price × max supply, else × total supply.

    With neither supply known (or no price) the FDV is unknown: ``Fdv(None, None)``.
    """
    if price is None:
        return Fdv(None, None)
    if max_supply is not None:
        return Fdv(_EXACT.multiply(price, max_supply), FdvBasis.MAX_SUPPLY)
    if total_supply is not None:
        return Fdv(_EXACT.multiply(price, total_supply), FdvBasis.TOTAL_SUPPLY)
    return Fdv(None, None)


def _ratio(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def dilution_ratio(fdv: Decimal | None, cap: Decimal | None) -> Decimal | None:
    """Return FDV ÷ market cap; above 1 means tokens still to enter circulation."""
    return _ratio(fdv, cap)


def circulating_share(
    circulating_supply: Decimal | None,
    max_supply: Decimal | None,
    total_supply: Decimal | None,
) -> Decimal | None:
    """Return circulating ÷ max supply (÷ total supply without a max), as a fraction."""
    return _ratio(
        circulating_supply, max_supply if max_supply is not None else total_supply
    )


def volume_to_market_cap(
    volume_24h: Decimal | None, cap: Decimal | None
) -> Decimal | None:
    """Return 24 h volume ÷ market cap, or None without volume or a positive cap."""
    if cap is not None and cap <= 0:
        return None
    return _ratio(volume_24h, cap)


def turnover_band(ratio: Decimal | None) -> str | None:
    """Return the turnover (liquidity) band of a volume ÷ market cap ratio.

    ``high`` above 1.0, ``healthy`` from 0.1 to 1.0 inclusive, ``low`` below 0.1
    (PRODUCT.md: volume-to-market-cap). The band describes turnover; it is shown,
    never alarming.
    """
    if ratio is None:
        return None
    if ratio > settings.CAPSITE_LIQUIDITY_HIGH_ABOVE:
        return Liquidity.HIGH
    if ratio < settings.CAPSITE_LIQUIDITY_LOW_BELOW:
        return Liquidity.LOW
    return Liquidity.HEALTHY


def is_thin_market(volume_24h: Decimal | None, cap: Decimal | None) -> bool:
    """Return whether an asset trades too thinly for its market cap to be trusted.

    Thin (PRODUCT.md, the thin-market warning): 24 h volume unknown or zero,
    below ``CAPSITE_THIN_MIN_VOLUME`` (default $100,000), or below
    ``CAPSITE_THIN_MIN_TURNOVER`` (default 0.2 %) of a known market cap. Unlike
    the turnover band, this is an alarm: Bitcoin's 2 % turnover is not thin.
    """
    if volume_24h is None or volume_24h <= 0:
        return True
    if volume_24h < settings.CAPSITE_THIN_MIN_VOLUME:
        return True
    if cap is None or cap <= 0:
        return False  # no cap to compare with: the volume alone decides
    return bool(volume_24h < cap * settings.CAPSITE_THIN_MIN_TURNOVER)


def thin_market_reason(volume_24h: Decimal | None, cap: Decimal | None) -> str | None:
    """Why ``is_thin_market`` holds, in words for a page or a risk flag; None if not."""
    if not is_thin_market(volume_24h, cap):
        return None
    if volume_24h is None or volume_24h <= 0:
        return "no 24 h trading volume is reported"
    minimum = settings.CAPSITE_THIN_MIN_VOLUME
    if volume_24h < minimum:
        return f"24 h volume of ${volume_24h:,.0f} is below ${minimum:,.0f}"
    share = settings.CAPSITE_THIN_MIN_TURNOVER * 100
    return f"24 h volume is below {share.normalize():f} % of the market cap"


def thin_market_condition(volume: str = "volume_24h", cap: str = "market_cap") -> Q:
    """SQL half of ``is_thin_market``: compared as products, never divided."""
    return (
        Q(**{f"{volume}__isnull": True})
        | Q(**{f"{volume}__lte": 0})
        | Q(**{f"{volume}__lt": settings.CAPSITE_THIN_MIN_VOLUME})
        | Q(
            **{
                f"{cap}__gt": 0,
                f"{volume}__lt": F(cap) * settings.CAPSITE_THIN_MIN_TURNOVER,
            }
        )
    )


def turnover_band_case(volume: str = "volume_24h", cap: str = "market_cap") -> Case:
    """SQL half of ``turnover_band(volume_to_market_cap(volume, cap))``.

    Compared as products (volume > 1.0 × cap), not quotients, so the database
    never divides; unknown volume or a cap that is not positive has no band.
    """
    high = settings.CAPSITE_LIQUIDITY_HIGH_ABOVE
    low = settings.CAPSITE_LIQUIDITY_LOW_BELOW
    known = Q(**{f"{cap}__gt": 0, f"{volume}__isnull": False})
    return Case(
        When(known & Q(**{f"{volume}__gt": F(cap) * high}), then=Value(Liquidity.HIGH)),
        When(known & Q(**{f"{volume}__lt": F(cap) * low}), then=Value(Liquidity.LOW)),
        When(known, then=Value(Liquidity.HEALTHY)),
        default=None,
        output_field=CharField(null=True),
    )


def tier_for(cap: Decimal | None) -> str:
    """Return the tier of a market cap.

    ``large`` ≥ $10B, ``mid`` ≥ $1B, ``small`` > 0; unknown or zero is
    ``unranked``. A cap exactly on a boundary belongs to the upper tier.
    """
    if cap is None or cap <= 0:
        return Tier.UNRANKED
    if cap >= settings.CAPSITE_TIER_LARGE_MIN:
        return Tier.LARGE
    if cap >= settings.CAPSITE_TIER_MID_MIN:
        return Tier.MID
    return Tier.SMALL


def tier_conditions(cap: str = "market_cap") -> dict[Tier, Q]:
    """SQL half of ``tier_for``: the condition on column ``cap`` for each tier.

    The boundary belongs to the upper tier; unknown or zero is unranked.
    """
    large, mid = settings.CAPSITE_TIER_LARGE_MIN, settings.CAPSITE_TIER_MID_MIN
    return {
        Tier.LARGE: Q(**{f"{cap}__gte": large}),
        Tier.MID: Q(**{f"{cap}__gte": mid, f"{cap}__lt": large}),
        Tier.SMALL: Q(**{f"{cap}__gt": 0, f"{cap}__lt": mid}),
        Tier.UNRANKED: Q(**{f"{cap}__isnull": True}) | Q(**{f"{cap}__lte": 0}),
    }


def tier_case(cap: str = "market_cap") -> Case:
    """SQL half of ``tier_for``: an expression giving the tier of column ``cap``."""
    return Case(
        *(
            When(condition, then=Value(str(tier)))
            for tier, condition in tier_conditions(cap).items()
        ),
        output_field=CharField(),
    )


def is_ranked(cap: Decimal | None) -> bool:
    """Return whether an asset with this market cap gets a rank: known and above 0."""
    return cap is not None and cap > 0


def ranked_condition(cap: str = "market_cap") -> Q:
    """SQL half of ``is_ranked`` on the market cap in column ``cap``."""
    return Q(**{f"{cap}__gt": 0})


RANKED = ranked_condition()


def rank_key(cap: Decimal | None, slug: str) -> tuple[bool, Decimal, str]:
    """Return the sort key of the rank order: cap descending, then the slug.

    PRODUCT.md, rank: position by market cap, descending, ties broken by a stable
    key (the provider id); unknown caps sort last.
    """
    return (cap is None, -(cap if cap is not None else ZERO), slug)


class ExactOrder(Func):
    """A stored product as the database should compare it when sorting.

    PostgreSQL keeps NUMERIC products exact, so this is the column itself.
    SQLite computes a generated product in binary floating point, where
    0.1 × 3 and 0.3 × 1 differ in the 17th digit though both caps are 0.3: there
    it is rounded to the 15 significant digits SQLite keeps, so equal caps tie
    and the slug decides (PRODUCT.md, rank). Deterministic, so SQLite can index it.
    """

    template = "%(expressions)s"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):  # type: ignore[no-untyped-def]
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CASE WHEN {sql} IS NULL THEN NULL "
            f"ELSE CAST(printf('%%.15g', {sql}) AS REAL) END)",
            [*params, *params],
        )


def cap_order(cap: str = "market_cap") -> ExactOrder:
    """The sort key of market cap column ``cap``: equal caps compare equal."""
    return ExactOrder(F(cap))


# SQL half of rank_key.
RANK_ORDER: tuple[OrderBy, OrderBy] = (
    cap_order().desc(nulls_last=True),
    F("slug").asc(),
)


# Prices are stored and served to 18 decimal places (valuations.fields).
PRICE_QUANTUM = Decimal("1e-18")


def next_tier(
    price: Decimal | None, circulating_supply: Decimal | None
) -> NextTier | None:
    """Return the next tier up and the USD price at which the asset reaches it.

    The price is the tier's lower boundary ÷ circulating supply (the boundary
    belongs to the upper tier). None for large caps and for unranked assets,
    which have no circulating supply to divide by.
    """
    cap = market_cap(price, circulating_supply)
    tier = tier_for(cap)
    if tier in (Tier.LARGE, Tier.UNRANKED) or not circulating_supply:
        return None
    if tier == Tier.MID:
        upper, boundary = Tier.LARGE, settings.CAPSITE_TIER_LARGE_MIN
    else:
        upper, boundary = Tier.MID, settings.CAPSITE_TIER_MID_MIN
    # Round up, to the 18 places a price is stored and served with: a price
    # rounded down leaves the cap a hair below the boundary.
    with localcontext(rounding=ROUND_CEILING, prec=60):
        return NextTier(upper, (boundary / circulating_supply).quantize(PRICE_QUANTUM))


def total_market_cap(caps: Iterable[Decimal | None]) -> Decimal:
    """Return the sum of the market caps of ranked assets (unknown and zero skipped)."""
    with localcontext(_EXACT):
        return sum((cap for cap in caps if cap is not None and is_ranked(cap)), ZERO)


def total_market_cap_sum(cap: str = "market_cap", filter_q: Q | None = None) -> Sum:
    """SQL half of ``total_market_cap``: the aggregate over ranked assets' caps.

    ``filter_q`` narrows it further (one tier, one asset).
    """
    condition = ranked_condition(cap)
    return Sum(cap, filter=condition & filter_q if filter_q is not None else condition)


def altcoin_market_cap(total: Decimal, bitcoin_cap: Decimal | None) -> Decimal:
    """Return the total market cap minus Bitcoin's."""
    return _EXACT.subtract(total, bitcoin_cap or ZERO)


def dominance(cap: Decimal | None, total: Decimal | None) -> Decimal | None:
    """Return an asset's market cap ÷ the total market cap, as a fraction."""
    if cap is None or cap <= 0:
        return None
    return _ratio(cap, total)


def top_dominance(
    top: Iterable[tuple[str, Decimal]], total: Decimal
) -> list[tuple[str, Decimal | None]]:
    """Return (symbol, dominance) of each of the largest assets, then ``others``.

    ``others`` is the total minus the listed caps: everything outside the top.
    """
    top = list(top)
    others = _EXACT.subtract(total, total_market_cap(cap for _, cap in top))
    shares = [(symbol, dominance(cap, total)) for symbol, cap in top]
    return [*shares, ("others", dominance(others, total))]


def circulating_within_max(
    circulating_supply: Decimal | None, max_supply: Decimal | None
) -> bool:
    """Return whether circulating supply is at most the max supply (or either unknown).

    The calculator asks this of what a person types. Provider data above its
    max is accepted and flagged instead (``supply_above_max``).
    """
    if circulating_supply is None or max_supply is None:
        return True
    return circulating_supply <= max_supply


# Bitcoin's genesis block: nothing in crypto is older.
EARLIEST = datetime(2009, 1, 3, tzinfo=UTC)


def time_problem(when: datetime, now: datetime) -> str | None:
    """Return why a time cannot be a real market or ledger time, or None.

    Later than now plus ``CAPSITE_CLOCK_SKEW`` seconds is in the future;
    before Bitcoin's first block (3 January 2009) nothing was traded.
    """
    if when > now + timedelta(seconds=settings.CAPSITE_CLOCK_SKEW):
        return f"in the future (it is now {now:%Y-%m-%d %H:%M} UTC)"
    if when < EARLIEST:
        return f"before {EARLIEST:%Y-%m-%d}"
    return None


def is_stale(last_updated: datetime | None, now: datetime) -> bool:
    """Return whether market data last updated then is too old to trust as current.

    Older than CAPSITE_STALE_AFTER seconds (default one hour) is stale; data with
    no update time at all is stale too.
    """
    if last_updated is None:
        return True
    return (now - last_updated).total_seconds() > settings.CAPSITE_STALE_AFTER


def percent(fraction: Decimal | None) -> Decimal | None:
    """Return a fraction as a percentage (0.4884 → 48.84)."""
    return None if fraction is None else fraction * HUNDRED


def project_unlocks(
    price: Decimal | None,
    circulating_supply: Decimal | None,
    unlocks: Iterable[tuple[date, Decimal]],
) -> list[UnlockProjection]:
    """Return circulating supply, cap at today's price and tier after each unlock.

    Unlocks are applied cumulatively in date order to the current circulating supply.
    """
    circulating = circulating_supply or ZERO
    projections = []
    for when, amount in sorted(unlocks):
        circulating = _EXACT.add(circulating, amount)
        cap = market_cap(price, circulating)
        projections.append(
            UnlockProjection(when, amount, circulating, cap, tier_for(cap))
        )
    return projections


@dataclass(frozen=True)
class AssetFigures:
    """Every valuation metric of one asset, as pages and the API show them."""

    market_cap: Decimal | None
    tier: str
    fully_diluted_valuation: Decimal | None
    fdv_basis: str | None
    dilution_ratio: Decimal | None
    circulating_share: Decimal | None
    volume_to_market_cap: Decimal | None
    liquidity: str | None  # the turnover band: a neutral label
    thin_market: bool  # the alarm: volume too thin to trust the cap
    dominance: Decimal | None
    next_tier: NextTier | None

    @property
    def dominance_percent(self) -> Decimal | None:
        return percent(self.dominance)

    @property
    def circulating_share_percent(self) -> Decimal | None:
        return percent(self.circulating_share)


def asset_figures(
    *,
    price: Decimal | None,
    circulating_supply: Decimal | None,
    total_supply: Decimal | None,
    max_supply: Decimal | None,
    volume_24h: Decimal | None,
    total_market_cap: Decimal | None,
) -> AssetFigures:
    """Return all of an asset's metrics from its price, supplies and volume."""
    cap = market_cap(price, circulating_supply)
    fdv = fully_diluted_valuation(price, max_supply, total_supply)
    turnover = volume_to_market_cap(volume_24h, cap)
    return AssetFigures(
        market_cap=cap,
        tier=tier_for(cap),
        fully_diluted_valuation=fdv.value,
        fdv_basis=fdv.basis,
        dilution_ratio=dilution_ratio(fdv.value, cap),
        circulating_share=circulating_share(
            circulating_supply, max_supply, total_supply
        ),
        volume_to_market_cap=turnover,
        liquidity=turnover_band(turnover),
        thin_market=is_thin_market(volume_24h, cap),
        dominance=dominance(cap, total_market_cap),
        next_tier=next_tier(price, circulating_supply),
    )
