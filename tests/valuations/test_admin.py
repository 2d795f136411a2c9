"""Admin for assets and their market data: columns, filters, validation, queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    SupplyUnlockFactory,
)
from valuations.admin.assets import INLINE_SNAPSHOTS
from valuations.forms_admin import AssetAdminForm
from valuations.models import Asset, SupplyUnlock

CHANGELIST = "admin:valuations_asset_changelist"


def _bitcoin(**overrides: object) -> Asset:
    """25,761 × 19,482,197 = $501,880,876,917: large, and healthy at $60B volume."""
    values = {
        "slug": "bitcoin",
        "symbol": "btc",
        "name": "Bitcoin",
        "price": Decimal("25761"),
        "circulating_supply": Decimal("19482197"),
        "total_supply": Decimal("19482197"),
        "max_supply": Decimal("21000000"),
        "volume_24h": Decimal("60000000000"),
    }
    return AssetFactory(**{**values, **overrides})


def _tiered_assets() -> dict[str, Asset]:
    """One asset per tier, with PRODUCT.md's worked examples for the caps."""
    return {
        "large": _bitcoin(),
        # $20 × 50,000,000 = $1,000,000,000: the boundary belongs to mid.
        "mid": AssetFactory(
            slug="midcoin",
            symbol="mid",
            name="Mid Coin",
            price=Decimal("20"),
            circulating_supply=Decimal("50000000"),
            max_supply=None,
            volume_24h=Decimal("200000000"),
        ),
        # $40 × 500,000 = $20,000,000; $1,000 traded in 24 h is a thin market.
        "small": AssetFactory(
            slug="thincoin",
            symbol="thin",
            name="Thin Coin",
            price=Decimal("40"),
            circulating_supply=Decimal("500000"),
            volume_24h=Decimal("1000"),
        ),
        "unranked": AssetFactory(
            slug="newcoin", symbol="new", name="New Coin", price=None
        ),
    }


def _row(html: str, name: str) -> str:
    """Return the changelist table row whose link text is the asset's name."""
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.DOTALL):
        if f">{name}</a>" in row:
            return row
    raise AssertionError(f"No changelist row for {name}")


def _slugs(response) -> list[str]:
    return [asset.slug for asset in response.context["cl"].result_list]


def _asset_form(**overrides: str) -> dict[str, str]:
    """POST data for the asset add/change page, with empty inline formsets."""
    data = {
        "slug": "bitcoin",
        "symbol": "btc",
        "name": "Bitcoin",
        "price": "25761",
        "circulating_supply": "19482197",
        "total_supply": "19482197",
        "max_supply": "21000000",
        "volume_24h": "60000000000",
        "last_updated_0": "2026-04-30",
        "last_updated_1": "02:00:00",
        "source": "coingecko",
    }
    for prefix in ("snapshots", "unlocks", "provider_ids"):
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return data | overrides


def test_changelist_shows_rank_market_cap_tier_and_liquidity(staff_client: Client):
    _tiered_assets()

    response = staff_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    html = response.content.decode()
    bitcoin = _row(html, "Bitcoin")
    assert '<td class="field-rank">1</td>' in bitcoin
    assert '<td class="field-market_cap_usd">501,880,876,917</td>' in bitcoin
    assert '<td class="field-tier">Large cap</td>' in bitcoin
    assert '<td class="field-liquidity">Healthy</td>' in bitcoin
    mid = _row(html, "Mid Coin")
    assert '<td class="field-rank">2</td>' in mid
    assert '<td class="field-tier">Mid cap</td>' in mid
    thin = _row(html, "Thin Coin")
    assert '<td class="field-rank">3</td>' in thin
    assert '<td class="field-tier">Small cap</td>' in thin
    newcoin = _row(html, "New Coin")
    assert '<td class="field-tier">Unranked</td>' in newcoin
    assert '<td class="field-rank">-</td>' in newcoin


def test_changelist_flags_a_thin_market_as_an_unreliable_cap(staff_client: Client):
    _tiered_assets()

    html = staff_client.get(reverse(CHANGELIST)).content.decode()

    assert "thin: cap unreliable" in _row(html, "Thin Coin")
    assert "cap unreliable" not in _row(html, "Bitcoin")


