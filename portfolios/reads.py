"""Portfolio reads served from a cache keyed by everything they depend on.

A portfolio's analytics change only when its ledger or settings change (its
``version`` and ``updated``), when the market changes (the market version,
stale turns included) or when the day turns (unlocks come closer). The key
names all of them, so a write never needs to clear anything: the next read
simply asks for a new key, and old entries expire.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.utils import timezone

from portfolios import series
from portfolios.models import Portfolio
from valuations.state import current_state, version_of

T = TypeVar("T")
TIMEOUT = 3600


def read_key(portfolio: Portfolio, what: str) -> str:
    """The cache key of one read (``what``: the view and its parameters)."""
    series.ensure_current(portfolio)  # a recomputation moves the version
    now = timezone.now()
    market = version_of(current_state(), now).tag
    edited = portfolio.updated.timestamp() if portfolio.updated else 0
    return (
        f"portfolio:{portfolio.pk}:{portfolio.version}:{edited:.6f}:{market}:"
        f"{now.date()}:{what}"
    )


def cached(portfolio: Portfolio, what: str, build: Callable[[], T]) -> T:
    """Return the read named ``what`` from the cache, building it on a miss."""
    key = read_key(portfolio, what)
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, TIMEOUT)
    return value
