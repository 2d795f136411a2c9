"""Admin forms that refuse impossible market data with a message on the field."""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any

from django import forms

from valuations.models import Asset, MarketSnapshot, SupplyUnlock

# Stored values have up to 40 digits; the default 28-digit context would round
# them when trimming zeros, and a form saves back what it showed.
_EXACT = Context(prec=100)

# Market data fields that can never be negative, on assets and snapshots alike.
NON_NEGATIVE_FIELDS = (
    "price",
    "circulating_supply",
    "total_supply",
    "max_supply",
    "volume_24h",
)


def readable_number(value: Decimal) -> str:
    """Return a Decimal with thousands separators and no trailing zeros."""
    # normalize() drops the 18 stored decimals; "f" keeps 2.1E+7 as 21,000,000.
    return f"{value.normalize(_EXACT):,f}"


def _trim_initial(form: forms.ModelForm, names: tuple[str, ...]) -> None:
    """Show stored decimals as 21000000 rather than 21000000.000000000000000000."""
    for name in names:
        value = form.initial.get(name)
        if isinstance(value, Decimal):
            form.initial[name] = value.normalize(_EXACT)


class _MarketDataForm(forms.ModelForm):
    """Check the market data rules the database constraints also enforce.

    Checking here puts the message on the offending field; the constraints
    alone would give one error at the top of the form.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _trim_initial(self, NON_NEGATIVE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in NON_NEGATIVE_FIELDS:
            value = cleaned.get(name)
            if value is not None and value < 0:
                label = self.fields[name].label
                self.add_error(name, f"{label} must be zero or more.")
        circulating = cleaned.get("circulating_supply")
        maximum = cleaned.get("max_supply")
        if (
            circulating is not None
            and maximum is not None
            and "circulating_supply" not in self.errors
            and "max_supply" not in self.errors
            and circulating > maximum
        ):
            self.add_error(
                "circulating_supply",
                "Circulating supply cannot exceed the max supply "
                f"({readable_number(maximum)}).",
            )
        return cleaned


class AssetAdminForm(_MarketDataForm):
    class Meta:
        model = Asset
        fields = (
            "slug",
            "symbol",
            "name",
            "categories",
            *NON_NEGATIVE_FIELDS,
            "last_updated",
            "source",
        )


class MarketSnapshotAdminForm(_MarketDataForm):
    class Meta:
        model = MarketSnapshot
        fields = ("asset", "taken_at", *NON_NEGATIVE_FIELDS)


class SupplyUnlockAdminForm(forms.ModelForm):
    class Meta:
        model = SupplyUnlock
        fields = ("asset", "date", "amount", "note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _trim_initial(self, ("amount",))

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount is not None and amount <= 0:
            raise forms.ValidationError("Amount must be more than zero.")
        return amount
