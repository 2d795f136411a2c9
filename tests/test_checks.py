"""System checks catch settings that would break tiers or production."""

from __future__ import annotations

from decimal import Decimal

from capsite.checks import check_production_settings, check_tier_thresholds


def test_inverted_tier_thresholds_are_an_error_outside_deploy_checks(settings):
    settings.CAPSITE_TIER_MID_MIN = Decimal("20000000000")

    assert [e.id for e in check_tier_thresholds(None)] == ["capsite.E001"]


def test_default_tier_thresholds_pass():
    assert check_tier_thresholds(None) == []


def test_deploy_check_warns_about_sqlite_and_a_missing_redis(settings):
    settings.REDIS_URL = ""

    ids = {w.id for w in check_production_settings(None)}

    assert "capsite.W002" in ids
