"""The market, asset and calculator pages: what they show, bad input, query budgets."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    SupplyUnlockFactory,
)
from valuations.models import Asset, MarketSnapshot
from valuations.signals import announce_snapshots
from valuations.state import refresh_market_state

D = Decimal

pytestmark = pytest.mark.django_db

MARKET = reverse("valuations:market")
CALCULATOR = reverse("valuations:calculator")


def _detail(slug: str) -> str:
    return reverse("valuations:asset-detail", kwargs={"slug": slug})


class _Rows(HTMLParser):
    """Collect the text of every cell of every ``<tbody>`` row, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _rows(response) -> list[list[str]]:
    parser = _Rows()
    parser.feed(response.content.decode())
    return parser.rows


def _names(response) -> list[str]:
    """The asset column of the market table: "Bitcoin BTC"."""
    return [row[1] for row in _rows(response)]


def _field_block(html: str, field: str) -> str:
    """The markup of one form field's wrapper ``<div class="field…">``."""
    match = re.search(
        rf'<div class="field[^"]*">\s*<label for="id_{field}">.*?</div>\s*(?=<div|$)',
        html,
        re.S,
    )
    assert match, f"no field block for {field}"
    return match.group(0)


def _asset(slug: str, price: str | None, circulating: str | None, **kwargs) -> Asset:
    """An asset with the price and circulating supply a test depends on.

    Other supplies and the volume default to unknown unless the test sets them.
    """
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
    """A $2T market: two large, two mid, one thin small cap and one unranked.

    BTC 76,500 × 20M = $1.53T (76.50 %); ETH 3,000 × 152.65M = $457.95B
    (22.8975 %); LINK 15 × 600M = $9B; UNI 5 × 600M = $3B; a $50M small cap
    trading 2 % of its cap a day; and an asset with no price.
    """
    layer_1 = CategoryFactory(slug="layer-1", name="Layer 1")
    defi = CategoryFactory(slug="defi", name="DeFi")
    return {
        "bitcoin": _asset(
            "bitcoin",
            "76500",
            "20000000",
            max_supply=D("21000000"),
            volume_24h=D("200000000000"),
            categories=[layer_1],
        ),
        "ethereum": _asset(
            "ethereum",
            "3000",
            "152650000",
            total_supply=D("152650000"),
            volume_24h=D("45795000000"),
            categories=[layer_1],
        ),
        "chainlink": _asset(
            "chainlink",
            "15",
            "600000000",
            max_supply=D("1000000000"),
            volume_24h=D("1800000000"),
            categories=[defi],
        ),
        "uniswap": _asset(
            "uniswap",
            "5",
            "600000000",
            max_supply=D("1000000000"),
            volume_24h=D("900000000"),
            categories=[defi],
        ),
        "thin-coin": _asset("thin-coin", "0.5", "100000000", volume_24h=D("50000")),
        "no-price": _asset("no-price", None, "5000000"),
    }


# --- market page -------------------------------------------------------------


def test_market_page_lists_assets_by_global_rank_with_tier_and_caps(client, market):
    response = client.get(MARKET)

    assert response.status_code == 200
    rows = _rows(response)
    assert [(row[0], row[1]) for row in rows] == [
        ("1", "Bitcoin BITC"),
        ("2", "Ethereum ETHE"),
        ("3", "Chainlink CHAI"),
        ("4", "Uniswap UNIS"),
        ("5", "Thin Coin THIN"),
        ("—", "No Price NO-P ⚑"),  # no volume reported: flagged
    ]
    bitcoin = rows[0]
    assert bitcoin[2] == "$76,500.00"
    assert bitcoin[3] == "$1.53T"
    assert bitcoin[7] == "large"
    assert bitcoin[8] == "76.50 %"
    assert [row[7] for row in rows] == [
        "large",
        "large",
        "mid",
        "mid",
        "small",
        "unranked",
    ]
    html = response.content.decode()
    assert '<td class="num" title="$1,530,000,000,000">$1.53T' in html
    assert '<span class="badge tier-mid">mid</span>' in html


