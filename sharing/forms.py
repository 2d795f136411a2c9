"""The form that makes a share link."""

from __future__ import annotations

from django import forms


class ShareLinkForm(forms.Form):
    show_amounts = forms.BooleanField(
        label="Show amounts",
        required=False,
        help_text="Values, quantities, cost and profit or loss. Without it the "
        "page shows weights, tier mix, drift and diversification only.",
    )
