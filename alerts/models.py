"""Alert settings per user, the state that makes each alert fire once, notifications."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import Q

from portfolios.models import Portfolio

UNLOCK_DAYS_MAX = 365


def new_webhook_secret() -> str:
    """Return a fresh random secret for signing a user's webhooks (43 characters)."""
    return secrets.token_urlsafe(32)


def default_unlock_days() -> int:
    """The unlock window a user starts with: the risk flags' own window."""
    days: int = settings.CAPSITE_RISK_UNLOCK_DAYS
    return days


class Kind(models.TextChoices):
    DRIFT = "drift", "Drift out of band"
    TIER_CHANGE = "tier_change", "Tier change"
    UNLOCK = "unlock", "Token unlock"


class AlertSettings(models.Model):
    """Which alerts a user wants and where they go; created with defaults on first use."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alert_settings",
    )
    drift = models.BooleanField(
        "Drift out of band",
        default=True,
        help_text="A portfolio's tier mix leaves its tolerance band.",
    )
    tier_change = models.BooleanField(
        "Tier change",
        default=True,
        help_text="An asset you hold moves to another market-cap tier.",
    )
    unlock = models.BooleanField(
        "Token unlock",
        default=True,
        help_text="An asset you hold has a token unlock coming up.",
    )
    unlock_days = models.PositiveSmallIntegerField(
        "Unlock window (days)",
        default=default_unlock_days,
        validators=[MinValueValidator(1), MaxValueValidator(UNLOCK_DAYS_MAX)],
        help_text=f"Warn this many days ahead of an unlock (1–{UNLOCK_DAYS_MAX}).",
    )
    email = models.BooleanField(
        "Email me", default=True, help_text="Also send each alert by email."
    )
    webhook_url = models.URLField(
        "Webhook URL",
        max_length=500,
        blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Optional: each alert is also POSTed to this address as JSON.",
    )
    webhook_secret = models.CharField(
        max_length=64,
        default=new_webhook_secret,
        editable=False,
        help_text="Signs each webhook (X-Capsite-Signature).",
    )

    # What a person chooses: the form, the API and the admin all show these.
    CHOICES = ("drift", "tier_change", "unlock", "unlock_days", "email", "webhook_url")

    class Meta:
        verbose_name = "alert settings"
        verbose_name_plural = "alert settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(unlock_days__gte=1, unlock_days__lte=UNLOCK_DAYS_MAX),
                name="alert_unlock_days_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Alert settings of {self.user}"

    @property
    def any_enabled(self) -> bool:
        return self.drift or self.tier_change or self.unlock


class AlertState(models.Model):
    """What the last evaluation saw for one (portfolio, kind, subject).

    An alert fires when its condition goes from absent to present, so each
    event is told once: ``active`` is the condition (drift out of band, an
    unlock already told), ``value`` what was seen (an asset's tier, an unlock's
    date). Subjects: "" for drift, the asset's slug for a tier, the unlock's id.
    """

    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="alert_states"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject = models.CharField(max_length=200, blank=True, default="")
    active = models.BooleanField(default=False)
    value = models.CharField(max_length=40, blank=True, default="")
    fired_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["portfolio", "kind", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "kind", "subject"], name="alert_state_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject or '-'} of portfolio {self.portfolio_id}"


class Notification(models.Model):
    """One fired alert as the user sees it on the site, and how it was delivered."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    portfolio = models.ForeignKey(
        Portfolio,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    title = models.CharField(max_length=500)
    body = models.TextField(blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="")
    data = models.JSONField(
        default=dict,
        blank=True,
        help_text="The alert's figures; every amount is an exact decimal string.",
    )
    created = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=200, blank=True, default="")
    webhook_status = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(
                fields=["user", "-created"], name="notification_user_time_idx"
            ),
            # The unread count in the navigation of every page.
            models.Index(
                fields=["user"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def webhook_failed(self) -> bool:
        """A webhook was due and did not get a 2xx answer."""
        return bool(self.webhook_status) and not self.webhook_status.startswith(
            "delivered"
        )
