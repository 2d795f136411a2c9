"""Admin forms: market data refused field by field, and the import upload forms."""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from valuations import metrics
from valuations.imports import CSV_HEADER, UNLOCK_HEADER, Format
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
            value = value.normalize(_EXACT)
            # normalize() writes 140000000 as 1.4E+8; the input shows digits.
            exponent = value.as_tuple().exponent  # an int: stored values are finite
            if isinstance(exponent, int) and exponent > 0:
                value = value.quantize(Decimal(1), context=_EXACT)
            form.initial[name] = value


class _MarketDataForm(forms.ModelForm):
    """Check the market data rules the database constraints also enforce.

    Checking here puts the message on the offending field; the constraints
    alone would give one error at the top of the form.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _trim_initial(self, NON_NEGATIVE_FIELDS)

    def clean(self) -> dict[str, Any]:
        # super().clean() returns self.cleaned_data, typed optional by the stubs.
        super().clean()
        cleaned = self.cleaned_data
        for name in NON_NEGATIVE_FIELDS:
            value = cleaned.get(name)
            if value is not None and value < 0:
                label = self.fields[name].label
                self.add_error(name, f"{label} must be zero or more.")
        circulating = cleaned.get("circulating_supply")
        maximum = cleaned.get("max_supply")
        if (
            maximum is not None  # an unknown max supply allows any circulating supply
            and "circulating_supply" not in self.errors
            and "max_supply" not in self.errors
            and not metrics.circulating_within_max(circulating, maximum)
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


# A staff upload is kept whole in ImportRun.payload until it is confirmed; the
# bundled 2.4 MB history CSV fits many times over.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

FORMAT_CHOICES = [
    ("", "Detect from the content"),
    (Format.COINGECKO, "CoinGecko coins/markets JSON"),
    (Format.COINMARKETCAP, "CoinMarketCap listings/latest JSON"),
    (Format.CSV, "CSV with the capsite columns"),
    (Format.HISTORY, "Daily history CSV (coin_id, price_usd, …)"),
]


def _read_text(upload: UploadedFile) -> str:
    """Return an uploaded file as text, refusing big or non-UTF-8 files."""
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
        )
    try:
        # utf-8-sig drops a byte order mark that spreadsheet exports add.
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise forms.ValidationError(
            f"The file is not UTF-8 text (byte {exc.start} cannot be read)."
        ) from exc


class MarketUploadForm(forms.Form):
    file = forms.FileField(
        help_text=(
            "CoinGecko coins/markets JSON, CoinMarketCap listings/latest JSON, "
            f"or CSV with the header <code>{CSV_HEADER}</code>."
        )
    )
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    skip_invalid = forms.BooleanField(
        required=False,
        label="Skip bad rows",
        help_text="Apply the good rows and skip the bad ones; otherwise a file with "
        "any bad row changes nothing. You can still change this on the preview.",
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        self.text = _read_text(upload)
        return upload


class UnlockUploadForm(forms.Form):
    file = forms.FileField(
        help_text=(
            f"CSV with the header <code>{UNLOCK_HEADER}</code>; the asset is its id "
            "(slug), the date YYYY-MM-DD, the amount in tokens."
        )
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        self.text = _read_text(upload)
        return upload
