"""The alert settings form."""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator

from alerts.models import AlertSettings


class AlertSettingsForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Optional: each alert is also POSTed here as signed JSON "
        "(http or https).",
    )

    class Meta:
        model = AlertSettings
        fields = AlertSettings.CHOICES
        widgets = {"unlock_days": forms.NumberInput(attrs={"min": 1, "max": 365})}