def test_changelist_shows_global_ranks_when_filtered(staff_client: Client):
    _tiered_assets()

    response = staff_client.get(reverse(CHANGELIST), {"tier": "small"})

    assert [asset.rank for asset in response.context["cl"].result_list] == [3]


@pytest.mark.parametrize(
    ("tier", "slug"),
    [
        ("large", "bitcoin"),
        ("mid", "midcoin"),
        ("small", "thincoin"),
        ("unranked", "newcoin"),
    ],
)
def test_tier_filter_lists_only_that_tier(staff_client: Client, tier: str, slug: str):
    _tiered_assets()

    response = staff_client.get(reverse(CHANGELIST), {"tier": tier})

    assert response.status_code == 200
    assert _slugs(response) == [slug]


def test_category_filter_lists_only_that_categorys_assets(staff_client: Client):
    layer1 = CategoryFactory(slug="layer-1", name="Layer 1")
    defi = CategoryFactory(slug="defi", name="DeFi")
    _bitcoin(categories=[layer1])
    AssetFactory(slug="uniswap", categories=[defi])

    response = staff_client.get(
        reverse(CHANGELIST), {"categories__id__exact": layer1.pk}
    )

    assert _slugs(response) == ["bitcoin"]


@pytest.mark.parametrize("text", ["xbt-id", "ZZZ", "satoshi"])
def test_search_finds_assets_by_slug_symbol_or_name(staff_client: Client, text: str):
    AssetFactory(slug="xbt-id", symbol="zzz", name="Satoshi Coin")
    AssetFactory(slug="other", symbol="oth", name="Other Coin")

    response = staff_client.get(reverse(CHANGELIST), {"q": text})

    assert _slugs(response) == ["xbt-id"]


def test_market_cap_column_sorts_with_unknown_caps_as_smallest(staff_client: Client):
    _tiered_assets()
    column = staff_client.get(reverse(CHANGELIST)).context["cl"].list_display
    index = column.index("market_cap_usd")

    ascending = staff_client.get(reverse(CHANGELIST), {"o": str(index)})
    descending = staff_client.get(reverse(CHANGELIST), {"o": f"-{index}"})

    assert _slugs(ascending) == ["newcoin", "thincoin", "midcoin", "bitcoin"]
    assert _slugs(descending) == ["bitcoin", "midcoin", "thincoin", "newcoin"]