def test_market_page_shows_total_and_altcoin_cap_and_btc_eth_dominance(client, market):
    html = client.get(MARKET).content.decode()

    # Total $2T; altcoins $2T − $1.53T = $470B.
    assert '<p class="figure" title="$2,000,000,000,000">$2.00T</p>' in html
    assert '<p class="figure" title="$470,000,000,000">$470.00B</p>' in html
    # BTC 1.53 ÷ 2 = 76.50 %; ETH 0.45795 ÷ 2 = 22.8975 % → 22.90 %.
    assert '<p class="figure" title="0.765">76.50 %</p>' in html
    assert '<p class="figure" title="0.228975">22.90 %</p>' in html
    assert "5 ranked assets" in html
    assert "6 assets" in html


def test_market_page_counts_assets_and_cap_per_tier(client, market):
    html = client.get(MARKET).content.decode()

    cards = dict(
        re.findall(
            r'<a class="card tier-card" href="\?tier=(\w+)">.*?'
            r'<p class="muted">(.*?)</p>',
            html,
            re.S,
        )
    )
    # Large $1,987.95B, mid $12B, small $50M of the $2T total.
    assert cards == {
        "large": "2 assets · 99.40 %",
        "mid": "2 assets · 0.60 %",
        "small": "1 asset · 0.00 %",
        "unranked": "1 asset",
    }
    assert 'title="$12,000,000,000">$12.00B</p>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tier=large", ["Bitcoin BITC", "Ethereum ETHE"]),
        ("tier=mid", ["Chainlink CHAI", "Uniswap UNIS"]),
        ("tier=small", ["Thin Coin THIN"]),
        ("tier=unranked", ["No Price NO-P ⚑"]),
        ("category=defi", ["Chainlink CHAI", "Uniswap UNIS"]),
        ("category=layer-1&tier=large", ["Bitcoin BITC", "Ethereum ETHE"]),
        ("q=chain", ["Chainlink CHAI"]),
        ("q=BITC", ["Bitcoin BITC"]),
        ("q=uniswap&tier=mid", ["Uniswap UNIS"]),
    ],
)
def test_market_filters_narrow_the_table(client, market, query, expected):
    response = client.get(f"{MARKET}?{query}")

    assert response.status_code == 200
    assert _names(response) == expected


def test_filtered_table_still_shows_global_ranks(client, market):
    response = client.get(f"{MARKET}?tier=mid")

    assert [(row[0], row[1]) for row in _rows(response)] == [
        ("3", "Chainlink CHAI"),
        ("4", "Uniswap UNIS"),
    ]


def test_search_result_keeps_its_global_rank(client, market):
    response = client.get(f"{MARKET}?q=thin")

    assert [(row[0], row[1]) for row in _rows(response)] == [("5", "Thin Coin THIN")]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            "-price",
            ["bitcoin", "ethereum", "chainlink", "uniswap", "thin-coin", "no-price"],
        ),
        (
            "price",
            ["thin-coin", "uniswap", "chainlink", "ethereum", "bitcoin", "no-price"],
        ),
        (
            "-volume_24h",
            ["bitcoin", "ethereum", "chainlink", "uniswap", "thin-coin", "no-price"],
        ),
        (
            "-rank",
            ["thin-coin", "uniswap", "chainlink", "ethereum", "bitcoin", "no-price"],
        ),
    ],
)
def test_sort_links_order_the_rows(client, market, sort, expected):
    response = client.get(f"{MARKET}?sort={sort}")

    names = [market[slug].name + " " + slug[:4].upper() for slug in expected]
    assert [name.removesuffix(" ⚑") for name in _names(response)] == names


def test_sort_header_links_flip_the_current_direction(client, market):
    html = client.get(f"{MARKET}?sort=-price").content.decode()

    assert '<th scope="col" aria-sort="descending"><a href="?sort=price">' in html
    assert '<a href="?sort=-market_cap">Market cap</a>' in html


