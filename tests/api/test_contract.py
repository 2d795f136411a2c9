"""Contract: schemathesis fuzzes every operation of the live schema, signed in.

The schema is loaded from /api/schema/ through the WSGI app in-process, so every
generated request runs against the test database. Path ids and asset slugs are
pointed at the signed-in user's real portfolio, ledger and assets, so the
generated data reaches the views' logic instead of stopping at a 404.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from capsite.wsgi import application
from portfolios.models import Portfolio, Transaction
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    PortfolioFactory,
    SupplyUnlockFactory,
    TransactionFactory,
    UserFactory,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation in the fuzzing phase; the whole run stays well under a minute.
# CAPSITE_CONTRACT_EXAMPLES=500 makes a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("CAPSITE_CONTRACT_EXAMPLES", "15"))
# Operations exercised and responses by status, reported at the end of the run.
CALLS: Counter[str] = Counter()


@dataclass
class World:
    """The signed-in owner, their portfolio and ledger, and assets of every tier."""

    owner: object
    token: Token
    portfolio: Portfolio
    transaction: Transaction
    slugs: itertools.cycle = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token.key}"}

    def aim(self, case: schemathesis.Case) -> None:
        """Point path ids and asset slugs at real objects of the owner."""
        params = case.path_parameters or {}
        deleting = case.method.upper() == "DELETE"
        if "id" in params:
            params["id"] = self.portfolio.pk
            if deleting and "tid" not in params:
                # Delete a throwaway, so later operations keep the real portfolio.
                params["id"] = PortfolioFactory(owner=self.owner).pk
        if "tid" in params:
            params["tid"] = self.transaction.pk
            if deleting:
                params["tid"] = TransactionFactory(
                    portfolio=self.portfolio,
                    asset=AssetFactory(slug="throwaway"),
                    quantity=Decimal("1"),
                ).pk
        if "slug" in params:
            params["slug"] = next(self.slugs)
        if isinstance(case.body, dict) and "asset" in case.body:
            case.body["asset"] = "bitcoin"

    def restore(self) -> None:
        """Recreate the token if the case revoked it (DELETE /auth/token/)."""
        Token.objects.get_or_create(key=self.token.key, defaults={"user": self.owner})


@pytest.fixture
def world(db) -> World:
    owner = UserFactory(username="contract")
    stable = CategoryFactory(slug="stablecoins", name="Stablecoins", is_stablecoin=True)
    layer1 = CategoryFactory(slug="layer-1", name="Layer 1")
    assets = [
        AssetFactory(
            slug="bitcoin",
            symbol="btc",
            price=Decimal("60000"),
            circulating_supply=Decimal("19000000"),
            total_supply=Decimal("19000000"),
            max_supply=Decimal("21000000"),
            volume_24h=Decimal("30000000000"),
            categories=[layer1],
        ),
        AssetFactory(
            slug="midcoin",
            price=Decimal("5"),
            circulating_supply=Decimal("400000000"),
            max_supply=None,
            total_supply=Decimal("2000000000"),
            volume_24h=Decimal("1000000"),
        ),
        AssetFactory(slug="smallcoin", price=Decimal("2")),
        AssetFactory(
            slug="tether",
            symbol="usdt",
            price=Decimal("1"),
            circulating_supply=Decimal("100000000000"),
            max_supply=None,
            total_supply=None,
            categories=[stable],
        ),
        AssetFactory(slug="nocoin", price=None, volume_24h=None),
    ]
    start = datetime(2026, 4, 20, tzinfo=UTC)
    for asset in assets:
        for day in range(5):
            MarketSnapshotFactory(
                asset=asset,
                taken_at=start + timedelta(days=day),
                price=asset.price,
                circulating_supply=asset.circulating_supply,
            )
    SupplyUnlockFactory(asset=assets[2], date=datetime.now(UTC).date())
    portfolio = PortfolioFactory(owner=owner, name="Contract")
    by_slug = {asset.slug: asset for asset in assets}
    first = TransactionFactory(
        portfolio=portfolio,
        asset=by_slug["bitcoin"],
        quantity=Decimal("0.5"),
        unit_price=Decimal("40000"),
        executed_at=start,
    )
    for slug, quantity in [
        ("midcoin", "1000"),
        ("smallcoin", "5000"),
        ("tether", "2500"),
        ("nocoin", "10"),
    ]:
        TransactionFactory(
            portfolio=portfolio,
            asset=by_slug[slug],
            quantity=Decimal(quantity),
            unit_price=Decimal("1"),
            executed_at=start,
        )
    TransactionFactory(
        portfolio=portfolio,
        asset=by_slug["midcoin"],
        kind=Transaction.Kind.SELL,
        quantity=Decimal("100"),
        unit_price=Decimal("6"),
        executed_at=start + timedelta(days=2),
    )
    return World(
        owner=owner,
        token=Token.objects.create(user=owner),
        portfolio=portfolio,
        transaction=first,
        slugs=itertools.cycle([*by_slug, "missing-coin"]),
    )


# Loaded when the module is collected: generating the schema reads no database.
# (schemathesis.pytest.from_fixture would defer it, but its lazy runner breaks
# on pytest 9.2, which renamed the node attribute it rewrites.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # The WSGI handler closes "old" connections after each request, which would
    # close the test's transaction on PostgreSQL; Django's test client
    # disconnects the same handler.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module", autouse=True)
def _report_calls():
    yield
    if CALLS:
        total = sum(CALLS.values())
        print(
            f"\nschemathesis: {total} cases; by status: {dict(sorted(CALLS.items()))}"
        )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_schema(case, world):
    cache.clear()  # the throttle counters: the run makes more calls than a minute allows
    world.aim(case)
    response = case.call_and_validate(headers=world.headers, checks=CHECKS)
    CALLS[str(response.status_code)] += 1
    world.restore()
