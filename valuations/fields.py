"""One place that sets the precision of every money, price, supply and quantity."""

from __future__ import annotations

from typing import Any

from django.db import models

# 22 integer digits and 18 decimals: supplies past 10^15, prices below 10^-8 and
# token quantities with 18 decimals (wei) all fit exactly in PostgreSQL NUMERIC.
MAX_DIGITS = 40
DECIMAL_PLACES = 18
# A product of two such numbers (market cap, FDV) needs more integer room.
PRODUCT_MAX_DIGITS = 60


def decimal_field(**kwargs: Any) -> models.DecimalField:
    """A DecimalField with the project's precision for quantities and prices."""
    return models.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs
    )


def product_field(**kwargs: Any) -> models.DecimalField:
    """A DecimalField wide enough for price × supply."""
    return models.DecimalField(
        max_digits=PRODUCT_MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs
    )
