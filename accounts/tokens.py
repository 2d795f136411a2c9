"""Links that confirm an email address, signed like Django's password-reset links."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class EmailConfirmationTokens(PasswordResetTokenGenerator):
    """A link is good for the address it was sent to, until it is used.

    The hash covers the address and whether it is confirmed, so a link stops
    working once used or once the address changes (and after
    PASSWORD_RESET_TIMEOUT, three days).
    """

    key_salt = "capsite.accounts.EmailConfirmationTokens"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        confirmed = getattr(getattr(user, "email_confirmation", None), "email", "")
        return f"{user.pk}{user.email}{confirmed}{timestamp}"


confirmation_tokens = EmailConfirmationTokens()
