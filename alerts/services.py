"""Writes of the alerts app: a user's alert settings and reading notifications."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from alerts.models import AlertSettings, Notification, new_webhook_secret

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # settings.AUTH_USER_MODEL

SETTINGS_FIELDS = (
    "drift",
    "tier_change",
    "unlock",
    "unlock_days",
    "email",
    "webhook_url",
)


def settings_for(user: User) -> AlertSettings:
    """Return the user's alert settings, created with the defaults on first use."""
    prefs, _ = AlertSettings.objects.get_or_create(user=user)
    return prefs


@transaction.atomic
def update_settings(*, prefs: AlertSettings, **fields: Any) -> AlertSettings:
    """Change which alerts the user gets and where; raise ValidationError by field.

    The webhook secret is not among the fields: only regenerate_secret sets it.
    """
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(prefs, name, value)
    prefs.full_clean()
    prefs.save()
    return prefs


def regenerate_secret(*, prefs: AlertSettings) -> AlertSettings:
    """Give the user a new webhook secret; webhooks signed with the old one stop."""
    prefs.webhook_secret = new_webhook_secret()
    prefs.save(update_fields=["webhook_secret"])
    return prefs


def mark_read(*, user: User, ids: Collection[int] | None = None) -> int:
    """Mark the user's unread notifications read (only ``ids`` when given).

    Returns how many changed. Another user's ids match nothing, so they stay
    unread; one UPDATE whatever the number.
    """
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


def unread_count(user: User) -> int:
    """Return how many of the user's notifications are unread, in one query."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
