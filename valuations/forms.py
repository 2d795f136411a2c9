"""Forms for the market table filters and the calculator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from valuations import metrics
from valuations.choices import QualityFlag, Tier
from valuations.fields import DECIMAL_PLACES, MAX_DIGITS
from valuations.models import Category
from valuations.queries import SORTS

SORT_LABELS = {
    "rank": "Rank",
    "price": "Price",
    "market_cap": "Market cap",
    "fdv": "FDV",
    "volume_24h": "24 h volume",
    "volume_to_market_cap": "Volume ÷ market cap",
}
SORT_CHOICES = [("", "Rank")] + [
    (f"{prefix}{key}", f"{SORT_LABELS[key]} {direction}")
    for key in SORTS
    for prefix, direction in (("", "↑"), ("-", "↓"))
]


def _amount(
    label: str, *, required: bool = False, help_text: str = ""
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class MarketFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    tier = forms.ChoiceField(
        label="Tier", required=False, choices=[("", "All tiers"), *Tier.choices]
    )
    category = forms.ChoiceField(label="Category", required=False)
    flag = forms.ChoiceField(
        label="Data quality",
        required=False,
        choices=[("", "Any data"), *QualityFlag.choices],
    )
    sort = forms.ChoiceField(label="Sort", required=False, choices=SORT_CHOICES)

    def __init__(self, *args: Any, categories: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)  # declared above
        field.choices = [("", "All categories"), *categories]

    @staticmethod
    def category_choices() -> list[tuple[str, str]]:
        return list(Category.objects.values_list("slug", "name"))


class CalculatorForm(forms.Form):
    price = _amount("Price (USD)", required=True)
    circulating_supply = _amount("Circulating supply", required=True)
    max_supply = _amount("Max supply", help_text="Optional; FDV uses it first.")
    total_supply = _amount("Total supply", help_text="Optional; FDV falls back to it.")
    volume_24h = _amount(
        "24 h volume (USD)", help_text="Optional; for the liquidity band."
    )

    def clean(self) -> dict[str, Any]:
        # super().clean() returns self.cleaned_data, typed optional by the stubs.
        super().clean()
        data = self.cleaned_data
        maximum = data.get("max_supply")
        if not metrics.circulating_within_max(data.get("circulating_supply"), maximum):
            self.add_error(
                "circulating_supply",
                f"Circulating supply cannot exceed the max supply ({maximum:,}).",
            )
        return data
