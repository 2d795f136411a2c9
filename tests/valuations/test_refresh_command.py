"""manage.py refresh_market_state: stored tiers follow new thresholds."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import AssetFactory
from valuations.models import Asset

pytestmark = pytest.mark.django_db


def test_the_command_restores_stored_tiers_after_a_threshold_change(settings):
    AssetFactory(
        slug="solana",
        price=Decimal("150"),
        circulating_supply=Decimal(10**9),
        max_supply=None,
    )
    settings.CAPSITE_TIER_LARGE_MIN = Decimal("200000000000")
    out = StringIO()

    assert Asset.objects.get(slug="solana").tier == "large"
    call_command("refresh_market_state", stdout=out)

    assert Asset.objects.get(slug="solana").tier == "mid"
    assert "1 assets" in out.getvalue()
