"""The form that makes a token: a name, a scope and an expiry in days or never."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms

from tokens.models import NAME_MAX_LENGTH, Scope

NEVER = "never"
EXPIRY_CHOICES = [
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    (NEVER, "Never"),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX_LENGTH,
        help_text="What uses it, e.g. “tax export script”. Unique among your tokens.",
    )
    scope = forms.ChoiceField(
        choices=Scope.choices,
        initial=Scope.READ,
        help_text="Read only: the token can look but not change anything.",
    )
    expires = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, initial="90")

    def expires_at(self, now: datetime) -> datetime | None:
        """The chosen expiry as a moment, counted from ``now``; None for never."""
        choice = self.cleaned_data["expires"]
        return None if choice == NEVER else now + timedelta(days=int(choice))
