"""Market reads: overview totals, the filtered and sorted table, global ranks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import AssetFactory, CategoryFactory
from valuations import queries
from valuations.choices import Tier
from valuations.models import Asset
from valuations.state import refresh_market_state

D = Decimal

pytestmark = pytest.mark.django_db


def _asset(slug: str, price: str | None, circulating: str | None, **kwargs) -> Asset:
    """An asset whose cap the test sets; supplies other than circulating unknown."""
    values = {"max_supply": None, "total_supply": None, "volume_24h": None}
    values.update(kwargs)
    return AssetFactory(
        slug=slug,
        name=slug.replace("-", " ").title(),
        symbol=slug[:4],
        price=None if price is None else D(price),
        circulating_supply=None if circulating is None else D(circulating),
        **values,
    )


@pytest.fixture
def market() -> dict[str, Asset]:
    """A $1T market: BTC 60 %, ETH 30 %, three large, two mid, one small, two
    unranked (no price; nothing circulating)."""
    layer_1 = CategoryFactory(slug="layer-1", name="Layer 1")
    defi = CategoryFactory(slug="defi", name="DeFi")
    CategoryFactory(slug="ai", name="AI")
    assets = [
        # 30,000 × 20M = $600B
        _asset(
            "bitcoin",
            "30000",
            "20000000",
            max_supply=D("21000000"),
            volume_24h=D("30000000000"),
            categories=[layer_1],
        ),
        # 2,500 × 120M = $300B
        _asset(
            "ethereum",
            "2500",
            "120000000",
            total_supply=D("120000000"),
            volume_24h=D("15000000000"),
            categories=[layer_1],
        ),
        # 150 × 600M = $90B
        _asset(
            "solana",
            "150",
            "600000000",
            total_supply=D("700000000"),
            volume_24h=D("9000000000"),
            categories=[layer_1],
        ),
        # 8 × 1B = $8B
        _asset(
            "chainlink",
            "8",
            "1000000000",
            max_supply=D("2000000000"),
            volume_24h=D("16000000000"),
            categories=[defi],
        ),
        # 2 × 990M = $1.98B
        _asset("arbitrum", "2", "990000000", volume_24h=D("198000000")),
        # 40 × 500,000 = $20M
        _asset(
            "tinycoin",
            "40",
            "500000",
            max_supply=D("1000000"),
            volume_24h=D("1000000"),
        ),
        _asset("unpriced-coin", None, "1000000"),
        _asset(
            "uncirculated-coin",
            "1",
            "0",
            max_supply=D("10000000"),
            volume_24h=D("100"),
            categories=[defi],
        ),
    ]
    return {asset.slug: asset for asset in assets}


def _slugs(queryset) -> list[str]:
    return [asset.slug for asset in queryset]


def test_market_overview_totals_dominance_and_altcoins(market):
    overview = queries.market_overview()

    assert overview.total_market_cap == D("1000000000000")
    assert overview.altcoin_market_cap == D("400000000000")
    assert overview.bitcoin_dominance == D("0.6")
    assert overview.ethereum_dominance == D("0.3")
    assert overview.asset_count == 8
    assert overview.ranked_count == 6


def test_market_overview_counts_and_sums_each_tier(market):
    tiers = {t.tier: t for t in queries.market_overview().tiers}

    assert [(t.tier, t.asset_count, t.market_cap, t.share) for t in tiers.values()] == [
        (Tier.LARGE, 3, D("990000000000"), D("0.99")),
        (Tier.MID, 2, D("9980000000"), D("0.00998")),
        (Tier.SMALL, 1, D("20000000"), D("0.00002")),
        (Tier.UNRANKED, 2, D("0"), None),
    ]
    assert tiers[Tier.LARGE].label == "Large cap"


def test_unranked_assets_are_counted_but_never_summed(market):
    before = queries.market_overview()
    _asset("another-unpriced", None, "5000000000")
    _asset("nothing-out-yet", "3", "0")

    after = queries.market_overview()

    assert after.asset_count == before.asset_count + 2
    assert after.ranked_count == before.ranked_count
    assert after.total_market_cap == before.total_market_cap
    assert after.tiers[-1].asset_count == 4
    assert after.tiers[-1].market_cap == 0


def test_market_overview_follows_tier_thresholds_in_settings(market, settings):
    settings.CAPSITE_TIER_LARGE_MIN = D("100000000000")  # $100B: solana becomes mid
    refresh_market_state()  # stored tiers follow new thresholds on a full refresh

    counts = {t.tier: t.asset_count for t in queries.market_overview().tiers}

    assert counts == {Tier.LARGE: 2, Tier.MID: 3, Tier.SMALL: 1, Tier.UNRANKED: 2}


def test_market_overview_of_an_empty_market_is_zero_without_dominance():
    overview = queries.market_overview()

    assert overview.total_market_cap == 0
    assert overview.altcoin_market_cap == 0
    assert overview.bitcoin_dominance is None
    assert overview.asset_count == 0
    assert overview.as_of is None


def test_category_totals_sum_ranked_caps_largest_first(market):
    totals = queries.category_totals(D("1000000000000"))

    assert [(c.slug, c.asset_count, c.market_cap, c.share) for c in totals] == [
        ("layer-1", 3, D("990000000000"), D("0.99")),
        ("defi", 2, D("8000000000"), D("0.008")),
        ("ai", 0, D("0"), None),
    ]


@pytest.mark.parametrize(
    ("filters", "slugs"),
    [
        ({"tier": Tier.LARGE}, ["bitcoin", "ethereum", "solana"]),
        ({"tier": Tier.MID}, ["chainlink", "arbitrum"]),
        ({"tier": Tier.SMALL}, ["tinycoin"]),
        ({"tier": Tier.UNRANKED}, ["uncirculated-coin", "unpriced-coin"]),
        ({"category": "layer-1"}, ["bitcoin", "ethereum", "solana"]),
        ({"category": "defi"}, ["chainlink", "uncirculated-coin"]),
        ({"category": "ai"}, []),
        ({"search": "ETHE"}, ["ethereum"]),  # symbol, any case
        ({"search": "  solana "}, ["solana"]),  # slug
        (
            {"search": "coin"},
            ["bitcoin", "tinycoin", "uncirculated-coin", "unpriced-coin"],
        ),
        ({"search": "unpriced-coin"}, ["unpriced-coin"]),
        (
            {"min_market_cap": D("1980000000"), "max_market_cap": D("8000000000")},
            ["chainlink", "arbitrum"],
        ),
        ({"min_market_cap": D("90000000001")}, ["bitcoin", "ethereum"]),
        ({"max_market_cap": D("20000000")}, ["tinycoin", "uncirculated-coin"]),
        ({"tier": Tier.LARGE, "search": "bitcoin"}, ["bitcoin"]),
        ({"tier": Tier.MID, "category": "layer-1"}, []),
    ],
)
def test_asset_table_filters(market, filters, slugs):
    assert _slugs(queries.asset_table(**filters)) == slugs


def test_asset_table_tier_filter_puts_1_billion_in_mid(market):
    _asset("on-the-line", "20", "50000000")  # exactly $1B

    assert "on-the-line" in _slugs(queries.asset_table(tier=Tier.MID))
    assert "on-the-line" not in _slugs(queries.asset_table(tier=Tier.SMALL))


RANK_ORDER = [
    "bitcoin",
    "ethereum",
    "solana",
    "chainlink",
    "arbitrum",
    "tinycoin",
    "uncirculated-coin",
    "unpriced-coin",
]


@pytest.mark.parametrize(
    ("sort", "slugs"),
    [
        ("rank", RANK_ORDER),
        (
            "-rank",
            [
                "tinycoin",
                "arbitrum",
                "chainlink",
                "solana",
                "ethereum",
                "bitcoin",
                "uncirculated-coin",
                "unpriced-coin",
            ],
        ),
        (
            "price",
            [
                "uncirculated-coin",
                "arbitrum",
                "chainlink",
                "tinycoin",
                "solana",
                "ethereum",
                "bitcoin",
                "unpriced-coin",
            ],
        ),
        (
            "-price",
            [
                "bitcoin",
                "ethereum",
                "solana",
                "tinycoin",
                "chainlink",
                "arbitrum",
                "uncirculated-coin",
                "unpriced-coin",
            ],
        ),
        (
            "market_cap",
            [
                "uncirculated-coin",
                "tinycoin",
                "arbitrum",
                "chainlink",
                "solana",
                "ethereum",
                "bitcoin",
                "unpriced-coin",
            ],
        ),
        ("-market_cap", RANK_ORDER),
        (
            # bitcoin 630B, ethereum 300B, solana 105B (total supply), chainlink
            # 16B, tinycoin 40M, uncirculated 10M; arbitrum has no supply to use
            "fdv",
            [
                "uncirculated-coin",
                "tinycoin",
                "chainlink",
                "solana",
                "ethereum",
                "bitcoin",
                "unpriced-coin",
                "arbitrum",
            ],
        ),
        (
            "-fdv",
            [
                "bitcoin",
                "ethereum",
                "solana",
                "chainlink",
                "tinycoin",
                "uncirculated-coin",
                "arbitrum",
                "unpriced-coin",
            ],
        ),
        (
            "volume_24h",
            [
                "uncirculated-coin",
                "tinycoin",
                "arbitrum",
                "solana",
                "ethereum",
                "chainlink",
                "bitcoin",
                "unpriced-coin",
            ],
        ),
        (
            "-volume_24h",
            [
                "bitcoin",
                "chainlink",
                "ethereum",
                "solana",
                "arbitrum",
                "tinycoin",
                "uncirculated-coin",
                "unpriced-coin",
            ],
        ),
        (
            # 0.05 for bitcoin, ethereum, tinycoin; 0.1 for arbitrum, solana;
            # 2.0 for chainlink; none without a positive cap. Ascending is the
            # exact reverse of descending, ties too; unknowns stay last.
            "volume_to_market_cap",
            [
                "tinycoin",
                "ethereum",
                "bitcoin",
                "solana",
                "arbitrum",
                "chainlink",
                "unpriced-coin",
                "uncirculated-coin",
            ],
        ),
        (
            "-volume_to_market_cap",
            [
                "chainlink",
                "arbitrum",
                "solana",
                "bitcoin",
                "ethereum",
                "tinycoin",
                "uncirculated-coin",
                "unpriced-coin",
            ],
        ),
    ],
)
def test_asset_table_sorts_with_unknown_values_last_and_ties_by_slug(
    market, sort, slugs
):
    assert _slugs(queries.asset_table(sort=sort)) == slugs


def test_ranks_are_global_when_the_table_is_filtered(market):
    page = list(queries.asset_table(tier=Tier.MID))

    assert [(asset.slug, asset.rank) for asset in page] == [
        ("chainlink", 4),
        ("arbitrum", 5),
    ]


def test_ranks_are_global_when_the_table_is_searched_and_re_sorted(market):
    page = list(queries.asset_table(search="coin", sort="-rank"))

    assert [(asset.slug, asset.rank) for asset in page] == [
        ("tinycoin", 6),
        ("bitcoin", 1),
        ("uncirculated-coin", None),
        ("unpriced-coin", None),
    ]


def test_unranked_assets_have_no_rank(market):
    ranks = queries.ranks_for([asset.pk for asset in market.values()])

    assert market["unpriced-coin"].pk not in ranks
    assert market["uncirculated-coin"].pk not in ranks
    assert sorted(ranks.values()) == [1, 2, 3, 4, 5, 6]


def test_equal_market_caps_are_ranked_by_slug():
    # $1B each, reached through different prices and supplies.
    beta = _asset("beta", "2", "500000000")
    alpha = _asset("alpha", "1", "1000000000")
    gamma = _asset("gamma", "4", "250000000")
    leader = _asset("leader", "5", "1000000000")

    ranks = queries.ranks_for([gamma.pk, beta.pk, alpha.pk, leader.pk])

    assert ranks == {leader.pk: 1, alpha.pk: 2, beta.pk: 3, gamma.pk: 4}
    assert _slugs(queries.asset_table()) == ["leader", "alpha", "beta", "gamma"]


def test_ranks_for_nothing_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert queries.ranks_for([]) == {}


def _bulk_market(count: int) -> None:
    """Create ``count`` assets in every tier, with categories, in a few inserts."""
    categories = CategoryFactory.create_batch(5)
    assets = AssetFactory.build_batch(count, max_supply=None, total_supply=None)
    # Caps in every tier; every 10th asset unpriced, every 97th with none out.
    for i, asset in enumerate(assets):
        asset.price = None if i % 10 == 0 else D(i) * D("0.5")
        asset.circulating_supply = D("100000000") * (i % 97)
    Asset.objects.bulk_create(assets)
    through = Asset.categories.through
    through.objects.bulk_create(
        through(asset_id=asset.pk, category_id=categories[i % 5].pk)
        for i, asset in enumerate(Asset.objects.order_by("pk"))
    )
    refresh_market_state()  # as every write path does


@pytest.mark.parametrize("count", [10, 1000])
def test_market_overview_runs_one_query_for_any_market_size(
    count, django_assert_num_queries
):
    _bulk_market(count)

    with django_assert_num_queries(1):
        overview = queries.market_overview()

    assert overview.asset_count == count


@pytest.mark.parametrize("count", [10, 1000])
def test_category_totals_run_one_query_for_any_market_size(
    count, django_assert_num_queries
):
    _bulk_market(count)

    with django_assert_num_queries(1):
        totals = queries.category_totals(D("1000000000000"))

    assert sum(category.asset_count for category in totals) == count


@pytest.mark.parametrize("count", [10, 1000])
@pytest.mark.parametrize("sort", ["rank", "-volume_to_market_cap"])
def test_a_table_page_with_ranks_runs_one_query_for_any_market_size(
    count, sort, django_assert_num_queries
):
    _bulk_market(count)

    # Ranks are stored columns: no window over the market on read.
    with django_assert_num_queries(1):
        page = list(queries.asset_table(sort=sort)[:50])

    assert len(page) == min(count, 50)
    if sort == "rank":
        ranked = [asset.rank for asset in page if asset.rank is not None]
        assert ranked == list(range(1, len(ranked) + 1))
