"""The rules of a ledger entry: quantity above 0, price and fee not negative, and
a time that is not in the future.

``amount_errors`` is the Python half every input path calls (form, API, CSV
import, bulk service); ``AMOUNT_CONSTRAINTS`` is the SQL half, built from the
same rules and messages, that the database enforces. No model import.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import CheckConstraint, Q
from django.utils import timezone

from valuations.metrics import time_problem


class AmountRule(NamedTuple):
    field: str
    lookup: str  # the Django lookup the value must satisfy against 0
    message: str


AMOUNT_RULES = (
    AmountRule("quantity", "gt", "Quantity must be more than zero."),
    AmountRule("unit_price", "gte", "Unit price must be zero or more."),
    AmountRule("fee", "gte", "Fee must be zero or more."),
)

_CONSTRAINT_NAMES = {
    "quantity": "tx_quantity_positive",
    "unit_price": "tx_price_not_negative",
    "fee": "tx_fee_not_negative",
}


def _holds(value: Decimal, lookup: str) -> bool:
    return value > 0 if lookup == "gt" else value >= 0


def amount_errors(
    *, quantity: Decimal | None, unit_price: Decimal | None, fee: Decimal | None
) -> dict[str, str]:
    """Return {field: reason} for each amount that breaks its rule; {} when all hold.

    Unknown (None) amounts are left to the required-field checks.
    """
    values = {"quantity": quantity, "unit_price": unit_price, "fee": fee}
    return {
        rule.field: rule.message
        for rule in AMOUNT_RULES
        if (value := values[rule.field]) is not None and not _holds(value, rule.lookup)
    }


# SQL half of amount_errors.
AMOUNT_CONSTRAINTS = [
    CheckConstraint(
        condition=Q(**{f"{rule.field}__{rule.lookup}": 0}),
        name=_CONSTRAINT_NAMES[rule.field],
        violation_error_message=rule.message,
    )
    for rule in AMOUNT_RULES
]


def time_error(executed_at: datetime, *, now: datetime | None = None) -> str | None:
    """Return why a transaction time is refused, or None when it may be recorded.

    Holdings and history are about what happened (PRODUCT.md): a time later
    than now plus ``CAPSITE_CLOCK_SKEW`` seconds is in the future, and nothing
    crypto was traded before Bitcoin's first block (3 January 2009).
    """
    problem = time_problem(executed_at, now or timezone.now())
    return None if problem is None else f"A transaction cannot be dated {problem}."


def validate_executed_at(executed_at: datetime) -> None:
    """Model-field validator form of time_error (forms and the API run it)."""
    if problem := time_error(executed_at):
        raise ValidationError(problem, code="invalid_time")