def _changelist_query_count(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_changelist_runs_the_same_queries_for_5_or_30_assets(staff_client: Client):
    category = CategoryFactory()
    AssetFactory.create_batch(4, categories=[category])
    AssetFactory(price=None)
    staff_client.get(reverse(CHANGELIST))  # warm the session and caches
    with_five = _changelist_query_count(staff_client)

    AssetFactory.create_batch(24, categories=[category])
    AssetFactory(price=None)
    with_thirty = _changelist_query_count(staff_client)

    assert with_thirty == with_five


def test_adding_an_asset_above_its_max_supply_is_refused_on_the_field(
    staff_client: Client,
):
    response = staff_client.post(
        reverse("admin:valuations_asset_add"),
        _asset_form(circulating_supply="21000001"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["circulating_supply"] == [
        "Circulating supply cannot exceed the max supply (21,000,000)."
    ]
    assert "Circulating supply cannot exceed the max supply (21,000,000)." in (
        response.content.decode()
    )
    assert not Asset.objects.exists()


def test_changing_an_asset_above_its_max_supply_is_refused_and_saves_nothing(
    staff_client: Client,
):
    bitcoin = _bitcoin()

    response = staff_client.post(
        reverse("admin:valuations_asset_change", args=[bitcoin.pk]),
        _asset_form(max_supply="19000000"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["circulating_supply"] == [
        "Circulating supply cannot exceed the max supply (19,000,000)."
    ]
    bitcoin.refresh_from_db()
    assert bitcoin.max_supply == Decimal("21000000")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("price", "Price must be zero or more."),
        ("circulating_supply", "Circulating supply must be zero or more."),
        ("total_supply", "Total supply must be zero or more."),
        ("max_supply", "Max supply must be zero or more."),
        ("volume_24h", "Volume 24h must be zero or more."),
    ],
)
def test_a_negative_number_is_refused_on_its_field(
    staff_client: Client, field: str, message: str
):
    bitcoin = _bitcoin()

    response = staff_client.post(
        reverse("admin:valuations_asset_change", args=[bitcoin.pk]),
        _asset_form(**{field: "-1"}),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    bitcoin.refresh_from_db()
    assert getattr(bitcoin, field) >= 0


def test_a_valid_change_saves_and_updates_the_market_cap(staff_client: Client):
    bitcoin = _bitcoin()

    response = staff_client.post(
        reverse("admin:valuations_asset_change", args=[bitcoin.pk]),
        _asset_form(price="30000"),
    )

    assert response.status_code == 302
    bitcoin.refresh_from_db()
    assert bitcoin.price == Decimal("30000")
    assert bitcoin.market_cap == Decimal("584465910000")


def test_asset_page_shows_snapshot_and_unlock_inlines(staff_client: Client):
    bitcoin = _bitcoin()
    snapshot = MarketSnapshotFactory(asset=bitcoin, price=Decimal("24000"))
    unlock = SupplyUnlockFactory(asset=bitcoin, note="Miner rewards")

    response = staff_client.get(
        reverse("admin:valuations_asset_change", args=[bitcoin.pk])
    )

    assert response.status_code == 200
    formsets = {
        f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]
    }
    assert [form.instance for form in formsets["snapshots"].forms] == [snapshot]
    assert [form.instance for form in formsets["unlocks"].forms] == [unlock]
    html = response.content.decode()
    assert "Market snapshots" in html
    assert "Supply unlocks" in html
    assert "Miner rewards" in html


def test_asset_page_shows_only_the_latest_snapshots(staff_client: Client):
    bitcoin = _bitcoin()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day in range(INLINE_SNAPSHOTS + 2):
        MarketSnapshotFactory(asset=bitcoin, taken_at=start + timedelta(days=day))

    response = staff_client.get(
        reverse("admin:valuations_asset_change", args=[bitcoin.pk])
    )

    formsets = {
        f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]
    }
    shown = [form.instance.taken_at for form in formsets["snapshots"].forms]
    assert len(shown) == INLINE_SNAPSHOTS
    assert shown[0] == start + timedelta(days=INLINE_SNAPSHOTS + 1)
    assert start not in shown


def test_a_snapshot_with_a_negative_price_is_refused_on_the_inline(
    staff_client: Client,
):
    bitcoin = _bitcoin()
    data = _asset_form(
        **{
            "snapshots-TOTAL_FORMS": "1",
            "snapshots-0-taken_at_0": "2026-04-29",
            "snapshots-0-taken_at_1": "00:00:00",
            "snapshots-0-price": "-5",
        }
    )

    response = staff_client.post(
        reverse("admin:valuations_asset_change", args=[bitcoin.pk]), data
    )

    assert response.status_code == 200
    formsets = {
        f.formset.prefix: f.formset for f in response.context["inline_admin_formsets"]
    }
    assert formsets["snapshots"].errors[0]["price"] == ["Price must be zero or more."]
    assert not bitcoin.snapshots.exists()


def test_an_unlock_of_zero_tokens_is_refused_on_the_amount(staff_client: Client):
    bitcoin = _bitcoin()

    response = staff_client.post(
        reverse("admin:valuations_supplyunlock_add"),
        {"asset": bitcoin.pk, "date": "2026-06-01", "amount": "0", "note": ""},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["amount"] == [
        "Amount must be more than zero."
    ]
    assert not SupplyUnlock.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "admin:valuations_category_changelist",
        "admin:valuations_marketsnapshot_changelist",
        "admin:valuations_supplyunlock_changelist",
    ],
)
def test_other_valuation_changelists_open(staff_client: Client, name: str):
    stable = CategoryFactory(slug="stablecoins", name="Stablecoins", is_stablecoin=True)
    asset = AssetFactory(categories=[stable])
    MarketSnapshotFactory(asset=asset)
    SupplyUnlockFactory(asset=asset)

    response = staff_client.get(reverse(name))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_anonymous_users_are_redirected_to_the_admin_login(client: Client, db):
    url = reverse(CHANGELIST)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def test_asset_form_shows_stored_decimals_without_trailing_zeros_or_rounding():
    supply = Decimal("123456789012345.123456789012345678")
    asset = Asset(price=Decimal("2.500000000000000000"), circulating_supply=supply)

    form = AssetAdminForm(instance=asset)

    assert str(form.initial["price"]) == "2.5"
    assert form.initial["circulating_supply"] == supply
