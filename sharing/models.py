"""Share links: one revocable, unguessable, read-only address per portfolio."""

from __future__ import annotations

import hashlib

from django.db import models
from django.db.models import Q

from portfolios.models import Portfolio

# secrets.token_urlsafe(24): 192 random bits, 32 URL-safe characters.
TOKEN_BYTES = 24
# Kept in clear so the owner can tell links apart; 26 characters stay secret.
PREFIX_LENGTH = 6


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 in hex.

    A token is random and long, so a fast unsalted hash is enough: nobody can
    guess one from its hash, and a lookup stays one indexed equality.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def active(self) -> ShareLinkQuerySet:
        """Links not revoked: the only ones that open a page."""
        return self.filter(revoked_at__isnull=True)


class ShareLink(models.Model):
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="share_links"
    )
    # The token itself is never stored: it is shown once, when the link is made.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    show_amounts = models.BooleanField(
        default=False,
        help_text="Show values, quantities, cost and P/L; weights are always shown.",
    )
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio"],
                condition=Q(revoked_at__isnull=True),
                name="sharelink_one_active_per_portfolio",
                violation_error_message="This portfolio already has an active link.",
            ),
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.prefix}… ({state}) for {self.portfolio_id}"
