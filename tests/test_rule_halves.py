"""Each rule that exists twice, in Python and in SQL, gives the same answer on the
same rows, boundaries included (STYLE.md §11: one home per rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from portfolios.amounts import amount_errors
from portfolios.models import Portfolio, Transaction
from portfolios.targets import Target, targets_sum_error
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    PortfolioFactory,
)
from valuations import metrics, quality, tiermix
from valuations.choices import QualityFlag
from valuations.models import Asset, Category

D = Decimal
pytestmark = pytest.mark.django_db

# (price, circulating supply) → caps on and around every tier boundary.
CAPS = [
    (None, D("5")),  # no price: unknown cap
    (D("5"), None),  # no supply: unknown cap
    (D("0"), D("100")),  # zero cap
    (D("0.000000000000000001"), D("1")),  # the smallest positive cap
    (D("999999999.99"), D("1")),
    (D("1000000000"), D("1")),  # $1B exactly: mid
    (D("20"), D("50000000")),  # PRODUCT.md's $1B example
    (D("9999999999.99"), D("1")),
    (D("10000000000"), D("1")),  # $10B exactly: large
    (D("25761"), D("19482197")),
]


@pytest.fixture
def boundary_assets() -> list[Asset]:
    for position, (price, circulating) in enumerate(CAPS):
        AssetFactory(
            slug=f"edge-{position}",
            price=price,
            circulating_supply=circulating,
            max_supply=None,
        )
    return list(Asset.objects.all())


def test_tier_case_and_tier_for_agree_on_every_boundary(boundary_assets):
    in_sql = dict(
        Asset.objects.annotate(sql_tier=metrics.tier_case()).values_list(
            "slug", "sql_tier"
        )
    )
    stored = dict(Asset.objects.values_list("slug", "tier"))

    expected = {a.slug: metrics.tier_for(a.market_cap) for a in boundary_assets}
    assert in_sql == expected
    assert stored == expected
    assert set(in_sql.values()) == {"unranked", "small", "mid", "large"}


@pytest.mark.parametrize(
    ("volume", "band"),
    [
        (None, None),
        (D("0"), "low"),
        (D("1999999.99"), "low"),
        (D("2000000"), "healthy"),  # exactly 0.1 × the cap
        (D("20000000"), "healthy"),  # exactly 1.0 × the cap
        (D("20000000.01"), "high"),
    ],
)
def test_turnover_band_in_sql_and_stored_agree_with_turnover_band(volume, band):
    asset = AssetFactory(
        price=D("40"), circulating_supply=D("500000"), volume_24h=volume
    )
    in_sql = (
        Asset.objects.annotate(sql_band=metrics.turnover_band_case())
        .values_list("sql_band", flat=True)
        .get(pk=asset.pk)
    )
    stored = Asset.objects.values_list("liquidity", flat=True).get(pk=asset.pk)

    in_python = metrics.turnover_band(
        metrics.volume_to_market_cap(volume, asset.market_cap)
    )
    assert in_python == in_sql == stored == band


@pytest.mark.parametrize(
    ("price", "volume", "thin"),
    [
        ("40", None, True),  # unknown volume
        ("40", D("0"), True),
        ("40", D("99999.99"), True),  # below $100,000
        ("40", D("100000"), False),  # 0.5 % of a $20M cap
        ("4000", D("3999999.99"), True),  # below 0.2 % of $2B
        ("4000", D("4000000"), False),  # exactly 0.2 %
        (None, D("100000"), False),  # no cap: the volume alone decides
    ],
)
def test_thin_market_in_sql_agrees_with_is_thin_market(price, volume, thin):
    asset = AssetFactory(
        price=None if price is None else D(price),
        circulating_supply=D("500000"),
        volume_24h=volume,
    )
    in_sql = Asset.objects.filter(metrics.thin_market_condition(), pk=asset.pk).exists()

    assert metrics.is_thin_market(volume, asset.market_cap) == in_sql == thin


def test_each_tier_filter_selects_exactly_the_assets_tier_for_puts_there(
    boundary_assets,
):
    for tier in metrics.tier_conditions():
        filtered = set(Asset.objects.in_tier(tier).values_list("slug", flat=True))
        expected = {
            a.slug for a in boundary_assets if metrics.tier_for(a.market_cap) == tier
        }
        assert filtered == expected, tier


def test_ranked_filter_and_is_ranked_agree(boundary_assets):
    ranked = set(Asset.objects.ranked().values_list("slug", flat=True))

    assert ranked == {
        a.slug for a in boundary_assets if metrics.is_ranked(a.market_cap)
    }


def test_rank_order_in_sql_is_the_order_of_rank_key(boundary_assets):
    AssetFactory(slug="aaa-tie", price=D("1000000000"), circulating_supply=D("1"))

    in_sql = list(
        Asset.objects.order_by(*metrics.RANK_ORDER).values_list("slug", flat=True)
    )
    in_python = [
        a.slug
        for a in sorted(
            Asset.objects.all(), key=lambda a: metrics.rank_key(a.market_cap, a.slug)
        )
    ]

    assert in_sql[:3] == ["edge-9", "edge-8", "edge-7"]
    assert in_sql == in_python
    # Equal caps: the slug decides, so the order never depends on insertion.
    assert in_sql.index("aaa-tie") < in_sql.index("edge-5")


def test_total_market_cap_in_sql_equals_the_python_sum(boundary_assets):
    in_python = metrics.total_market_cap(a.market_cap for a in boundary_assets)
    in_sql = Asset.objects.aggregate(total=metrics.total_market_cap_sum())["total"]

    assert in_sql == pytest.approx(in_python, rel=D("1e-12"))
    # 999,999,999.99 + 1B + 1B + 9,999,999,999.99 + 10B + 501,880,876,917 + 1e-18;
    # the unknown and zero caps count for nothing.
    assert in_python == D("524880876916.980000000000000001")


def test_bucket_case_and_bucket_for_agree_for_stablecoins_and_every_tier(
    boundary_assets,
):
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    for asset in boundary_assets[::3]:
        asset.categories.add(stable)
    is_stable = Exists(
        Category.objects.filter(assets=OuterRef("pk"), is_stablecoin=True)
    )

    in_sql = dict(
        Asset.objects.annotate(stable=is_stable)
        .annotate(bucket=tiermix.bucket_case("market_cap", "stable"))
        .values_list("slug", "bucket")
    )
    stable_slugs = set(stable.assets.values_list("slug", flat=True))

    assert in_sql == {
        a.slug: tiermix.bucket_for(
            metrics.tier_for(a.market_cap), a.slug in stable_slugs
        )
        for a in boundary_assets
    }


@pytest.mark.parametrize("flag", list(QualityFlag))
def test_each_flag_filter_finds_exactly_the_assets_served_with_that_flag(flag):
    now = datetime(2026, 4, 30, 3, 0, tzinfo=UTC)
    AssetFactory(slug="clean", provider_market_cap=D("2000000"))
    AssetFactory(slug="mismatch", provider_market_cap=D("3000000"))
    AssetFactory(slug="above", circulating_supply=D("5000000"))
    AssetFactory(slug="silent", volume_24h=None)
    AssetFactory(slug="old", last_updated=now - timedelta(hours=2))
    AssetFactory(slug="undated", last_updated=None)
    unknown = AssetFactory(slug="unknown", max_supply=None)
    Asset.objects.filter(pk=unknown.pk).update(quality_flags="supply_unknown")

    in_sql = set(
        Asset.objects.filter(quality.flag_condition(flag, now)).values_list(
            "slug", flat=True
        )
    )
    in_python = {
        a.slug
        for a in Asset.objects.all()
        if flag in quality.served_flags(a.quality_flags, a.last_updated, now)
    }

    assert in_sql == in_python
    assert in_sql  # every flag is carried by one of the assets above


@pytest.mark.parametrize(
    ("weights", "adds_up"),
    [
        (("50", "30", "15", "5"), True),
        (("100", "0", "0", "0"), True),
        (("50", "30", "15", "4.99"), False),
        (("50", "30", "15", "5.01"), False),
        (("0", "0", "0", "0"), False),
    ],
)
def test_targets_sum_rule_matches_the_database_check(user, weights, adds_up):
    target = Target(*(D(w) for w in weights))
    portfolio = Portfolio(
        owner=user,
        name="Check",
        target_large=target.large,
        target_mid=target.mid,
        target_small=target.small,
        target_stable=target.stable,
    )

    try:
        with transaction.atomic():
            portfolio.save()
        stored = True
    except IntegrityError:
        stored = False

    assert (targets_sum_error(target) is None) == adds_up
    assert stored == adds_up


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("quantity", D("0.000000000000000001"), True),
        ("quantity", D("0"), False),
        ("unit_price", D("0"), True),
        ("unit_price", D("-0.000000000000000001"), False),
        ("fee", D("0"), True),
        ("fee", D("-1"), False),
    ],
)
def test_amount_rules_match_the_database_checks(user, field, value, allowed):
    portfolio = PortfolioFactory(owner=user)
    amounts = {"quantity": D("1"), "unit_price": D("1"), "fee": D("0"), field: value}

    try:
        with transaction.atomic():
            # Straight to the database: no Python validation in the way.
            Transaction.objects.create(
                portfolio=portfolio,
                asset=AssetFactory(),
                kind=Transaction.Kind.BUY,
                executed_at=datetime(2026, 1, 1, tzinfo=UTC),
                **amounts,
            )
        stored = True
    except IntegrityError:
        stored = False

    assert (field not in amount_errors(**amounts)) == allowed
    assert stored == allowed
    assert Transaction.objects.exists() == allowed
