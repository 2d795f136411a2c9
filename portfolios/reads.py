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
from django.utils import timezone

from capsite.renderers import json_default
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
