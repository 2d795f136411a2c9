"""Template filters that format money, supplies and ratios for people."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

from django import template

register = template.Library()

_SUFFIXES = [
    (Decimal("1e12"), "T"),
    (Decimal("1e9"), "B"),
    (Decimal("1e6"), "M"),
]
DASH = "—"


def _as_decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _grouped(value: Decimal, places: int) -> str:
    """``value`` rounded to ``places`` with thousands separators, however large.

    A model can hold 40 digits (22 before the point, 18 after) and a product of
    two such values more: the default 28-digit context would refuse to round it.
    """
    quantum = Decimal(1).scaleb(-places)
    with localcontext() as ctx:
        ctx.prec = max(28, value.adjusted() + places + 2)
        return f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


def _dollars(number: Decimal, places: int) -> str:
    sign = "-" if number < 0 else ""
    return f"{sign}${_grouped(abs(number), places)}"


@register.filter
def usd(value: object) -> str:
    """Dollars in full with separators: $20,000,000 (cents only below $1,000)."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    return _dollars(number, 0 if abs(number) >= 1000 else 2)


@register.filter
def usd_compact(value: object) -> str:
    """Dollars shortened for tables and cards: $1.53T, $84.97B, $20.00M."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    sign = "-" if number < 0 else ""
    magnitude = abs(number)
    for threshold, suffix in _SUFFIXES:
        if magnitude >= threshold:
            return f"{sign}${_grouped(magnitude / threshold, 2)}{suffix}"
    return usd(number)


# Between groups of decimals: narrow, and never a line break inside a price.
DECIMAL_GROUP = "\u202f"


@register.filter
def price(value: object, style: str = "") -> str:
    """A unit price: cents from $1 up, four significant digits below.

    Below $0.001 the decimals are grouped in threes from the point, so the
    zeros of a tiny price can be counted at a glance: $0.000 006 250; with
    ``price:"plain"`` (text to copy elsewhere) they are not: $0.000006250.
    """
    number = _as_decimal(value)
    if number is None:
        return DASH
    if number == 0 or abs(number) >= 1:
        return f"${_grouped(number, 2)}"
    # Keep four significant digits however small the price is.
    places = max(2, -number.adjusted() + 3)
    text = _grouped(number, places)
    if places > 6 and style != "plain":  # three or more zeros after the point
        whole, _, fraction = text.partition(".")
        groups = [fraction[i : i + 3] for i in range(0, len(fraction), 3)]
        text = f"{whole}.{DECIMAL_GROUP.join(groups)}"
    return f"${text}"


@register.filter
def percent(value: object, places: int = 2) -> str:
    """A fraction as a percentage: 0.4884 → 48.84 %."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    return f"{_grouped(number * 100, int(places))} %"


@register.filter
def ratio(value: object, places: int = 2) -> str:
    """A plain ratio with fixed decimals: 4 → 4.00."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    return _grouped(number, int(places))


@register.filter
def amount(value: object) -> str:
    """A token amount with separators, decimals only where they matter."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    if abs(number) >= 1000 or number == number.to_integral_value():
        return _grouped(number, 0)
    return quantity(number)


@register.filter
def exact(value: object) -> str:
    """The exact stored decimal, without exponent or trailing zeros (for titles)."""
    number = _as_decimal(value)
    if number is None:
        return ""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def bar_width(value: object) -> str:
    """A fraction as an SVG width in percent units, clipped to 0–100."""
    number = _as_decimal(value)
    if number is None:
        return "0"
    return f"{min(max(float(number) * 100, 0.0), 100.0):.3f}"


@register.filter
def signed_percent(value: object, places: int = 1) -> str:
    """A difference in percent with its sign: +36.3 %, -3.5 %."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    sign = "+" if number > 0 else "-" if number < 0 else ""
    return f"{sign}{_grouped(abs(number), places)} %"


@register.filter
def cents(value: object) -> str:
    """Dollars to the cent, however large, with separators: $1,000.00."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    return _dollars(number, 2)


@register.filter
def quantity(value: object) -> str:
    """A token quantity as given, with separators and no trailing zeros:
    40,518,639 or 0.0105263 (round it first: see portfolios.rebalancing)."""
    number = _as_decimal(value)
    if number is None:
        return DASH
    with localcontext() as ctx:
        ctx.prec = max(28, len(number.as_tuple().digits))
        return f"{number.normalize():,f}"
