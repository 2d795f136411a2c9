"""The portfolio pages: ownership, what they show, bad input and query budgets."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portfolios import services
from portfolios.models import Holding, Portfolio, Transaction
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    PortfolioFactory,
    SupplyUnlockFactory,
)
from valuations.models import Asset, MarketSnapshot
from valuations.state import refresh_market_state

D = Decimal

pytestmark = pytest.mark.django_db

BUY, SELL = Transaction.Kind.BUY, Transaction.Kind.SELL
NOW = datetime(2026, 4, 30, 12, tzinfo=UTC)
HEADER = "executed_at,asset,kind,quantity,unit_price,fee,note\n"


# Helpers -----------------------------------------------------------------------------


def _text(html: str) -> str:
    """The page's text without tags, entities decoded, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _table(html: str, css_class: str) -> list[list[str]]:
    """The text of each body cell of the table with the given class, row by row."""
    match = re.search(
        rf'<table class="(?:[^"]* )?{css_class}(?: [^"]*)?"[^>]*>(.*?)</table>',
        html,
        re.S,
    )
    assert match, f"no table {css_class}"
    body = re.search(r"<tbody>(.*?)</tbody>", match.group(1), re.S).group(1)
    return [
        [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _field_error(response, field: str) -> str:
    html = response.content.decode()
    match = re.search(rf'<div class="error" id="id_{field}-error">(.*?)</div>', html)
    assert match, f"no error on {field}"
    return unescape(match.group(1))


def _form_errors(response) -> str:
    html = response.content.decode()
    match = re.search(r'<div class="alert error" role="alert">(.*?)</div>', html, re.S)
    assert match, "no form errors"
    return _text(match.group(1))


def _record(
    portfolio: Portfolio,
    asset: Asset,
    kind: str,
    quantity: str,
    price: str,
    at: datetime,
    *,
    fee: str = "0",
    note: str = "",
) -> Transaction:
    return services.record_transaction(
        portfolio=portfolio,
        asset=asset,
        kind=kind,
        quantity=D(quantity),
        unit_price=D(price),
        fee=D(fee),
        executed_at=at,
        note=note,
    )


def _ledger(portfolio: Portfolio) -> list[tuple]:
    return list(
        Transaction.objects.filter(portfolio=portfolio)
        .order_by("executed_at", "pk")
        .values_list(
            "asset__slug",
            "kind",
            "quantity",
            "unit_price",
            "fee",
            "executed_at",
            "note",
        )
    )


def _holdings(portfolio: Portfolio) -> list[tuple]:
    return list(
        Holding.objects.filter(portfolio=portfolio)
        .order_by("asset__slug")
        .values_list("asset__slug", "quantity", "cost_basis", "realized_pnl")
    )


def _state(portfolio: Portfolio) -> tuple:
    """Everything a refused write must leave alone."""
    portfolio.refresh_from_db()
    return (
        portfolio.name,
        portfolio.description,
        portfolio.target,
        portfolio.tolerance,
        _ledger(portfolio),
        _holdings(portfolio),
    )


def _csv(text: str, name: str = "ledger.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.fixture
def coin() -> Asset:
    return AssetFactory(slug="coin", symbol="cn", name="Coin", price=D("10"))


@pytest.fixture
def buy(portfolio, coin) -> Transaction:
    """2 CN bought at $10 on 1 April 2026."""
    return _record(portfolio, coin, BUY, "2", "10", datetime(2026, 4, 1, tzinfo=UTC))


def _urls(portfolio: Portfolio, tx: Transaction) -> dict[str, str]:
    pk = portfolio.pk
    return {
        "list": reverse("portfolios:list"),
        "create": reverse("portfolios:create"),
        "detail": reverse("portfolios:detail", args=[pk]),
        "edit": reverse("portfolios:edit", args=[pk]),
        "delete": reverse("portfolios:delete", args=[pk]),
        "transactions": reverse("portfolios:transactions", args=[pk]),
        "transaction-create": reverse("portfolios:transaction-create", args=[pk]),
        "transaction-edit": reverse("portfolios:transaction-edit", args=[pk, tx.pk]),
        "transaction-delete": reverse(
            "portfolios:transaction-delete", args=[pk, tx.pk]
        ),
        "transaction-export": reverse("portfolios:transaction-export", args=[pk]),
        "transaction-import": reverse("portfolios:transaction-import", args=[pk]),
    }


ALL_PAGES = [
    "list",
    "create",
    "detail",
    "edit",
    "delete",
    "transactions",
    "transaction-create",
    "transaction-edit",
    "transaction-delete",
    "transaction-export",
    "transaction-import",
]
OWNED_PAGES = ALL_PAGES[2:]
WRITES = ["edit", "delete", "transaction-create", "transaction-edit"]
WRITES += ["transaction-delete", "transaction-import"]


# Anonymous and another user ----------------------------------------------------------


@pytest.mark.parametrize("page", ALL_PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitor_is_sent_to_log_in(client, portfolio, buy, page, method):
    url = _urls(portfolio, buy)[page]
    before = _state(portfolio)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"
    assert _state(portfolio) == before


@pytest.mark.parametrize("page", OWNED_PAGES)
def test_other_users_portfolio_is_404(other_client, portfolio, buy, page):
    response = other_client.get(_urls(portfolio, buy)[page])

    assert response.status_code == 404


@pytest.mark.parametrize("page", WRITES)
def test_other_users_post_is_404_and_changes_nothing(
    other_client, portfolio, buy, coin, page
):
    before = _state(portfolio)
    data = {
        "name": "Taken over",
        "preset": "balanced",
        "tolerance": "5",
        "asset": "coin",
        "kind": "sell",
        "quantity": "1",
        "unit_price": "1",
        "fee": "0",
        "executed_at": "2026-04-02T10:00",
        "file": _csv(HEADER + "2026-04-02T10:00:00+00:00,coin,sell,2,1,0,\n"),
    }

    response = other_client.post(_urls(portfolio, buy)[page], data)

    assert response.status_code == 404
    assert _state(portfolio) == before
    assert Portfolio.objects.count() == 1


def test_transaction_of_another_portfolio_is_404_under_mine(
    client_logged_in, user, portfolio, buy, coin
):
    theirs = PortfolioFactory(name="Theirs")
    their_tx = _record(theirs, coin, BUY, "1", "1", datetime(2026, 4, 1, tzinfo=UTC))
    mine_other = PortfolioFactory(owner=user, name="Second")
    for url in [
        reverse("portfolios:transaction-edit", args=[portfolio.pk, their_tx.pk]),
        reverse("portfolios:transaction-delete", args=[portfolio.pk, their_tx.pk]),
        # My own transaction, but under my other portfolio's address.
        reverse("portfolios:transaction-edit", args=[mine_other.pk, buy.pk]),
    ]:
        assert client_logged_in.get(url).status_code == 404
        assert client_logged_in.post(url).status_code == 404
    assert Transaction.objects.count() == 2


def test_list_shows_only_my_portfolios(other_client, portfolio, buy):
    response = other_client.get(reverse("portfolios:list"))

    assert response.status_code == 200
    assert "Main" not in _text(response.content.decode())
    assert "No portfolios yet." in response.content.decode()


# List --------------------------------------------------------------------------------


def test_list_empty_state_invites_a_first_portfolio(client_logged_in, user):
    response = client_logged_in.get(reverse("portfolios:list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "No portfolios yet." in html
    assert f'href="{reverse("portfolios:create")}"' in html
    assert "Create your first portfolio" in html


def test_list_shows_a_card_per_portfolio_with_its_value_and_mix(
    client_logged_in, user, portfolio, buy
):
    PortfolioFactory(owner=user, name="Empty one")

    response = client_logged_in.get(reverse("portfolios:list"))

    html = response.content.decode()
    cards = re.findall(
        r'<li class="card">(.*?)</li>\s*(?=<li class="card">|</ul>)', html, re.S
    )
    assert [_text(card) for card in cards] == [
        "Empty one $0.00 No holdings yet. Record a first transaction .",
        "Main $20.00 Small cap: 100.00 % Small cap 100.00 %",
    ]
    assert f'href="{portfolio.get_absolute_url()}"' in html


# Create and edit ---------------------------------------------------------------------


def _portfolio_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Growth",
        "description": "Long term",
        "preset": "balanced",
        "target_large": "",
        "target_mid": "",
        "target_small": "",
        "target_stable": "",
        "tolerance": "5",
    }
    data.update(overrides)
    return data


def test_create_page_shows_the_form(client_logged_in):
    response = client_logged_in.get(reverse("portfolios:create"))

    assert response.status_code == 200
    assert 'name="name"' in response.content.decode()


def test_create_with_a_preset_makes_my_portfolio_and_opens_it(client_logged_in, user):
    response = client_logged_in.post(
        reverse("portfolios:create"), _portfolio_data(preset="aggressive")
    )

    portfolio = Portfolio.objects.get()
    assert response.status_code == 302
    assert response.url == portfolio.get_absolute_url()
    assert portfolio.owner == user
    assert (portfolio.name, portfolio.description) == ("Growth", "Long term")
    assert vars(portfolio.target) == {
        "large": D("30"),
        "mid": D("35"),
        "small": D("30"),
        "stable": D("5"),
    }


def test_create_with_a_custom_mix_adding_up_to_100(client_logged_in):
    response = client_logged_in.post(
        reverse("portfolios:create"),
        _portfolio_data(
            preset="custom",
            target_large="40.5",
            target_mid="40",
            target_small="9.5",
            target_stable="10",
            tolerance="2.5",
        ),
    )

    portfolio = Portfolio.objects.get()
    assert response.status_code == 302
    assert portfolio.target.large == D("40.5")
    assert portfolio.tolerance == D("2.5")


def test_create_with_custom_weights_not_adding_up_to_100_is_400(client_logged_in):
    response = client_logged_in.post(
        reverse("portfolios:create"),
        _portfolio_data(
            preset="custom",
            target_large="50",
            target_mid="30",
            target_small="10",
            target_stable="0",
        ),
    )

    assert response.status_code == 400
    assert "Target weights must add up to 100 %; these add up to 90 %." in (
        _form_errors(response)
    )
    assert not Portfolio.objects.exists()


def test_create_with_a_custom_mix_missing_a_weight_is_400_on_that_field(
    client_logged_in,
):
    response = client_logged_in.post(
        reverse("portfolios:create"),
        _portfolio_data(
            preset="custom", target_large="50", target_mid="30", target_small="20"
        ),
    )

    assert response.status_code == 400
    assert _field_error(response, "target_stable") == (
        "Give a weight for a custom mix (0 is fine)."
    )
    assert not Portfolio.objects.exists()


def test_create_with_a_name_i_already_use_is_400_on_name(client_logged_in, portfolio):
    response = client_logged_in.post(
        reverse("portfolios:create"), _portfolio_data(name="Main")
    )

    assert response.status_code == 400
    assert _field_error(response, "name") == (
        "You already have a portfolio called “Main”."
    )
    assert Portfolio.objects.count() == 1


def test_create_with_a_name_another_user_uses_is_fine(client_logged_in, other_user):
    PortfolioFactory(owner=other_user, name="Growth")

    response = client_logged_in.post(reverse("portfolios:create"), _portfolio_data())

    assert response.status_code == 302
    assert Portfolio.objects.filter(name="Growth").count() == 2


def test_create_without_a_name_is_400(client_logged_in):
    response = client_logged_in.post(
        reverse("portfolios:create"), _portfolio_data(name="")
    )

    assert response.status_code == 400
    assert _field_error(response, "name") == "This field is required."
    assert not Portfolio.objects.exists()


def test_edit_page_shows_the_current_preset(client_logged_in, portfolio):
    response = client_logged_in.get(reverse("portfolios:edit", args=[portfolio.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="balanced" selected>' in html
    assert 'value="Main"' in html


def test_edit_saves_name_and_mix(client_logged_in, portfolio):
    response = client_logged_in.post(
        reverse("portfolios:edit", args=[portfolio.pk]),
        _portfolio_data(name="Renamed", preset="conservative", tolerance="10"),
    )

    assert response.status_code == 302
    assert response.url == portfolio.get_absolute_url()
    portfolio.refresh_from_db()
    assert (portfolio.name, portfolio.tolerance) == ("Renamed", D("10"))
    assert portfolio.target.large == D("70")


def test_edit_keeping_its_own_name_is_fine(client_logged_in, portfolio):
    response = client_logged_in.post(
        reverse("portfolios:edit", args=[portfolio.pk]),
        _portfolio_data(name="Main", description="Changed"),
    )

    assert response.status_code == 302
    portfolio.refresh_from_db()
    assert portfolio.description == "Changed"


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        pytest.param(
            {
                "preset": "custom",
                "target_large": "60",
                "target_mid": "30",
                "target_small": "15",
                "target_stable": "5",
            },
            None,
            "Target weights must add up to 100 %; these add up to 110 %.",
            id="custom-weights-110",
        ),
        pytest.param(
            {"name": "Second"},
            "name",
            "You already have a portfolio called “Second”.",
            id="duplicate-name",
        ),
        pytest.param(
            {"tolerance": "-1"},
            "tolerance",
            "Ensure this value is greater than or equal to 0.",
            id="negative-tolerance",
        ),
        pytest.param(
            {"tolerance": "100.01"},
            "tolerance",
            "Ensure this value is less than or equal to 100.",
            id="tolerance-above-100",
        ),
        pytest.param(
            {
                "preset": "custom",
                "target_large": "110",
                "target_mid": "-10",
                "target_small": "0",
                "target_stable": "0",
            },
            "target_mid",
            "Ensure this value is greater than or equal to 0.",
            id="negative-weight-though-the-sum-is-100",
        ),
    ],
)
def test_edit_with_bad_input_is_400_and_changes_nothing(
    client_logged_in, user, portfolio, data, where, message
):
    PortfolioFactory(owner=user, name="Second")
    before = _state(portfolio)

    response = client_logged_in.post(
        reverse("portfolios:edit", args=[portfolio.pk]),
        _portfolio_data(**{"name": "Main", **data}),
    )

    assert response.status_code == 400
    if where is None:
        assert message in _form_errors(response)
    else:
        assert message in _field_error(response, where)
    assert _state(portfolio) == before


# Delete ------------------------------------------------------------------------------


def test_delete_asks_for_confirmation_first(client_logged_in, portfolio, buy):
    url = reverse("portfolios:delete", args=[portfolio.pk])

    response = client_logged_in.get(url)

    text = _text(response.content.decode())
    assert response.status_code == 200
    assert "Delete “Main”?" in text
    assert "This deletes the portfolio and its 1 transaction." in text
    assert Portfolio.objects.filter(pk=portfolio.pk).exists()


def test_delete_post_deletes_the_portfolio_and_its_ledger(
    client_logged_in, portfolio, buy
):
    response = client_logged_in.post(reverse("portfolios:delete", args=[portfolio.pk]))

    assert response.status_code == 302
    assert response.url == reverse("portfolios:list")
    assert not Portfolio.objects.exists()
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


# Detail ------------------------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _asset(slug: str, price: str, circulating: str, **kwargs) -> Asset:
    values = {"max_supply": None, "total_supply": None}
    values.update(kwargs)
    return AssetFactory(
        slug=slug,
        symbol=slug[:4],
        name=slug.title(),
        price=D(price),
        circulating_supply=D(circulating),
        **values,
    )


@pytest.fixture
def analysed(portfolio, frozen) -> Portfolio:
    """$10,000: BTC 6,000 (large, 60 %), LINK 2,000 (mid), THIN 1,000 (small, thin),
    USDT 1,000 (a $100B stablecoin). Balanced target 50/30/15/5, ±5 points.

    LINK's FDV is 4 × its cap and 1,000,000 LINK unlock in 10 days. Three daily
    snapshots at today's prices and caps end on 29 April 2026.
    """
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    assets = {
        "bitcoin": _asset("bitcoin", "50000", "20000000", volume_24h=D("200000000000")),
        "chainlink": _asset(
            "chainlink",
            "10",
            "500000000",
            max_supply=D("2000000000"),
            volume_24h=D("1000000000"),
        ),
        "thin": _asset("thin", "2", "1000000", volume_24h=D("1000")),
        "tether": _asset(
            "tether",
            "1",
            "100000000000",
            volume_24h=D("50000000000"),
            categories=[stable],
        ),
    }
    SupplyUnlockFactory(
        asset=assets["chainlink"], date=date(2026, 5, 10), amount=D("1000000")
    )
    bought = datetime(2026, 4, 1, 9, tzinfo=UTC)
    for slug, quantity, price in [
        ("bitcoin", "0.12", "40000"),
        ("chainlink", "200", "8"),
        ("thin", "500", "1"),
        ("tether", "1000", "1"),
    ]:
        asset = assets[slug]
        _record(portfolio, asset, BUY, quantity, price, bought)
        for day in (27, 28, 29):
            MarketSnapshotFactory(
                asset=asset,
                taken_at=datetime(2026, 4, day, 12, tzinfo=UTC),
                price=asset.price,
                circulating_supply=asset.circulating_supply,
            )
    return portfolio


def test_detail_shows_holdings_with_value_weight_bucket_and_profit(
    client_logged_in, analysed
):
    response = client_logged_in.get(analysed.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert _table(html, "holdings") == [
        [
            "Bitcoin BITC",
            "0.12",
            "$50,000.00",
            "$6,000",
            "60.00 %",
            "large",
            "$4,800",
            "$1,200",
            "$0.00",
        ],
        [
            "Chainlink CHAI",
            "200",
            "$10.00",
            "$2,000",
            "20.00 %",
            "mid",
            "$1,600",
            "$400.00",
            "$0.00",
        ],
        [
            "Tether TETH",
            "1,000",
            "$1.00",
            "$1,000",
            "10.00 %",
            "stable",
            "$1,000",
            "$0.00",
            "$0.00",
        ],
        [
            "Thin THIN",
            "500",
            "$2.00",
            "$1,000",
            "10.00 %",
            "small ⚠",
            "$500.00",
            "$500.00",
            "$0.00",
        ],
    ]
    text = _text(html)
    assert "Value $10,000 4 holdings" in text
    assert "Cost basis $7,900" in text
    assert "Unrealised P/L $2,100" in text


def test_detail_shows_tier_mix_and_drift_with_outside_band_marks(
    client_logged_in, analysed
):
    html = client_logged_in.get(analysed.get_absolute_url()).content.decode()

    # Drift exactly equal to the ±5 tolerance (small, stable) is still within.
    assert _table(html, "drift") == [
        ["large", "$6,000", "60.00 %", "50.00 %", "⚠ +10.00 pts", "⚠ outside band"],
        ["mid", "$2,000", "20.00 %", "30.00 %", "⚠ -10.00 pts", "⚠ outside band"],
        ["small", "$1,000", "10.00 %", "15.00 %", "-5.00 pts", "within"],
        ["stable", "$1,000", "10.00 %", "5.00 %", "+5.00 pts", "within"],
        ["unranked", "$0.00", "0.00 %", "0.00 %", "0.00 pts", "within"],
    ]
    assert 'aria-label="Tier mix now: Large cap 60.00 %, Mid cap 20.00 %, ' in html
    assert 'aria-label="Target mix: Large cap 50.00 %, Mid cap 30.00 %, ' in html


def test_detail_shows_the_diversification_score_and_concentration(
    client_logged_in, analysed
):
    text = _text(client_logged_in.get(analysed.get_absolute_url()).content.decode())

    # Tiers 6,000 / 2,000 / 1,000: −Σ p ln p ÷ ln 3 = 0.7725; 1 ÷ Σ p² = 81/41.
    assert "Tier score (0 = one tier, 1 = even) 0.77" in text
    assert "Effective tiers (of 3) 1.98" in text
    assert "Largest holding 60.00 %" in text
    # HHI 0.6² + 0.2² + 0.1² + 0.1² = 0.42; effective holdings 1 ÷ 0.42.
    assert "Herfindahl index 0.420" in text
    assert "Effective holdings 2.4" in text


def test_detail_full_rebalance_sells_as_much_as_it_buys(client_logged_in, analysed):
    html = client_logged_in.get(analysed.get_absolute_url()).content.decode()

    assert "Sells $1,500.00 and buys $1,500.00 to reach the target exactly." in (
        _text(html)
    )
    assert _table(html, "plan") == [
        ["large", "sell $1,000.00", "50.00 %"],
        ["mid", "buy $1,000.00", "30.00 %"],
        ["small", "buy $500.00", "15.00 %"],
        ["stable", "sell $500.00", "5.00 %"],
        ["unranked", "—", "0.00 %"],
    ]
    # Name and symbol, dollars, tokens at today's price, price, bucket.
    assert _table(html, "trades") == [
        ["Bitcoin BITC", "sell $1,000.00", "0.02", "$50,000.00", "large"],
        ["Chainlink CHAI", "buy $1,000.00", "100", "$10.00", "mid"],
        ["Thin THIN", "buy $500.00", "250", "$2.00", "small"],
        ["Tether TETH", "sell $500.00", "500", "$1.00", "stable"],
    ]


def test_detail_buy_only_plan_spends_new_cash_without_selling(
    client_logged_in, analysed
):
    response = client_logged_in.get(
        analysed.get_absolute_url(), {"mode": "buy_only", "cash": "1000"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert (
        "Splits $1,000.00 of new cash across underweight buckets without selling."
        in _text(html)
    )
    # Goals on $11,000: mid short 1,300, small 650; water-filled down to 475 each.
    plan = _table(html, "plan")
    assert [row[:2] for row in plan] == [
        ["large", "—"],
        ["mid", "buy $825.00"],
        ["small", "buy $175.00"],
        ["stable", "—"],
        ["unranked", "—"],
    ]
    assert [row[:3] for row in _table(html, "trades")] == [
        ["Chainlink CHAI", "buy $825.00", "82.5"],
        ["Thin THIN", "buy $175.00", "87.5"],
    ]
    assert "sell" not in " ".join(" ".join(row) for row in plan)


@pytest.mark.parametrize("cash", ["-5", "lots"])
def test_detail_with_bad_rebalance_cash_is_400(client_logged_in, analysed, cash):
    response = client_logged_in.get(analysed.get_absolute_url(), {"cash": cash})

    assert response.status_code == 400
    expected = {
        "-5": "Ensure this value is greater than or equal to 0.",
        "lots": "Enter a number.",
    }[cash]
    assert _field_error(response, "cash") == expected


def test_detail_shows_risk_flags_with_their_reasons(client_logged_in, analysed):
    html = client_logged_in.get(analysed.get_absolute_url()).content.decode()

    flags = [
        _text(item) for item in re.findall(r"<li class=\"flag[^\"]*\">(.*?)</li>", html)
    ]
    assert flags == [
        "Concentration Bitcoin is 60 % of the portfolio, above the 50 % limit.",
        "High dilution Chainlink's fully diluted valuation is 4 times its market "
        "cap, above the limit of 2: many tokens are still to come into circulation.",
        "Unlock soon 1,000,000 Chainlink tokens unlock on 2026-05-10, in 10 days, "
        "within the 30-day window.",
        "Thin market Thin trades thinly (24 h volume of $1,000 is below "
        "$100,000), so its market cap is unreliable.",
    ]


def test_detail_shows_the_history_chart(client_logged_in, analysed):
    html = client_logged_in.get(analysed.get_absolute_url()).content.decode()

    assert (
        'role="img" aria-label="Value rose from $7,900 on 1 Apr 2026 to $10,000 on '
        '29 Apr 2026; net invested stayed at $7,900."'
    ) in html
    assert html.count("<polyline") == 2  # value, and net invested
    assert (
        "On 29 Apr 2026: $10,000 — large 60.0 % mid 20.0 % small 10.0 % "
        "stable 10.0 %. Each day values what was held at its end at that day's "
        "last price and tier."
    ) in _text(html)


def test_detail_headline_shows_profit_and_twr_not_the_value_change(
    client_logged_in, analysed
):
    text = _text(client_logged_in.get(analysed.get_absolute_url()).content.decode())

    # $7,900 put in on 1 April, worth $10,000 from 27 April: profit $2,100 and
    # a TWR of 10,000 ÷ 7,900 − 1 = 26.58 %; the deposit itself is no return.
    assert "Profit $2,100" in text
    assert "Time-weighted return 26.58 %" in text
    assert "Net invested $7,900" in text
    assert "over the period" not in text


def test_detail_marks_days_valued_at_carried_prices(client_logged_in, analysed):
    html = client_logged_in.get(analysed.get_absolute_url()).content.decode()

    # 2–26 April have no snapshot: the 1 April trade prices are carried, from
    # 1 to 25 days old, older than 7 days from 9 April on.
    assert (
        "25 days in this range value a holding at an earlier day's price (up to "
        "25 days old); on 18 of them a price is older than 7 days."
    ) in _text(html)
    assert html.count('class="tick stale"') == 18


def test_detail_history_range_tabs_mark_the_current_one(client_logged_in, analysed):
    html = client_logged_in.get(
        analysed.get_absolute_url(), {"range": "30d"}
    ).content.decode()

    assert '<a href="?range=30d#history-title" aria-current="page">30d</a>' in html


def test_detail_of_an_empty_portfolio_invites_a_first_transaction(
    client_logged_in, portfolio
):
    response = client_logged_in.get(portfolio.get_absolute_url())

    text = _text(response.content.decode())
    assert response.status_code == 200
    assert "No holdings yet." in text
    assert "No history yet" in text


# Transactions ------------------------------------------------------------------------


def test_transactions_list_shows_the_ledger_newest_first(
    client_logged_in, portfolio, buy, coin
):
    _record(
        portfolio,
        coin,
        SELL,
        "0.5",
        "12",
        datetime(2026, 4, 2, 10, 30, tzinfo=UTC),
        fee="1",
        note="trim",
    )

    response = client_logged_in.get(
        reverse("portfolios:transactions", args=[portfolio.pk])
    )

    assert response.status_code == 200
    assert [row[:8] for row in _table(response.content.decode(), "ledger")] == [
        [
            "2026-04-02 10:30",
            "Sell",
            "Coin CN",
            "0.5",
            "$12.00",
            "$1.00",
            "$6.00",
            "trim",
        ],
        ["2026-04-01 00:00", "Buy", "Coin CN", "2", "$10.00", "$0.00", "$20.00", ""],
    ]


def test_transactions_list_of_an_empty_portfolio(client_logged_in, portfolio):
    response = client_logged_in.get(
        reverse("portfolios:transactions", args=[portfolio.pk])
    )

    assert "No transactions yet." in response.content.decode()


def _tx_data(**overrides: str) -> dict[str, str]:
    data = {
        "asset": "coin",
        "kind": "buy",
        "quantity": "1.5",
        "unit_price": "11",
        "fee": "0.5",
        "executed_at": "2026-04-03T09:15",
        "note": "more",
    }
    data.update(overrides)
    return data


def test_transaction_create_page_suggests_assets(client_logged_in, portfolio, coin):
    response = client_logged_in.get(
        reverse("portfolios:transaction-create", args=[portfolio.pk]), {"asset": "coin"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="coin">Coin (CN)</option>' in html
    assert 'name="asset" value="coin"' in html


def test_transaction_create_records_it_and_opens_the_portfolio(
    client_logged_in, portfolio, buy
):
    response = client_logged_in.post(
        reverse("portfolios:transaction-create", args=[portfolio.pk]),
        _tx_data(asset="CN"),
    )

    assert response.status_code == 302
    assert response.url == portfolio.get_absolute_url()
    assert _ledger(portfolio)[-1] == (
        "coin",
        "buy",
        D("1.5"),
        D("11"),
        D("0.5"),
        datetime(2026, 4, 3, 9, 15, tzinfo=UTC),
        "more",
    )
    assert _holdings(portfolio) == [("coin", D("3.5"), D("37"), D("0"))]


def test_transaction_create_and_add_another_comes_back_to_the_form(
    client_logged_in, portfolio, coin
):
    url = reverse("portfolios:transaction-create", args=[portfolio.pk])

    response = client_logged_in.post(url, {**_tx_data(), "add_another": ""})

    assert response.status_code == 302
    assert response.url == url


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        pytest.param(
            {"kind": "sell", "quantity": "3"},
            "quantity",
            "Only 2 CN held on 2026-04-03 09:15.",
            id="sell-beyond-holding",
        ),
        pytest.param(
            {"asset": "nope"},
            "asset",
            "No asset called “nope”. Search by id, symbol or name.",
            id="unknown-asset",
        ),
        pytest.param(
            {"quantity": "0"},
            "quantity",
            "Quantity must be more than zero.",
            id="quantity-zero",
        ),
        pytest.param(
            {"unit_price": "-1"},
            "unit_price",
            "Ensure this value is greater than or equal to 0.",
            id="negative-price",
        ),
        pytest.param(
            {"kind": "swap"},
            "kind",
            "Select a valid choice. swap is not one of the available choices.",
            id="unknown-kind",
        ),
        pytest.param(
            {"executed_at": "yesterday"},
            "executed_at",
            "Enter a valid date/time.",
            id="bad-time",
        ),
        pytest.param(
            {"executed_at": "2008-12-31T23:00"},
            "executed_at",
            "A transaction cannot be dated before 2009-01-03.",
            id="before-bitcoin",
        ),
    ],
)
def test_transaction_create_with_bad_input_is_400_and_records_nothing(
    client_logged_in, portfolio, buy, data, field, message
):
    before = _state(portfolio)

    response = client_logged_in.post(
        reverse("portfolios:transaction-create", args=[portfolio.pk]),
        _tx_data(**data),
    )

    assert response.status_code == 400
    assert _field_error(response, field) == message
    assert _state(portfolio) == before


def test_a_future_transaction_is_refused_on_its_field(
    client_logged_in, portfolio, buy, time_machine
):
    time_machine.move_to(datetime(2026, 4, 30, 12, tzinfo=UTC), tick=False)
    before = _state(portfolio)

    response = client_logged_in.post(
        reverse("portfolios:transaction-create", args=[portfolio.pk]),
        _tx_data(executed_at="2026-04-30T12:10"),
    )

    assert response.status_code == 400
    assert _field_error(response, "executed_at") == (
        "A transaction cannot be dated in the future (it is now 2026-04-30 12:00 UTC)."
    )
    assert _state(portfolio) == before


def test_transaction_edit_page_is_filled_in(client_logged_in, portfolio, buy):
    response = client_logged_in.get(
        reverse("portfolios:transaction-edit", args=[portfolio.pk, buy.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="quantity" value="2"' in html
    assert 'name="executed_at" value="2026-04-01T00:00"' in html


def test_transaction_edit_saves_and_rebuilds_the_holding(
    client_logged_in, portfolio, buy
):
    response = client_logged_in.post(
        reverse("portfolios:transaction-edit", args=[portfolio.pk, buy.pk]),
        _tx_data(quantity="4", unit_price="9", fee="0", executed_at="2026-04-01T00:00"),
    )

    assert response.status_code == 302
    assert response.url == reverse("portfolios:transactions", args=[portfolio.pk])
    assert _holdings(portfolio) == [("coin", D("4"), D("36"), D("0"))]


def test_transaction_edit_that_would_oversell_later_is_400_and_changes_nothing(
    client_logged_in, portfolio, buy, coin
):
    _record(portfolio, coin, SELL, "2", "12", datetime(2026, 4, 5, tzinfo=UTC))
    before = _state(portfolio)

    response = client_logged_in.post(
        reverse("portfolios:transaction-edit", args=[portfolio.pk, buy.pk]),
        _tx_data(
            quantity="1", unit_price="10", fee="0", executed_at="2026-04-01T00:00"
        ),
    )

    assert response.status_code == 400
    assert _form_errors(response) == (
        "This change would leave 1 CN on 2026-04-05 00:00, less than the sell of 2 "
        "recorded then."
    )
    assert _state(portfolio) == before


def test_transaction_edit_with_quantity_zero_is_400(client_logged_in, portfolio, buy):
    before = _state(portfolio)

    response = client_logged_in.post(
        reverse("portfolios:transaction-edit", args=[portfolio.pk, buy.pk]),
        _tx_data(quantity="0"),
    )

    assert response.status_code == 400
    assert _field_error(response, "quantity") == "Quantity must be more than zero."
    assert _state(portfolio) == before


def test_transaction_delete_asks_first_then_deletes(client_logged_in, portfolio, buy):
    url = reverse("portfolios:transaction-delete", args=[portfolio.pk, buy.pk])

    confirm = client_logged_in.get(url)
    response = client_logged_in.post(url)

    assert "Buy of 2 CN at $10.00 on 2026-04-01 00:00 UTC." in _text(
        confirm.content.decode()
    )
    assert response.status_code == 302
    assert response.url == reverse("portfolios:transactions", args=[portfolio.pk])
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_transaction_delete_that_a_later_sell_needs_is_400_and_keeps_it(
    client_logged_in, portfolio, buy, coin
):
    _record(portfolio, coin, SELL, "1", "12", datetime(2026, 4, 5, tzinfo=UTC))
    before = _state(portfolio)

    response = client_logged_in.post(
        reverse("portfolios:transaction-delete", args=[portfolio.pk, buy.pk])
    )

    assert response.status_code == 400
    assert _form_errors(response) == (
        "Deleting this transaction would leave 0 CN on 2026-04-05 00:00, less than "
        "the sell of 1 recorded then."
    )
    assert _state(portfolio) == before


# CSV export and import ---------------------------------------------------------------


def test_export_streams_the_ledger_as_a_csv_attachment(
    client_logged_in, portfolio, buy
):
    response = client_logged_in.get(
        reverse("portfolios:transaction-export", args=[portfolio.pk])
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="capsite-{portfolio.pk}-transactions.csv"'
    )
    assert b"".join(response.streaming_content).decode() == (
        "executed_at,asset,kind,quantity,unit_price,fee,note\r\n"
        "2026-04-01T00:00:00+00:00,coin,buy,2,10,0,\r\n"
    )


def test_export_then_import_into_another_portfolio_round_trips_the_ledger(
    client_logged_in, user, portfolio, coin
):
    other = AssetFactory(slug="other", symbol="ot")
    at = datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC)
    _record(
        portfolio, coin, BUY, "0.123456789", "41234.56", at, fee="2.5", note='a, "b"'
    )
    _record(portfolio, other, Transaction.Kind.TRANSFER_IN, "1000", "0", at)
    _record(
        portfolio, coin, SELL, "0.1", "50000.01", at + timedelta(days=1), fee="0.01"
    )
    _record(
        portfolio,
        other,
        Transaction.Kind.TRANSFER_OUT,
        "999.999",
        "0",
        at + timedelta(days=2, microseconds=250),
        fee="0.3",
        note="to cold storage",
    )
    exported = b"".join(
        client_logged_in.get(
            reverse("portfolios:transaction-export", args=[portfolio.pk])
        ).streaming_content
    ).decode()
    copy = PortfolioFactory(owner=user, name="Copy")

    response = client_logged_in.post(
        reverse("portfolios:transaction-import", args=[copy.pk]),
        {"file": _csv(exported)},
    )

    assert response.status_code == 302
    assert response.url == reverse("portfolios:transactions", args=[copy.pk])
    assert _ledger(copy) == _ledger(portfolio)
    assert _holdings(copy) == _holdings(portfolio)


def test_import_page_shows_the_format(client_logged_in, portfolio):
    response = client_logged_in.get(
        reverse("portfolios:transaction-import", args=[portfolio.pk])
    )

    assert response.status_code == 200
    assert "executed_at,asset,kind,quantity,unit_price,fee,note" in (
        response.content.decode()
    )


def test_import_with_bad_rows_lists_every_one_by_line_and_imports_nothing(
    client_logged_in, portfolio, buy
):
    before = _state(portfolio)
    text = HEADER + (
        "2026-04-02T09:00:00+00:00,coin,buy,1,10,0,fine\n"
        "2026-04-02T09:00:00+00:00,nope,buy,1,10,0,\n"
        "2026-04-02T09:00:00,coin,buy,1,10,0,\n"
        "2026-04-02T09:00:00+00:00,coin,swap,0,-1,x,\n"
    )

    response = client_logged_in.post(
        reverse("portfolios:transaction-import", args=[portfolio.pk]),
        {"file": _csv(text)},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported. 6 problems in 4 rows:" in _text(html)
    assert _table(html, "report") == [
        ["3", "asset", "Unknown asset id “nope”."],
        ["4", "executed_at", "Give a time zone, e.g. 2024-01-31T12:00:00+00:00."],
        [
            "5",
            "kind",
            "“swap” is not one of buy, reward, sell, transfer_in, transfer_out.",
        ],
        ["5", "fee", "“x” is not a number."],
        ["5", "quantity", "Quantity must be more than zero."],
        ["5", "unit_price", "Unit price must be zero or more."],
    ]
    assert _state(portfolio) == before


def test_import_whose_sell_exceeds_the_holding_imports_nothing(
    client_logged_in, portfolio, buy
):
    before = _state(portfolio)
    text = HEADER + (
        "2026-04-02T09:00:00+00:00,coin,buy,1,10,0,\n"
        "2026-04-03T09:00:00+00:00,coin,sell,3.5,10,0,\n"
    )

    response = client_logged_in.post(
        reverse("portfolios:transaction-import", args=[portfolio.pk]),
        {"file": _csv(text)},
    )

    assert response.status_code == 400
    assert _table(response.content.decode(), "report") == [
        ["3", "quantity", "Only 3 CN held on 2026-04-03 09:00."]
    ]
    assert _state(portfolio) == before


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        pytest.param(None, "This field is required.", id="no-file"),
        pytest.param(
            SimpleUploadedFile("ledger.csv", "é".encode("latin-1")),
            "The file is not UTF-8 text.",
            id="not-utf-8",
        ),
    ],
)
def test_import_without_a_readable_file_is_400(
    client_logged_in, portfolio, upload, message
):
    # A browser always posts the CSRF token, so the form is bound even without a file.
    data = {"csrfmiddlewaretoken": "token"}
    if upload:
        data["file"] = upload

    response = client_logged_in.post(
        reverse("portfolios:transaction-import", args=[portfolio.pk]), data
    )

    assert response.status_code == 400
    assert _field_error(response, "file") == message
    assert not Transaction.objects.exists()


# Query budgets -----------------------------------------------------------------------


def _fill(portfolio: Portfolio, holdings: int) -> None:
    """Give the portfolio ``holdings`` small caps, each bought once with a snapshot."""
    assets = Asset.objects.bulk_create(AssetFactory.build_batch(holdings))
    refresh_market_state()  # as every write path does
    at = datetime(2026, 4, 1, tzinfo=UTC)
    services.record_transactions(
        portfolio=portfolio,
        rows=[
            {
                "asset": asset,
                "kind": BUY,
                "quantity": D("3"),
                "unit_price": D("1.5"),
                "fee": D("0"),
                "executed_at": at,
            }
            for asset in assets
        ],
    )
    MarketSnapshot.objects.bulk_create(
        MarketSnapshot(
            asset=asset,
            taken_at=at + timedelta(days=1),
            price=D("2"),
            circulating_supply=D("1000000"),
        )
        for asset in assets
    )


# session, user, portfolio with the market version, holdings, the market state
# (Bitcoin dominance beside the portfolio's Bitcoin share), largest in empty
# buckets (no history here: no snapshots), the unread-notification count in
# the nav. From the cache: the first three and the count.
DETAIL_QUERIES = 7
DETAIL_QUERIES_CACHED = 4


@pytest.mark.parametrize("holdings", [10, 200])
def test_detail_page_query_budget_does_not_grow_with_holdings(
    client_logged_in, portfolio, holdings, django_assert_num_queries
):
    _fill(portfolio, holdings)

    with django_assert_num_queries(DETAIL_QUERIES):
        response = client_logged_in.get(portfolio.get_absolute_url())
    with django_assert_num_queries(DETAIL_QUERIES_CACHED):
        again = client_logged_in.get(portfolio.get_absolute_url())

    assert response.status_code == again.status_code == 200
    assert f"{holdings} holdings" in response.content.decode()
    # The page head carries a per-request nonce; the content is the same.
    assert again.content.split(b"<main")[1] == response.content.split(b"<main")[1]


def test_detail_page_shows_a_write_at_once_despite_its_cache(
    client_logged_in, portfolio
):
    _fill(portfolio, 3)
    client_logged_in.get(portfolio.get_absolute_url())
    _fill(portfolio, 1)

    html = client_logged_in.get(portfolio.get_absolute_url()).content.decode()

    assert "4 holdings" in html


# session, user, portfolios, bucket values, the unread-notification count.
LIST_QUERIES = 5


@pytest.mark.parametrize("portfolios", [1, 20])
def test_list_page_query_budget_does_not_grow_with_portfolios(
    client_logged_in, user, portfolios, django_assert_num_queries
):
    for n in range(portfolios):
        _fill(PortfolioFactory(owner=user, name=f"P{n:02d}"), 2)

    with django_assert_num_queries(LIST_QUERIES):
        response = client_logged_in.get(reverse("portfolios:list"))

    assert response.content.decode().count('<li class="card">') == portfolios


# session, user, portfolio, count, one page of 50, the unread-notification count.
TRANSACTIONS_QUERIES = 6


@pytest.mark.parametrize("transactions", [10, 200])
def test_transactions_page_query_budget_does_not_grow_with_transactions(
    client_logged_in, portfolio, transactions, django_assert_num_queries
):
    _fill(portfolio, transactions)

    with django_assert_num_queries(TRANSACTIONS_QUERIES):
        response = client_logged_in.get(
            reverse("portfolios:transactions", args=[portfolio.pk])
        )

    assert response.content.decode().count("<tr>") == 1 + min(transactions, 50)