def test_sorted_table_still_shows_global_ranks(client, market):
    response = client.get(f"{MARKET}?sort=price")

    assert [row[0] for row in _rows(response)] == ["5", "4", "3", "2", "1", "—"]


def test_market_table_is_paginated_and_page_two_continues_the_ranks(
    client, market, settings
):
    settings.CAPSITE_PAGE_SIZE = 2

    first = client.get(MARKET)
    second = client.get(f"{MARKET}?page=2")

    assert "Page 1 of 3" in first.content.decode()
    assert [row[0] for row in _rows(first)] == ["1", "2"]
    assert 'href="?page=2" rel="next"' in first.content.decode()
    assert second.status_code == 200
    assert "Page 2 of 3" in second.content.decode()
    assert [(row[0], row[1]) for row in _rows(second)] == [
        ("3", "Chainlink CHAI"),
        ("4", "Uniswap UNIS"),
    ]


def test_pagination_links_keep_the_filters(client, market, settings):
    settings.CAPSITE_PAGE_SIZE = 1

    html = client.get(f"{MARKET}?tier=large").content.decode()

    assert "Page 1 of 2" in html
    assert 'href="?tier=large&amp;page=2" rel="next"' in html


def test_thin_liquidity_asset_shows_the_warning_and_low_band(client, market):
    rows = {row[1]: row for row in _rows(client.get(MARKET))}

    # $50,000 a day, below $100,000 (and 0.1 % of $50M): the cap is unreliable.
    thin = rows["Thin Coin THIN"]
    assert thin[3] == "$50.00M ⚠"
    assert thin[6] == "0.001 low"
    # $200B ÷ $1.53T ≈ 0.131: healthy, no warning.
    bitcoin = rows["Bitcoin BITC"]
    assert "⚠" not in " ".join(bitcoin)
    assert bitcoin[6] == "0.131 healthy"


def test_empty_database_shows_the_empty_state(client):
    response = client.get(MARKET)

    assert response.status_code == 200
    html = response.content.decode()
    assert "No market data yet." in html
    assert "<table" not in html


def test_filters_matching_nothing_say_so(client, market):
    response = client.get(f"{MARKET}?q=nothing-like-this")

    assert response.status_code == 200
    assert "No assets match these filters." in response.content.decode()
    assert _rows(response) == []


def test_unknown_tier_is_a_400_with_the_error_beside_the_tier_field(client, market):
    response = client.get(f"{MARKET}?tier=bogus")

    assert response.status_code == 400
    html = response.content.decode()
    tier = _field_block(html, "tier")
    assert "Select a valid choice. bogus is not one of the available choices." in tier
    assert 'aria-describedby="id_tier_error"' in tier
    assert 'id="id_tier_error"' in tier
    assert "errorlist" not in _field_block(html, "q")
    # The page still renders, unfiltered.
    assert len(_rows(response)) == len(market)
    assert "$2.00T" in html


def test_unknown_sort_and_category_are_400s_too(client, market):
    assert client.get(f"{MARKET}?sort=name").status_code == 400
    assert client.get(f"{MARKET}?category=nope").status_code == 400


@pytest.mark.parametrize("asset_count", [10, 1000])
def test_market_page_query_count_does_not_grow_with_assets(
    client, django_assert_num_queries, asset_count
):
    defi = CategoryFactory(slug="defi", name="DeFi")
    Asset.objects.bulk_create(AssetFactory.build_batch(asset_count))
    Asset.categories.through.objects.bulk_create(
        Asset.categories.through(asset_id=pk, category_id=defi.pk)
        for pk in Asset.objects.values_list("pk", flat=True)[:5]
    )
    refresh_market_state()  # as every write path does

    # Category choices, the stored market state, the page (count and ranks are
    # stored; the summary is cached per market version), the stored market
    # history's days (valuations.history).
    with django_assert_num_queries(4):
        response = client.get(MARKET)

    assert response.status_code == 200
    assert len(_rows(response)) == min(asset_count, 100)


