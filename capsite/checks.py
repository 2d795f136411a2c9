"""System checks for settings that production needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list:
    """Warn where a production deployment would run on development defaults."""
    problems: list = []
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append(
            Warning(
                "DATABASE_URL is not set: production runs on SQLite.",
                hint="Set DATABASE_URL=postgres://user:pass@host:5432/capsite",
                id="capsite.W001",
            )
        )
    if not settings.REDIS_URL:
        problems.append(
            Warning(
                "REDIS_URL is not set: cache and throttling are per process.",
                hint="Set REDIS_URL=redis://host:6379/0",
                id="capsite.W002",
            )
        )
    return problems


@register()
def check_tier_thresholds(app_configs: Any, **kwargs: Any) -> list:
    """Refuse tier thresholds that would make the mid tier empty or inverted."""
    if settings.CAPSITE_TIER_MID_MIN >= settings.CAPSITE_TIER_LARGE_MIN:
        return [
            Error(
                "CAPSITE_TIER_MID_MIN must be below CAPSITE_TIER_LARGE_MIN.",
                id="capsite.E001",
            )
        ]
    return []
