"""Evaluate a portfolio's alerts: drift out of band, tier changes, unlocks ahead.

Each alert fires once per event: an AlertState row per (portfolio, kind,
subject) remembers what the last evaluation saw, and an alert fires only when
its condition goes from absent to present. A portfolio costs the same fixed
number of queries whatever its number of holdings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts import delivery
from alerts.models import AlertSettings, AlertState, Kind, Notification
from portfolios.analysis import Analysis, analyse
from portfolios.models import Holding, Portfolio
from portfolios.targets import BucketDrift
from portfolios.wording import in_days, plain_number
from valuations.choices import Bucket, Tier
from valuations.models import SupplyUnlock
from valuations.templatetags.capsite_format import price as price_text
from valuations.templatetags.capsite_format import usd
from valuations.tiermix import weight

logger = logging.getLogger(__name__)

# Portfolios read per round trip by evaluate_all.
BATCH = 500
_EXACT = Context(prec=100, rounding=ROUND_HALF_UP)
_TENTH = Decimal("0.1")
_TITLE_LENGTH = 500  # Notification.title


def evaluate_all(*, today: date | None = None) -> int:
    """Evaluate every portfolio that holds anything, of users with an alert on.

    Portfolios are read in batches of ids; each is evaluated in its own
    transaction, and one that fails is logged and skipped, so it cannot stop
    the others. Returns how many portfolios were evaluated.
    """
    # A user without a settings row has the defaults: every kind on.
    wanted = (
        Q(owner__alert_settings__isnull=True)
        | Q(owner__alert_settings__drift=True)
        | Q(owner__alert_settings__tier_change=True)
        | Q(owner__alert_settings__unlock=True)
    )
    holds = Holding.objects.filter(portfolio=OuterRef("pk"), quantity__gt=0)
    ids = (
        Portfolio.objects.filter(wanted, Exists(holds))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    evaluated = 0
    for pk in ids.iterator(chunk_size=BATCH):
        try:
            evaluate_portfolio(pk, today=today)
        except Exception:
            logger.exception("alerts of portfolio %s failed", pk)
            continue
        evaluated += 1
    return evaluated


def evaluate_portfolio(
    portfolio_id: int, *, today: date | None = None
) -> list[Notification]:
    """Fire the portfolio's alerts whose condition newly holds; deliver them.

    Returns the notifications made (none for a missing portfolio). States and
    notifications are written in one transaction that holds the portfolio's
    row lock, so two evaluations of one portfolio cannot both fire an event;
    delivery (email, webhook) runs after it, outside the lock.
    """
    now = timezone.now()
    today = today or now.date()
    with transaction.atomic():
        portfolio = (
            Portfolio.objects.select_for_update(of=("self",))
            .select_related("owner", "owner__alert_settings")
            .filter(pk=portfolio_id)
            .first()
        )
        if portfolio is None:
            return []
        prefs = _prefs(portfolio)
        if not prefs.any_enabled:
            return []
        run = _Run(
            portfolio=portfolio,
            now=now,
            states={(s.kind, s.subject): s for s in portfolio.alert_states.all()},
        )
        if prefs.drift or prefs.tier_change:
            analysis = analyse(portfolio, today=today)
            if prefs.drift:
                _check_drift(run, analysis)
            if prefs.tier_change:
                _check_tiers(run, analysis)
        if prefs.unlock:
            _check_unlocks(run, today=today, window=prefs.unlock_days)
        run.save()
    delivery.deliver(run.fired, prefs=prefs, user=portfolio.owner)
    return run.fired


def _prefs(portfolio: Portfolio) -> AlertSettings:
    """The owner's settings, read with the portfolio; the defaults when none yet."""
    try:
        return portfolio.owner.alert_settings
    except AlertSettings.DoesNotExist:
        return AlertSettings(user=portfolio.owner)


