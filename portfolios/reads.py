"""Portfolio reads served from a cache keyed by everything they depend on.

A portfolio's analytics change only when its ledger or settings change (its
``version`` and ``updated``), when the market changes (the market version,
stale turns included) or when the day turns (unlocks come closer). The key
names all of them, so a write never needs to clear anything: the next read
simply asks for a new key, and old entries expire.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from django.core.cache import cache
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from capsite.renderers import json_default
from portfolios import series
from portfolios.models import Portfolio
from valuations.models import MarketState
from valuations.state import STATE_PK, current_state, version_of

T = TypeVar("T")
TIMEOUT = 3600


# The market state's fields a key needs (valuations.state.version_of).
_MARKET_FIELDS = ("version", "changed_at", "modified_at", "as_of", "stale_turns")


def with_market_state(portfolios: QuerySet[Portfolio]) -> QuerySet[Portfolio]:
    """Read the market state with the portfolio: one query where there were two."""
    state = MarketState.objects.filter(pk=STATE_PK)
    return portfolios.annotate(
        **{
            f"market_{name}": Subquery(state.values(name)[:1])
            for name in _MARKET_FIELDS
        }
    )


def _market_state(portfolio: Portfolio) -> MarketState:
    if not hasattr(portfolio, "market_version"):
        return current_state()
    fields = {name: getattr(portfolio, f"market_{name}") for name in _MARKET_FIELDS}
    fields["version"] = fields["version"] or 0
    fields["stale_turns"] = fields["stale_turns"] or []
    return MarketState(pk=STATE_PK, **fields)


def read_key(portfolio: Portfolio, what: str) -> str:
    """The cache key of one read (``what``: the view and its parameters)."""
    series.ensure_current(portfolio)  # a recomputation moves the version
    now = timezone.now()
    market = version_of(_market_state(portfolio), now).tag
    edited = portfolio.updated.timestamp() if portfolio.updated else 0
    # Hashed: an address may be long or hold anything a client sends.
    digest = hashlib.sha256(what.encode()).hexdigest()[:32]
    return (
        f"portfolio:{portfolio.pk}:{portfolio.version}:{edited:.6f}:{market}:"
        f"{now.date()}:{digest}"
    )


def cached_json(
    portfolio: Portfolio, what: str, build: Callable[[], Any]
) -> orjson.Fragment:
    """The JSON of a read, cached as bytes: a hit is served without decoding it.

    ``build`` returns what a DRF view would (serializer data); the renderer
    writes the returned fragment into the response as it is.
    """
    return orjson.Fragment(
        cached(portfolio, what, lambda: orjson.dumps(build(), default=json_default))
    )


def cached(portfolio: Portfolio, what: str, build: Callable[[], T]) -> T:
    """Return the read named ``what`` from the cache, building it on a miss."""
    key = read_key(portfolio, what)
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, TIMEOUT)
    return value
