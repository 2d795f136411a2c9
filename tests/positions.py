"""Positions in each bucket, for the tier-mix and portfolio-rule tests."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

from valuations.tiermix import Position

D = Decimal


def large(asset: str, value: str) -> Position:
    return Position(asset, D(value), "large")


def mid(asset: str, value: str) -> Position:
    return Position(asset, D(value), "mid")


def small(asset: str, value: str) -> Position:
    return Position(asset, D(value), "small")


def stable(asset: str, value: str) -> Position:
    return Position(asset, D(value), "large", is_stablecoin=True)


def unranked(asset: str, value: str) -> Position:
    return Position(asset, D(value), "unranked")


def exact_sum(values) -> Decimal:
    # The default 28-digit context would round the rules' exact amounts.
    with localcontext(Context(prec=100)):
        return sum(values, Decimal(0))