@dataclass
class _Run:
    """One evaluation: the states read, and the writes it will make at the end."""

    portfolio: Portfolio
    now: datetime
    states: dict[tuple[str, str], AlertState]
    created: list[AlertState] = field(default_factory=list)
    changed: list[AlertState] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    fired: list[Notification] = field(default_factory=list)

    def state(self, kind: str, subject: str) -> AlertState:
        """The stored state, or a new unsaved one (written only if touched)."""
        key = (kind, subject)
        if key not in self.states:
            self.states[key] = AlertState(
                portfolio=self.portfolio, kind=kind, subject=subject
            )
        return self.states[key]

    def touch(self, state: AlertState) -> None:
        target = self.created if state.pk is None else self.changed
        if state not in target:
            target.append(state)

    def fire(self, kind: str, title: str, body: str, data: dict[str, Any]) -> None:
        self.fired.append(
            Notification(
                user=self.portfolio.owner,
                kind=kind,
                portfolio=self.portfolio,
                title=title[:_TITLE_LENGTH],
                body=body,
                url=self.portfolio.get_absolute_url(),
                data=data,
            )
        )

    def save(self) -> None:
        """At most four writes, whatever the number of holdings or alerts."""
        if self.fired:
            Notification.objects.bulk_create(self.fired)
        if self.created:
            AlertState.objects.bulk_create(self.created)
        if self.changed:
            AlertState.objects.bulk_update(
                self.changed, ["active", "value", "fired_at", "cleared_at"]
            )
        if self.gone:
            AlertState.objects.filter(pk__in=self.gone).delete()


# Drift -----------------------------------------------------------------------


def _check_drift(run: _Run, analysis: Analysis) -> None:
    """One event while any bucket is outside the band (portfolios.targets.drift).

    A portfolio worth nothing has no mix to drift: every weight is 0 there.
    """
    outside = [row for row in analysis.drift if row.outside_band]
    if analysis.mix.total <= 0:
        outside = []
    state = run.state(Kind.DRIFT, "")
    if outside and not state.active:
        state.active, state.fired_at = True, run.now
        run.touch(state)
        run.fire(Kind.DRIFT, *_drift_message(analysis, outside))
    elif not outside and state.active:
        state.active, state.cleared_at = False, run.now
        run.touch(state)


def _drift_message(
    analysis: Analysis, outside: list[BucketDrift]
) -> tuple[str, str, dict[str, Any]]:
    portfolio = analysis.portfolio
    band = plain_number(portfolio.tolerance)
    parts = [
        f"{row.bucket} {_tenth(row.weight)} % vs target "
        f"{plain_number(row.target)} % (±{band})"
        for row in outside
    ]
    title = f"Drift out of band in ‘{portfolio.name}’: {'; '.join(parts)}"
    lines = [
        f"{Bucket(row.bucket).label}: {_tenth(row.weight)} % of the portfolio "
        f"({usd(row.value)}) against a target of {plain_number(row.target)} %, "
        f"{_tenth(abs(row.drift))} points {'over' if row.drift > 0 else 'under'} "
        f"(band ±{band} points)."
        for row in outside
    ]
    lines.append(f"Portfolio value: {usd(analysis.mix.total)}.")
    lines.append("The portfolio page shows a rebalancing plan to get back in band.")
    data = {
        "value": _text(analysis.mix.total),
        "tolerance": _text(portfolio.tolerance),
        "buckets": [
            {
                "bucket": str(row.bucket),
                "value": _text(row.value),
                "weight": _text(row.weight),
                "target": _text(row.target),
                "drift": _text(row.drift),
                "outside_band": row.outside_band,
            }
            for row in analysis.drift
        ],
    }
    return title, "\n".join(lines), data


# Tier changes ----------------------------------------------------------------


def _check_tiers(run: _Run, analysis: Analysis) -> None:
    """Fire when a held asset's tier differs from the one last seen.

    The first sight of a holding only records its tier; an asset no longer
    held is forgotten, so buying it again is a first sight.
    """
    held = set()
    for row in analysis.holdings.rows:
        held.add(row.asset_slug)
        state = run.state(Kind.TIER_CHANGE, row.asset_slug)
        if state.pk is None:
            state.value = row.tier
            run.touch(state)
        elif state.value != row.tier:
            before = state.value
            state.value, state.fired_at = row.tier, run.now
            run.touch(state)
            name = f"{row.asset_name} ({row.symbol.upper()})"
            cap = row.figures.market_cap
            worth = (
                f"its market cap is {usd(cap)} (price × circulating supply)"
                if cap
                else "its market cap is unknown (no price or circulating supply)"
            )
            title = (
                f"Tier change in ‘{run.portfolio.name}’: {name} moved from "
                f"{_tier(before)} to {_tier(row.tier)}"
            )
            body = (
                f"{name}, held in ‘{run.portfolio.name}’, is now {_tier(row.tier)}: "
                f"{worth}. It was {_tier(before)} at the previous check."
            )
            data = {
                "asset": row.asset_slug,
                "name": row.asset_name,
                "symbol": row.symbol.upper(),
                "from_tier": before,
                "to_tier": row.tier,
                "market_cap": _text(cap),
                "price": _text(row.price),
            }
            run.fire(Kind.TIER_CHANGE, title, body, data)
    for (kind, subject), state in run.states.items():
        if kind == Kind.TIER_CHANGE and subject not in held and state.pk is not None:
            run.gone.append(state.pk)


