"""Forms for portfolios, transactions, CSV import and the rebalancing plan."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q

from portfolios.amounts import amount_errors, validate_executed_at
from portfolios.models import CostBasisMethod, Portfolio, Transaction
from portfolios.rebalancing import RebalanceMode
from portfolios.targets import (
    PRESETS,
    Target,
    preset_named,
    targets_sum_error,
)
from portfolios.targets import TARGET_FIELDS as BUCKET_FIELDS
from valuations.fields import DECIMAL_PLACES, MAX_DIGITS
from valuations.models import Asset

CUSTOM = "custom"
PRESET_CHOICES = [(name, name.title()) for name in PRESETS] + [(CUSTOM, "Custom")]
TARGET_FIELDS = ("target_large", "target_mid", "target_small", "target_stable")


def _amount(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal(0),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        **kwargs,
    )


def preset_of(portfolio: Portfolio) -> str:
    """Return the preset whose weights the portfolio's target matches, or custom."""
    return preset_named(portfolio.target) or CUSTOM


class PortfolioForm(forms.ModelForm):
    preset = forms.ChoiceField(
        label="Target mix",
        choices=PRESET_CHOICES,
        initial="balanced",
        help_text="A preset fills the weights below; weights you type make a custom mix.",
    )

    class Meta:
        model = Portfolio
        fields = (
            "name",
            "description",
            *TARGET_FIELDS,
            "tolerance",
            "cost_basis_method",
        )
        labels = {
            "target_large": "Large cap %",
            "target_mid": "Mid cap %",
            "target_small": "Small cap %",
            "target_stable": "Stablecoins %",
            "tolerance": "Tolerance band (± points)",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Optional: a form without it keeps the portfolio's method (new: average).
        self.fields["cost_basis_method"].required = False
        if self.instance.pk:
            self.fields["preset"].initial = preset_of(self.instance)
        self._target_reported = False
        for name in TARGET_FIELDS:
            self.fields[name].required = False
        # The model enforces these ranges with table-wide constraints, whose errors
        # name no field; checking them here puts the message on the field.
        for name in (*TARGET_FIELDS, "tolerance"):
            self.fields[name].validators += [
                MinValueValidator(Decimal(0)),
                MaxValueValidator(Decimal(100)),
            ]

    def clean_cost_basis_method(self) -> str:
        return str(
            self.cleaned_data.get("cost_basis_method")
            or self.instance.cost_basis_method
            or CostBasisMethod.AVERAGE
        )

    @property
    def preset_weights(self) -> dict[str, dict[str, str]]:
        """Each preset's weights by field name, for the script that fills them in."""
        return {
            name: {
                f"target_{bucket}": f"{getattr(weights, bucket).normalize():f}"
                for bucket in BUCKET_FIELDS
            }
            for name, weights in PRESETS.items()
        }

    def _weights_typed(self, preset: Target) -> bool:
        """Return whether the weight fields hold weights other than the preset's
        that the person typed (not the current weights the edit page showed)."""
        if not any(name in self.changed_data for name in TARGET_FIELDS):
            return False
        values = [self.cleaned_data.get(name) for name in TARGET_FIELDS]
        if all(value is None for value in values) and not any(
            name in self.errors for name in TARGET_FIELDS
        ):
            return False  # cleared: the preset fills them
        return values != [getattr(preset, bucket) for bucket in BUCKET_FIELDS]

    def clean(self) -> dict[str, Any]:
        # super().clean() returns self.cleaned_data, typed optional by the stubs.
        super().clean()
        data = self.cleaned_data
        preset = data.get("preset")
        if preset in PRESETS:
            if not self._weights_typed(PRESETS[preset]):
                for bucket in BUCKET_FIELDS:
                    data[f"target_{bucket}"] = getattr(PRESETS[preset], bucket)
                return data
            label = dict(PRESET_CHOICES)[preset]
            if "preset" in self.changed_data:
                # Without JavaScript a newly chosen preset and newly typed weights
                # arrive together: which one the person meant cannot be told.
                self._target_reported = True
                self.add_error(
                    "preset",
                    f"You chose {label} and typed other weights. Choose Custom to "
                    f"keep your weights, or clear them to use {label}.",
                )
                return data
            # Weights typed beside a preset left as it was are what the person
            # meant: keep them as a custom mix, never replace them with the preset.
            data["preset"] = CUSTOM
            # If the page comes back with an error, show the choice made.
            self.data = dict(self.data.items(), preset=CUSTOM)
        missing = [
            name
            for name in TARGET_FIELDS
            if data.get(name) is None and name not in self.errors
        ]
        for name in missing:
            self.add_error(name, "Give a weight for a custom mix (0 is fine).")
        if not missing and not self.errors:
            weights = Target(*(data[name] for name in TARGET_FIELDS))
            if problem := targets_sum_error(weights):
                self._target_reported = True
                raise forms.ValidationError(problem)
        return data

    def _get_validation_exclusions(self) -> set[str]:
        exclude: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        if self._target_reported:
            # clean() already said what is wrong with the weights (their sum, or
            # preset or custom?); the model's CheckConstraint would add a second,
            # vaguer message about the same weights.
            exclude.update(TARGET_FIELDS)
        return exclude

    def _post_clean(self) -> None:
        # Copy preset weights onto the instance before model validation runs.
        for name in TARGET_FIELDS:
            if self.cleaned_data.get(name) is not None:
                setattr(self.instance, name, self.cleaned_data[name])
        super()._post_clean()  # type: ignore[misc]  # private, absent from django-stubs


class AssetChoiceField(forms.CharField):
    """An asset typed as its id (bitcoin), symbol (BTC) or exact name."""

    def clean(self, value: Any) -> Asset:
        text = super().clean(value).strip()
        matches = list(
            Asset.objects.filter(
                Q(slug__iexact=text) | Q(symbol__iexact=text) | Q(name__iexact=text)
            ).order_by("slug")[:6]
        )
        exact = [a for a in matches if a.slug.lower() == text.lower()]
        if exact:
            return exact[0]
        if not matches:
            raise forms.ValidationError(
                f"No asset called “{text}”. Search by id, symbol or name."
            )
        if len(matches) > 1:
            options = ", ".join(a.slug for a in matches)
            raise forms.ValidationError(
                f"“{text}” matches several assets ({options}); type the id instead."
            )
        return matches[0]


class TransactionForm(forms.Form):
    asset = AssetChoiceField(
        label="Asset",
        max_length=200,
        widget=forms.TextInput(attrs={"list": "asset-options", "autocomplete": "off"}),
        help_text="Id, symbol or name, e.g. bitcoin or BTC.",
    )
    kind = forms.ChoiceField(label="Type", choices=Transaction.Kind.choices)
    quantity = _amount("Quantity")
    unit_price = _amount(
        "Unit price (USD)",
        required=False,
        help_text="For a reward, leave empty to use that day's market price.",
    )
    fee = _amount("Fee (USD)", required=False, initial=Decimal(0))
    executed_at = forms.DateTimeField(
        label="Date and time (UTC)",
        validators=[validate_executed_at],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
        ),
    )
    note = forms.CharField(label="Note", max_length=200, required=False)

    def clean_fee(self) -> Decimal:
        return self.cleaned_data.get("fee") or Decimal(0)

    def clean(self) -> dict[str, Any]:
        # super().clean() returns self.cleaned_data, typed optional by the stubs.
        super().clean()
        data = self.cleaned_data
        amounts = {name: data.get(name) for name in ("quantity", "unit_price", "fee")}
        for name, reason in amount_errors(**amounts).items():
            self.add_error(name, reason)
        if (
            data.get("unit_price") is None
            and "unit_price" not in self.errors
            and data.get("kind") != Transaction.Kind.REWARD
        ):
            self.add_error("unit_price", "Give the unit price in USD.")
        return data

    @classmethod
    def initial_for(cls, tx: Transaction) -> dict[str, Any]:
        return {
            "asset": tx.asset.slug,
            "kind": tx.kind,
            "quantity": tx.quantity.normalize(),
            "unit_price": tx.unit_price.normalize(),
            "fee": tx.fee.normalize(),
            "executed_at": tx.executed_at,
            "note": tx.note,
        }


class ImportForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text=(
            "capsite CSV (executed_at,asset,kind,quantity,unit_price,fee,note), "
            "or an export from Binance, Coinbase, Kraken or Ghostfolio."
        ),
    )
    format = forms.ChoiceField(
        label="Format",
        required=False,
        choices=[
            ("", "Detect from the file"),
            ("capsite", "capsite CSV"),
            ("binance", "Binance transaction history (CSV)"),
            ("coinbase", "Coinbase transaction history (CSV)"),
            ("kraken", "Kraken ledger (CSV)"),
            ("ghostfolio", "Ghostfolio export (JSON)"),
        ],
    )


class RebalanceForm(forms.Form):
    mode = forms.ChoiceField(
        label="Mode",
        choices=RebalanceMode.choices,
        initial=RebalanceMode.FULL,
        required=False,
    )
    cash = _amount("New cash (USD)", required=False, initial=Decimal(0))