def test_filtered_market_page_runs_the_same_number_of_queries(
    client, market, django_assert_num_queries
):
    url = f"{MARKET}?tier=mid&category=defi&q=chain&sort=-price&page=1"
    # Choices, state, the filtered count (once per market version), the page,
    # the market history's days.
    with django_assert_num_queries(5):
        client.get(url)
    # Count and table are cached per market version: choices and state only.
    with django_assert_num_queries(2):
        client.get(url)


# --- asset page --------------------------------------------------------------


@pytest.fixture
def aave() -> Asset:
    """$2 × 100M = $200M, max 400M: FDV $800M, dilution 4, 25 % circulating.

    With an $800M asset beside it the total is $1B, so dominance is 20 %.
    """
    _asset("other-coin", "8", "100000000")
    defi = CategoryFactory(slug="defi", name="DeFi")
    lending = CategoryFactory(slug="lending", name="Lending")
    return _asset(
        "aave-like",
        "2",
        "100000000",
        max_supply=D("400000000"),
        total_supply=D("300000000"),
        volume_24h=D("30000000"),
        categories=[defi, lending],
    )


def _card_html(html: str, title: str) -> str:
    """The markup inside one figure card of the asset page."""
    match = re.search(rf'<div class="card"><h2>{title}</h2>(.*?)</div>', html, re.S)
    assert match, f"no card {title}"
    return match.group(1)


def _card(html: str, title: str) -> str:
    """The text of one figure card, tags removed: "$200.00M $200,000,000"."""
    return " ".join(re.sub(r"<[^>]+>", " ", _card_html(html, title)).split())


