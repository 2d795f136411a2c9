"""Whether an account's email address was confirmed by a link sent to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class EmailConfirmation(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="email_confirmation",
    )
    # The address confirmed: a changed address needs a new confirmation.
    email = models.EmailField()
    confirmed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.email} (confirmed {self.confirmed_at:%Y-%m-%d})"
