"""factory-boy factories, one per model, with explicit Decimal defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from portfolios.models import Portfolio, Transaction
from valuations.models import (
    Asset,
    Category,
    MarketSnapshot,
    Provider,
    ProviderId,
    SupplyUnlock,
)
from valuations.signals import announce_snapshots
from valuations.state import refresh_market_state


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").title())
    is_stablecoin = False


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"coin-{n}")
    symbol = factory.Sequence(lambda n: f"c{n}")
    name = factory.Sequence(lambda n: f"Coin {n}")
    price = Decimal("2")
    circulating_supply = Decimal("1000000")
    total_supply = Decimal("2000000")
    max_supply = Decimal("4000000")
    volume_24h = Decimal("500000")
    last_updated = factory.LazyFunction(lambda: datetime(2026, 4, 30, 2, 0, tzinfo=UTC))
    source = "coingecko"

    @factory.post_generation
    def categories(
        self, create: bool, extracted: list[Category] | None, **kwargs: object
    ):
        if create and extracted:
            self.categories.set(extracted)

    @factory.post_generation
    def coingecko_id(self, create: bool, extracted: object, **kwargs: object):
        # As an import does: a CoinGecko asset's slug is its recorded CoinGecko id.
        if create and self.source == Provider.COINGECKO:
            ProviderId.objects.get_or_create(
                asset=self,
                provider=Provider.COINGECKO,
                defaults={"external_id": self.slug},
            )

    @factory.post_generation
    def market_state(self, create: bool, extracted: object, **kwargs: object):
        # Every write path refreshes the stored market state; so does the factory.
        if create:
            refresh_market_state(asset_ids=[self.pk])


class MarketSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketSnapshot
        skip_postgeneration_save = True

    asset = factory.SubFactory(AssetFactory)
    taken_at = factory.Sequence(
        lambda n: datetime(2026, 1, 1, tzinfo=UTC).replace(day=1 + n % 28)
    )
    price = Decimal("2")
    circulating_supply = Decimal("1000000")
    total_supply = Decimal("2000000")
    max_supply = Decimal("4000000")
    volume_24h = Decimal("500000")

    @factory.post_generation
    def market_state(self, create: bool, extracted: object, **kwargs: object):
        if create:
            refresh_market_state(asset_ids=[], caps_changed=False)
            announce_snapshots(
                asset_ids=[self.asset_id], since=self.taken_at.astimezone(UTC).date()
            )


class SupplyUnlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplyUnlock
        skip_postgeneration_save = True

    asset = factory.SubFactory(AssetFactory)
    date = factory.Sequence(
        lambda n: datetime(2026, 6, 1, tzinfo=UTC).date().replace(day=1 + n % 28)
    )
    amount = Decimal("100000")
    note = "Team vesting"

    @factory.post_generation
    def market_state(self, create: bool, extracted: object, **kwargs: object):
        if create:
            refresh_market_state(asset_ids=[], caps_changed=False)


class PortfolioFactory(factory.django.DjangoModelFactory):
    """A portfolio with the balanced target mix (50/30/15 + 5 stable, ±5 points)."""

    class Meta:
        model = Portfolio

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Portfolio {n}")
    description = ""
    target_large = Decimal("50")
    target_mid = Decimal("30")
    target_small = Decimal("15")
    target_stable = Decimal("5")
    tolerance = Decimal("5")


class TransactionFactory(factory.django.DjangoModelFactory):
    """A ledger entry recorded through the service, so holdings are rebuilt.

    ``build()`` gives an unsaved Transaction for tests that bypass the service.
    """

    class Meta:
        model = Transaction

    portfolio = factory.SubFactory(PortfolioFactory)
    asset = factory.SubFactory(AssetFactory)
    kind = Transaction.Kind.BUY
    quantity = Decimal("1")
    unit_price = Decimal("2")
    fee = Decimal("0")
    executed_at = factory.Sequence(
        lambda n: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    )
    note = ""

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object):
        from portfolios import services

        return services.record_transaction(**kwargs)


class AlertSettingsFactory(factory.django.DjangoModelFactory):
    """A user's alert settings: every kind on, email on, no webhook, a 30-day window."""

    class Meta:
        model = "alerts.AlertSettings"
        django_get_or_create = ("user",)

    user = factory.SubFactory(UserFactory)
    drift = True
    tier_change = True
    unlock = True
    unlock_days = 30
    email = True
    webhook_url = ""


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "alerts.Notification"

    user = factory.SubFactory(UserFactory)
    kind = "drift"
    portfolio = None
    title = factory.Sequence(lambda n: f"Alert {n}")
    body = "What happened, with the figures."
    url = "/portfolios/"
    data = factory.LazyFunction(dict)


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A named API token made through the service; ``.key`` is its plaintext key."""

    class Meta:
        model = "tokens.ApiToken"

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"token {n}")
    scope = "write"
    expires = None

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object):
        from tokens import services

        token, key = services.create_token(**kwargs)
        token.key = key
        return token