def test_asset_page_shows_every_metric(client, aave):
    response = client.get(_detail("aave-like"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Rank #2 by market cap" in html
    assert '<span class="badge tier-small">small</span>' in html
    assert _card(html, "Price") == "$2.00"
    assert _card(html, "Market cap") == "$200.00M $200,000,000"
    assert _card(html, "Fully diluted valuation") == "$800.00M price × max supply"
    assert _card(html, "Dilution ratio") == ("4.00 tokens still to enter circulation")
    # $30M ÷ $200M = 0.15: healthy.
    assert _card(html, "24 h volume") == "$30.00M 0.150 of cap healthy"
    assert _card(html, "Dominance") == "20.00 % of the total market cap"
    # $1B ÷ 100M tokens = $10 lifts it into mid cap.
    assert _card(html, "Next tier") == "$10.00 price to reach mid cap"
    assert "<dt>Circulating share</dt><dd" in html
    assert ">25.00 %</dd>" in html
    assert 'title="100000000">100,000,000</dd>' in html
    assert 'title="400000000">400,000,000</dd>' in html
    assert '<a href="/?category=defi">DeFi</a>, ' in html
    assert '<a href="/?category=lending">Lending</a>' in html
    assert "Thin trading" not in html


def test_asset_page_names_total_supply_as_the_fdv_basis_without_a_max(client):
    _asset(
        "no-cap-coin",
        "3",
        "1000000",
        total_supply=D("4000000"),
        volume_24h=D("10000"),
    )

    html = client.get(_detail("no-cap-coin")).content.decode()

    assert _card(html, "Fully diluted valuation") == (
        "$12.00M price × total supply (no max supply)"
    )
    assert ">no cap</dd>" in html
    assert '25.00 % <span class="muted">of total</span>' in html
    # $10,000 a day is below $100,000: the cap is flagged as unreliable; the
    # turnover band ($10,000 ÷ $3M ≈ 0.003) stays a plain label.
    assert "⚠ Thin market: 24 h volume of $10,000 is below $100,000." in html
    assert ">low</span>" in _card_html(html, "24 h volume")


def test_asset_page_of_an_unranked_asset_explains_the_missing_figures(client):
    _asset("pre-launch", None, None)

    html = client.get(_detail("pre-launch")).content.decode()

    assert "Unranked: no market cap is known" in html
    assert '<span class="badge tier-unranked">unranked</span>' in html
    assert _card(html, "Next tier") == "— needs a price and circulating supply"
    assert _card(html, "Market cap") == "— —"


def test_large_cap_asset_page_says_it_is_already_the_top_tier(client, market):
    html = client.get(_detail("bitcoin")).content.decode()

    assert "Rank #1 by market cap" in html
    assert _card(html, "Next tier") == "— already the top tier"
    assert _card(html, "Dominance") == "76.50 % of the total market cap"


def test_asset_page_draws_the_history_chart_from_two_snapshots(client):
    asset = _asset("charted", "2", "1000000")
    MarketSnapshotFactory(
        asset=asset,
        taken_at=datetime(2026, 4, 1, tzinfo=UTC),
        price=D("1"),
        circulating_supply=D("1000000"),
    )
    MarketSnapshotFactory(
        asset=asset,
        taken_at=datetime(2026, 4, 2, tzinfo=UTC),
        price=D("1.5"),
        circulating_supply=D("1000000"),
    )

    html = client.get(_detail("charted")).content.decode()

    assert html.count('<svg class="graph"') == 2  # price, and market cap
    # $1 to $1.50 kept 6 % of the span clear: 0.97–1.53, 180 px tall.
    assert '<polyline class="line price" points="0,170.4 1000,9.6"/>' in html
    assert "2 daily snapshots" in html
    assert (
        '<tr data-x="100.0" data-y="17.6 17.6"><th scope="row">2 Apr 2026</th>'
        "<td>$1.50</td><td>$1.50M</td></tr>"
    ) in html
    assert "+50.0 % over the period" in html
    assert "Not enough history" not in html


@pytest.mark.parametrize("snapshots", [0, 1])
def test_asset_page_without_enough_history_shows_the_empty_state(client, snapshots):
    asset = _asset("fresh", "2", "1000000")
    for day in range(snapshots):
        MarketSnapshotFactory(
            asset=asset, taken_at=datetime(2026, 4, 1 + day, tzinfo=UTC)
        )

    html = client.get(_detail("fresh")).content.decode()

    assert f"Not enough history yet: {snapshots} snapshot" in html
    assert "<polyline" not in html


def test_unlock_table_projects_supply_cap_and_tier_after_each_unlock(client):
    # $4 × 200M = $800M (small). +25M → 225M, $900M, still small;
    # +75M → 300M, $1.2B: the second unlock lifts it into mid cap.
    asset = _asset("vesting-coin", "4", "200000000", max_supply=D("1000000000"))
    SupplyUnlockFactory(
        asset=asset, date=date(2026, 9, 1), amount=D("75000000"), note="Investors"
    )
    SupplyUnlockFactory(
        asset=asset, date=date(2026, 6, 1), amount=D("25000000"), note="Team"
    )

    response = client.get(_detail("vesting-coin"))

    assert _rows(response) == [
        ["1 Jun 2026", "25,000,000", "225,000,000", "$900.00M", "small", "Team"],
        ["1 Sep 2026", "75,000,000", "300,000,000", "$1.20B", "mid", "Investors"],
    ]
    assert 'title="$1,200,000,000">$1.20B</td>' in response.content.decode()


def test_asset_without_unlocks_says_none_are_recorded(client):
    _asset("no-unlocks", "2", "1000000")

    html = client.get(_detail("no-unlocks")).content.decode()

    assert "No scheduled unlocks recorded for No Unlocks." in html
    assert "Add one in the admin" not in html


def test_the_stale_notice_moves_with_the_clock_on_a_cached_page(client, time_machine):
    _asset("old-coin", "2", "1000000", last_updated=datetime(2026, 4, 1, tzinfo=UTC))
    time_machine.move_to(datetime(2026, 4, 2, 0, 30, tzinfo=UTC), tick=False)
    first = client.get(_detail("old-coin")).content.decode()

    # 40 minutes on: the content is still cached, the notice is not.
    time_machine.move_to(datetime(2026, 4, 2, 1, 10, tzinfo=UTC), tick=False)
    later = client.get(_detail("old-coin")).content.decode()

    assert "last updated 1\xa0day ago" in first
    assert "last updated 1\xa0day, 1\xa0hour ago" in later


def test_the_cached_asset_page_still_offers_staff_the_admin_link(client, admin_client):
    _asset("no-unlocks", "2", "1000000")

    anonymous = client.get(_detail("no-unlocks")).content.decode()
    staff = admin_client.get(_detail("no-unlocks")).content.decode()

    assert "Add one in the admin" not in anonymous
    assert "Add one in the admin" in staff


def test_unknown_asset_is_404(client, market):
    assert client.get(_detail("no-such-coin")).status_code == 404


@pytest.mark.parametrize(("snapshots", "unlocks"), [(1, 0), (200, 20)])
def test_asset_page_query_count_does_not_grow_with_history_or_unlocks(
    client, django_assert_num_queries, snapshots, unlocks
):
    asset = _asset(
        "busy-coin",
        "2",
        "1000000",
        max_supply=D("100000000"),
        categories=[CategoryFactory(slug="defi", name="DeFi")],
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    MarketSnapshot.objects.bulk_create(
        MarketSnapshotFactory.build(asset=asset, taken_at=start + timedelta(days=i))
        for i in range(snapshots)
    )
    SupplyUnlockFactory.create_batch(unlocks, asset=asset)

    # Asset (with its stored volatility), its categories, the market state,
    # snapshots, unlocks, tier changes, category peers (valuations.peers).
    with django_assert_num_queries(7):
        response = client.get(_detail("busy-coin"))

    assert response.status_code == 200
    # The chart's data table has a row per snapshot once there are two.
    charted = snapshots if snapshots > 1 else 0
    # Plus one row among its category peers (the factory's one category).
    assert len(_rows(response)) == charted + unlocks + 1


def test_asset_page_is_built_once_per_market_version(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    asset = _asset("cached-coin", "2", "1000000")
    for day, price in [(1, "1"), (2, "1.5")]:
        MarketSnapshotFactory(
            asset=asset,
            taken_at=datetime(2026, 4, day, tzinfo=UTC),
            price=D(price),
            circulating_supply=D("1000000"),
        )
    assert "2 daily snapshots" in client.get(_detail("cached-coin")).content.decode()

    # Again at the same version: the asset and the market state; no snapshot,
    # tier change, category, unlock or peer read.
    with django_assert_num_queries(2):
        again = client.get(_detail("cached-coin")).content.decode()
    assert "2 daily snapshots" in again

    # A snapshot write, announced as imports do, shows on the next view.
    MarketSnapshotFactory(
        asset=asset,
        taken_at=datetime(2026, 4, 3, tzinfo=UTC),
        price=D("3"),
        circulating_supply=D("1000000"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        announce_snapshots(asset_ids=[asset.pk], since=date(2026, 4, 3))
    html = client.get(_detail("cached-coin")).content.decode()
    assert "3 daily snapshots" in html
    assert "+200.0 % over the period" in html


# --- calculator --------------------------------------------------------------


def _facts(response) -> dict[str, str]:
    """The calculator's result as {term: text}."""
    html = response.content.decode()
    pairs = re.findall(r"<div><dt>(.*?)</dt><dd[^>]*>(.*?)</dd></div>", html, re.S)
    return {
        term: " ".join(re.sub(r"<[^>]+>", " ", value).split()) for term, value in pairs
    }


@pytest.mark.parametrize(
    ("query", "cap", "tier"),
    [
        ("price=40&circulating_supply=500000", "$20,000,000", "small"),
        # The $1B boundary belongs to the upper tier.
        ("price=20&circulating_supply=50000000", "$1,000,000,000", "mid"),
        ("price=25761&circulating_supply=19482197", "$501,880,876,917", "large"),
        ("price=0&circulating_supply=1000", "$0.00", "unranked"),
    ],
)
def test_calculator_shows_the_market_cap_and_tier(client, query, cap, tier):
    response = client.get(f"{CALCULATOR}?{query}")

    assert response.status_code == 200
    facts = _facts(response)
    assert facts["Market cap"] == cap
    assert facts["Tier"] == tier
    assert f'<span class="badge tier-{tier}">' in response.content.decode()


def test_calculator_shows_fdv_dilution_and_next_tier_price(client):
    # $20 × 10M = $200M; × 40M max = $800M FDV: dilution 4, 25 % circulating.
    response = client.get(
        f"{CALCULATOR}?price=20&circulating_supply=10000000&max_supply=40000000"
        "&volume_24h=30000000"
    )

    assert response.status_code == 200
    facts = _facts(response)
    assert facts["Market cap"] == "$200,000,000"
    assert facts["Fully diluted valuation"] == "$800,000,000 (price × max supply)"
    assert facts["Dilution ratio"] == "4.00"
    assert facts["Circulating share"] == "25.00 %"
    assert facts["Volume ÷ market cap"] == "0.150 healthy"
    # $1B ÷ 10M = $100 reaches mid cap.
    assert facts["Next tier"] == "$100.00 reaches mid cap"


def test_calculator_falls_back_to_total_supply_for_fdv(client):
    response = client.get(
        f"{CALCULATOR}?price=2&circulating_supply=1000000&total_supply=3000000"
    )

    facts = _facts(response)
    assert facts["Fully diluted valuation"] == (
        "$6,000,000 (price × total supply: no max supply given)"
    )
    assert facts["Dilution ratio"] == "3.00"


def test_calculator_flags_thin_volume(client):
    response = client.get(
        f"{CALCULATOR}?price=40&circulating_supply=500000&volume_24h=20000"
    )

    # $20,000 a day is below $100,000; the band ($20k ÷ $20M = 0.001) a label.
    assert _facts(response)["Volume ÷ market cap"] == "0.001 low"
    assert "⚠ Thin market" in response.content.decode()


def test_calculator_does_not_flag_a_liquid_low_band(client):
    response = client.get(
        f"{CALCULATOR}?price=40&circulating_supply=500000&volume_24h=100000"
    )

    # $100k ÷ $20M = 0.5 %: a "low" turnover band, yet above both thin limits.
    assert _facts(response)["Volume ÷ market cap"] == "0.005 low"
    assert "⚠" not in response.content.decode()


def test_calculator_large_cap_has_no_next_tier(client):
    response = client.get(f"{CALCULATOR}?price=25761&circulating_supply=19482197")

    assert _facts(response)["Next tier"] == "already large cap"


def test_calculator_without_input_shows_the_empty_state(client):
    response = client.get(CALCULATOR)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Results appear here." in html
    assert "<h2>Result</h2>" not in html
    assert "has-error" not in html
    assert "aria-invalid" not in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "price=-1&circulating_supply=500000",
            "price",
            "Ensure this value is greater than or equal to 0.",
        ),
        ("price=abc&circulating_supply=500000", "price", "Enter a number."),
        ("price=40", "circulating_supply", "This field is required."),
        (
            "price=40&circulating_supply=500000&max_supply=100000",
            "circulating_supply",
            "Circulating supply cannot exceed the max supply (100,000).",
        ),
        (
            "price=40&circulating_supply=500000&volume_24h=-5",
            "volume_24h",
            "Ensure this value is greater than or equal to 0.",
        ),
    ],
)
def test_calculator_bad_input_is_a_400_with_the_error_beside_the_field(
    client, query, field, message
):
    response = client.get(f"{CALCULATOR}?{query}")

    assert response.status_code == 400
    html = response.content.decode()
    block = _field_block(html, field)
    assert f'<div class="error" id="id_{field}_error">{message}</div>' in block
    # The input points screen readers at its error.
    assert f'aria-describedby="id_{field}_error' in block or (
        f'aria-describedby="id_{field}_helptext id_{field}_error"' in block
    )
    assert html.count('class="error"') == 1
    assert "<h2>Result</h2>" not in html


# --- every page --------------------------------------------------------------


@pytest.fixture
def page_urls(market) -> list[str]:
    return [MARKET, _detail("bitcoin"), f"{CALCULATOR}?price=40&circulating_supply=1"]


def test_pages_load_nothing_from_other_hosts(client, page_urls):
    for url in page_urls:
        html = client.get(url).content.decode()
        assert not re.search(r'\ssrc="(https?:)?//', html), url
        external = set(re.findall(r'\shref="((?:https?:)?//[^"]*)"', html))
        # The only outside link is the data source credit, not a resource.
        assert external == {"https://www.coingecko.com"}, url
        # Scripts only as the site's own static files: none inline, none elsewhere.
        scripts = re.findall(r"<script[^>]*>", html)
        assert all(
            re.fullmatch(r'<script src="/static/[^"]+"( defer)?>', tag)
            for tag in scripts
        ), url


def test_pages_use_the_bundled_stylesheet(client, page_urls):
    for url in page_urls:
        html = client.get(url).content.decode()
        assert '<link rel="stylesheet" href="/static/capsite/site.css">' in html
    assert finders.find("capsite/site.css") is not None
    assert finders.find("capsite/favicon.svg") is not None


@pytest.mark.parametrize("page", ["market", "asset"])
def test_market_and_asset_pages_credit_coingecko(client, market, page):
    url = MARKET if page == "market" else _detail("ethereum")

    html = client.get(url).content.decode()

    assert '<a href="https://www.coingecko.com" rel="noopener">CoinGecko</a>' in html


def test_the_market_page_explains_the_thin_market_mark(client, market):
    text = client.get(MARKET).content.decode()

    assert (
        "⚠ marks a thin market (24 h volume unknown, under $100,000, or under "
        "0.2 % of the market cap)"
    ) in text


def test_the_flag_filter_lists_only_assets_with_that_data_quality_flag(client, market):
    market["uniswap"].provider_market_cap = D("9000000000")  # 3B by price × supply
    market["uniswap"].save()

    mismatched = client.get(f"{MARKET}?flag=cap_mismatch")
    silent = client.get(f"{MARKET}?flag=no_volume")
    bogus = client.get(f"{MARKET}?flag=bogus")

    assert _names(mismatched) == ["Uniswap UNIS ⚑"]
    assert _names(silent) == ["No Price NO-P ⚑"]
    assert 'href="/assets/uniswap/#data-quality"' in mismatched.content.decode()
    assert bogus.status_code == 400
    assert "Select a valid choice" in bogus.content.decode()


def test_asset_page_shows_each_flag_with_both_values_and_the_providers_figures(
    client, market
):
    uniswap = market["uniswap"]
    uniswap.provider_market_cap = D("3300000000")
    uniswap.provider_fdv = D("5000000000")
    uniswap.provider_rank = 7
    uniswap.save()

    html = client.get(uniswap.get_absolute_url()).content.decode()

    # 5 × 600,000,000 = $3,000,000,000; the provider says 3.3B: 10 % more.
    assert "The provider publishes a market cap of $3,300,000,000; price × " in html
    assert "circulating supply is $3,000,000,000 (+10.0 %)" in html
    assert "Provider: $3.30B (+10.0 %)" in html
    # FDV 5 × 1,000,000,000 agrees with the provider's: not repeated.
    assert "Provider: $5.00B" not in html
    assert "(provider: #7)" in html