def _tier(tier: str) -> str:
    return Tier(tier).label.lower() if tier in Tier.values else tier


# Unlocks ---------------------------------------------------------------------


def _check_unlocks(run: _Run, *, today: date, window: int) -> None:
    """Fire once per unlock of a held asset falling from today to ``window`` days
    ahead, both included (the window of portfolios.risk's ``unlock_soon``)."""
    held = Holding.objects.filter(
        portfolio=run.portfolio, asset=OuterRef("asset"), quantity__gt=0
    )
    unlocks = (
        SupplyUnlock.objects.filter(
            Exists(held), date__gte=today, date__lte=today + timedelta(days=window)
        )
        .select_related("asset")
        .order_by("date", "pk")
    )
    for unlock in unlocks:
        state = run.state(Kind.UNLOCK, str(unlock.pk))
        if state.pk is not None:
            continue
        state.active, state.value, state.fired_at = (
            True,
            unlock.date.isoformat(),
            run.now,
        )
        run.touch(state)
        run.fire(Kind.UNLOCK, *_unlock_message(run.portfolio, unlock, today, window))
    # An unlock past its date cannot come back into the window (ISO dates sort
    # as text); one moved to a later date would be told again, as news.
    for (kind, _), state in run.states.items():
        if kind == Kind.UNLOCK and state.pk and state.value < today.isoformat():
            run.gone.append(state.pk)


def _unlock_message(
    portfolio: Portfolio, unlock: SupplyUnlock, today: date, window: int
) -> tuple[str, str, dict[str, Any]]:
    asset = unlock.asset
    symbol = asset.symbol.upper()
    days = (unlock.date - today).days
    when = f"{unlock.date.isoformat()} ({in_days(days)})"
    title = (
        f"Token unlock ahead in ‘{portfolio.name}’: {plain_number(unlock.amount)} "
        f"{symbol} of {asset.name} on {when}"
    )
    value = share = None
    figures = []
    if asset.price is not None:
        value = _EXACT.multiply(unlock.amount, asset.price)
        figures.append(
            f"worth {usd(value)} at today's price of {price_text(asset.price)}"
        )
    if asset.circulating_supply:
        share = weight(unlock.amount, asset.circulating_supply)
        figures.append(f"{plain_number(share)} % of the circulating supply")
    body = (
        f"{plain_number(unlock.amount)} {asset.name} ({symbol}) tokens unlock on "
        f"{unlock.date.isoformat()}, {in_days(days)}, within your {window}-day "
        f"window; {asset.name} is held in ‘{portfolio.name}’."
    )
    if figures:
        body += f" They are {' and '.join(figures)}."
    body += " New supply entering circulation can weigh on the price."
    data = {
        "asset": asset.slug,
        "name": asset.name,
        "symbol": symbol,
        "unlock_id": unlock.pk,
        "date": unlock.date.isoformat(),
        "days": days,
        "window_days": window,
        "amount": _text(unlock.amount),
        "price": _text(asset.price),
        "value": _text(value),
        "circulating_share": _text(share),
    }
    return title, body, data


# Wording ---------------------------------------------------------------------


def _tenth(value: Decimal) -> str:
    """A percentage with one decimal, as in "62.0 %"."""
    return f"{_EXACT.quantize(value, _TENTH):f}"


def _text(value: Decimal | None) -> str | None:
    """An exact decimal string without trailing zeros, as the API sends figures."""
    if value is None:
        return None
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
