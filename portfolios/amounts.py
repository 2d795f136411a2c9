"""The amount rules of a ledger entry: quantity above 0, price and fee not negative.

``amount_errors`` is the Python half every input path calls (form, API, CSV
import, bulk service); ``AMOUNT_CONSTRAINTS`` is the SQL half, built from the
same rules and messages, that the database enforces. No model import.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from django.db.models import CheckConstraint, Q


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
