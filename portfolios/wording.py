"""Numbers and days in sentences shown to people (messages, risk reasons)."""

from __future__ import annotations

from decimal import Context, Decimal

_EXACT = Context(prec=100)


def plain_number(value: Decimal) -> str:
    """Return a number for a sentence: thousands separated, at most 2 decimals."""
    text = f"{_EXACT.quantize(value, Decimal('0.01')):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def in_days(days: int) -> str:
    """Return ``today``, ``tomorrow`` or ``in N days``."""
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")
