"""The share-link API: the owner's link of a portfolio, and the public read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from sharing.models import ShareLink, hash_token
from tests.factories import PortfolioFactory
from tests.sharing.conftest import fill, share

pytestmark = pytest.mark.django_db

MISSING_ID = 999_999


def _link_url(pk: int) -> str:
    return f"/api/v1/portfolios/{pk}/share/"


def _read_url(token: str) -> str:
    return f"/api/v1/share/{token}/"


def _active() -> list[tuple[int, bool]]:
    return list(ShareLink.objects.active().values_list("portfolio", "show_amounts"))


# The owner's link --------------------------------------------------------------------


def test_a_portfolio_without_a_link_is_404(api_client, portfolio):
    response = api_client.get(_link_url(portfolio.pk))

    assert response.status_code == 404


def test_making_a_link_answers_201_with_its_url_once(api_client, portfolio):
    response = api_client.post(
        _link_url(portfolio.pk), {"show_amounts": True}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert body["url"] == f"http://testserver/share/{token}/"
    assert body["prefix"] == token[:6]
    assert body["show_amounts"] is True
    assert response["Cache-Control"] == "private, no-store"
    link = ShareLink.objects.active().get()
    assert link.token_hash == hash_token(token)

    again = api_client.get(_link_url(portfolio.pk))

    assert again.status_code == 200
    assert again.json() == {
        "prefix": token[:6],
        "show_amounts": True,
        "created": body["created"],
    }


def test_amounts_are_hidden_unless_asked(api_client, portfolio):
    response = api_client.post(_link_url(portfolio.pk), {}, format="json")

    assert response.status_code == 201
    assert response.json()["show_amounts"] is False
    assert _active() == [(portfolio.pk, False)]


def test_a_new_link_revokes_the_old_one(api_client, anon_client, portfolio):
    old = api_client.post(_link_url(portfolio.pk), {}, format="json").json()
    new = api_client.post(_link_url(portfolio.pk), {}, format="json").json()

    assert anon_client.get(_read_url(old["token"])).status_code == 404
    assert anon_client.get(_read_url(new["token"])).status_code == 200
    assert api_client.get(_link_url(portfolio.pk)).json()["prefix"] == new["prefix"]
    assert len(_active()) == 1


def test_revoking_answers_204_and_the_read_is_404(api_client, anon_client, portfolio):
    token = share(portfolio)

    response = api_client.delete(_link_url(portfolio.pk))

    assert response.status_code == 204
    assert anon_client.get(_read_url(token)).status_code == 404
    assert api_client.get(_link_url(portfolio.pk)).status_code == 404
    assert api_client.delete(_link_url(portfolio.pk)).status_code == 404
    assert _active() == []


@pytest.mark.parametrize(
    "body",
    [{"show_amounts": "maybe"}, {"show_amounts": None}, {"show_amounts": [1]}],
)
def test_a_bad_show_amounts_is_400_naming_it_and_makes_nothing(
    api_client, portfolio, body
):
    token = share(portfolio)

    response = api_client.post(_link_url(portfolio.pk), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["show_amounts"]
    assert ShareLink.objects.get().token_hash == hash_token(token)


def test_a_form_body_is_415(api_client, portfolio):
    response = api_client.post(
        _link_url(portfolio.pk), {"show_amounts": "true"}, format="multipart"
    )

    assert response.status_code == 415
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_another_users_portfolio_is_404_like_a_missing_one(
    other_api_client, anon_client, portfolio, method
):
    token = share(portfolio)
    call = getattr(other_api_client, method)

    theirs = call(_link_url(portfolio.pk), {"show_amounts": True}, format="json")
    missing = call(_link_url(MISSING_ID), {"show_amounts": True}, format="json")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert _active() == [(portfolio.pk, False)]
    assert anon_client.get(_read_url(token)).status_code == 200


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_anonymous_link_calls_are_401(anon_client, portfolio, method):
    share(portfolio)

    response = getattr(anon_client, method)(_link_url(portfolio.pk), {}, format="json")

    assert response.status_code == 401
    assert _active() == [(portfolio.pk, False)]


# The public read ---------------------------------------------------------------------

BUCKETS = [
    {"bucket": "large", "weight": "60", "target": "50", "drift": "10"},
    {"bucket": "mid", "weight": "20", "target": "30", "drift": "-10"},
    {"bucket": "small", "weight": "10", "target": "15", "drift": "-5"},
    {"bucket": "stable", "weight": "10", "target": "5", "drift": "5"},
    {"bucket": "unranked", "weight": "0", "target": "0", "drift": "0"},
]
HOLDINGS = [
    ("bitcoin", "Bitcoin", "bitc", "large", "large", "60"),
    ("chainlink", "Chainlink", "chai", "mid", "mid", "20"),
    ("tether", "Tether", "teth", "large", "stable", "10"),
    ("thin", "Thin", "thin", "small", "small", "10"),
]
AMOUNT_FIELDS = ["quantity", "price", "value", "cost_basis"]
AMOUNT_FIELDS += ["unrealized_pnl", "realized_pnl"]


def _holdings(amounts: list[tuple[str, ...]] | None) -> list[dict[str, object]]:
    rows = []
    for n, (asset, name, symbol, tier, bucket, weight) in enumerate(HOLDINGS):
        row: dict[str, object] = {
            "asset": asset,
            "name": name,
            "symbol": symbol,
            "tier": tier,
            "bucket": bucket,
            "weight": weight,
        }
        row.update(
            zip(AMOUNT_FIELDS, amounts[n] if amounts else [None] * 6, strict=True)
        )
        rows.append(row)
    return rows


def _check_diversification(body: dict) -> None:
    div = body["diversification"]
    # Tiers 6,000 / 2,000 / 1,000: −Σ p ln p ÷ ln 3 = 0.7725; 1 ÷ Σ p² = 81/41.
    assert Decimal(div["score"]).quantize(Decimal("0.0001")) == Decimal("0.7725")
    assert Decimal(div["effective_tiers"]).quantize(Decimal("0.0001")) == Decimal(
        "1.9756"
    )
    # Holdings 60 / 20 / 10 / 10 %: HHI 0.42, effective holdings 1 ÷ 0.42.
    assert div["hhi"] == "0.42"
    assert Decimal(div["effective_holdings"]).quantize(Decimal("0.01")) == Decimal(
        "2.38"
    )
    assert div["largest_weight"] == "60"


def test_the_read_gives_weights_drift_and_diversification_without_amounts(
    anon_client, analysed
):
    response = anon_client.get(_read_url(share(analysed)))

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Main"
    assert body["show_amounts"] is False
    assert body["tolerance"] == "5"
    # ±5 points exactly (small, stable) is still within the band.
    assert body["buckets"] == [
        {**b, "outside_band": b["bucket"] in ("large", "mid"), "value": None}
        for b in BUCKETS
    ]
    assert body["holdings"] == _holdings(None)
    _check_diversification(body)
    for total in ("total_value", "total_cost", "unrealized_pnl", "realized_pnl"):
        assert body[total] is None
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Cache-Control"] == "private, no-store"


def test_the_read_gives_amounts_as_strings_when_the_owner_shows_them(
    anon_client, analysed
):
    body = anon_client.get(_read_url(share(analysed, show_amounts=True))).json()

    assert body["show_amounts"] is True
    assert (
        body["total_value"],
        body["total_cost"],
        body["unrealized_pnl"],
        body["realized_pnl"],
    ) == ("10000", "7900", "2100", "0")
    assert [b["value"] for b in body["buckets"]] == ["6000", "2000", "1000"] + [
        "1000",
        "0",
    ]
    assert body["holdings"] == _holdings(
        [
            ("0.12", "50000", "6000", "4800", "1200", "0"),
            ("200", "10", "2000", "1600", "400", "0"),
            ("1000", "1", "1000", "1000", "0", "0"),
            ("500", "2", "1000", "500", "500", "0"),
        ]
    )
    _check_diversification(body)


def test_the_read_needs_no_credentials_and_ignores_whose_they_are(
    other_api_client, analysed
):
    token = share(analysed)

    assert APIClient().get(_read_url(token)).status_code == 200
    assert other_api_client.get(_read_url(token)).json()["name"] == "Main"


@pytest.mark.parametrize("token", ["nope", "x" * 32, "x" * 500])
def test_an_unknown_token_is_404(anon_client, analysed, token):
    share(analysed)

    response = anon_client.get(_read_url(token))

    assert response.status_code == 404
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_revoked_token_is_404(api_client, anon_client, analysed):
    token = share(analysed)
    api_client.delete(_link_url(analysed.pk))

    response = anon_client.get(_read_url(token))

    assert response.status_code == 404
    assert "Main" not in response.content.decode()


# The link and the holdings, whatever the number of holdings.
READ_QUERIES = 2


@pytest.mark.parametrize("holdings", [2, 20])
def test_the_read_query_budget_does_not_grow_with_holdings(
    anon_client, portfolio, holdings, django_assert_num_queries
):
    fill(portfolio, holdings)
    token = share(portfolio)

    with django_assert_num_queries(READ_QUERIES):
        response = anon_client.get(_read_url(token))

    assert response.status_code == 200
    assert len(response.json()["holdings"]) == holdings


def test_my_link_calls_check_the_portfolio_is_mine(api_client, user):
    theirs = PortfolioFactory(name="Theirs")
    share(theirs)

    assert api_client.delete(_link_url(theirs.pk)).status_code == 404
    assert len(_active()) == 1
