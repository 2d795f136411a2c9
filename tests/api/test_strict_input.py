"""The API reads what its schema says and refuses the rest with the reason.

DRF on its own is lenient: it takes 1.5 for "1.5", 0 for false, 12 for "12",
"12" for 12, and reads a blank query value as absent. A generated client or a
strict one would then disagree with the server about what a request means.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolios.models import Portfolio, Transaction
from tests.factories import AssetFactory, PortfolioFactory, TransactionFactory

DECIMAL_AS_STRING = (
    'Send a decimal as a JSON string, e.g. "0.5": a JSON number can lose digits.'
)


@pytest.fixture
def ledger(user):
    bitcoin = AssetFactory(slug="bitcoin", price=Decimal("60000"))
    portfolio = PortfolioFactory(owner=user)
    TransactionFactory(portfolio=portfolio, asset=bitcoin, quantity=Decimal("1"))
    return portfolio


def _buy(**changes):
    return {
        "asset": "bitcoin",
        "kind": "buy",
        "quantity": "0.5",
        "price": "50000",
        "executed_at": "2026-01-02T00:00:00Z",
        **changes,
    }


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (0.5, DECIMAL_AS_STRING),
        (1, DECIMAL_AS_STRING),
        ("1e5", "A valid number is required."),
        (" 5", "A valid number is required."),
        ("", "A valid number is required."),
        (".", "A valid number is required."),
        ("-0", "Ensure this value is greater than or equal to 0."),
    ],
)
def test_a_quantity_is_a_decimal_string_and_nothing_else(
    api_client, ledger, value, reason
):
    url = f"/api/v1/portfolios/{ledger.pk}/transactions/"

    response = api_client.post(url, _buy(quantity=value), format="json")

    assert response.status_code == 400
    assert response.json() == {"quantity": [reason]}
    assert Transaction.objects.filter(portfolio=ledger).count() == 1


@pytest.mark.parametrize("value", ["5.", ".5", "0005", "0.000000000000000001"])
def test_every_decimal_spelling_the_schema_documents_is_taken(
    api_client, ledger, value
):
    url = f"/api/v1/portfolios/{ledger.pk}/transactions/"

    response = api_client.post(url, _buy(quantity=value), format="json")

    assert response.status_code == 201, response.json()
    assert Decimal(response.json()["quantity"]) == Decimal(value)


def test_a_blank_optional_decimal_is_refused_not_read_as_null(anon_client, db):
    body = {"price": "2", "circulating_supply": "1000", "volume_24h": ""}

    response = anon_client.post("/api/v1/calculator/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {"volume_24h": ["A valid number is required."]}


def test_text_is_a_json_string(api_client, user):
    target = {"large": "50", "mid": "25", "small": "15", "stable": "10"}

    response = api_client.post(
        "/api/v1/portfolios/", {"name": 2024, "target": target}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"name": ["Not a valid string."]}
    assert not Portfolio.objects.filter(owner=user).exists()


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"email": 0}, "email", "Must be true or false."),
        ({"drift": "true"}, "drift", "Must be true or false."),
        ({"unlock_days": "5"}, "unlock_days", "A valid integer is required."),
    ],
)
def test_alert_settings_take_json_booleans_and_integers(
    api_client, user, body, field, reason
):
    before = api_client.get("/api/v1/alerts/settings/").json()

    response = api_client.patch("/api/v1/alerts/settings/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {field: [reason]}
    assert api_client.get("/api/v1/alerts/settings/").json() == before


def test_a_share_link_takes_a_json_boolean(api_client, ledger):
    url = f"/api/v1/portfolios/{ledger.pk}/share/"

    response = api_client.post(url, {"show_amounts": 1}, format="json")

    assert response.status_code == 400
    assert response.json() == {"show_amounts": ["Must be true or false."]}
    assert api_client.get(url).status_code == 404  # no link was made


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("history/", {"start": ""}, "start"),
        ("performance/", {"end": ""}, "end"),
        ("rebalance/", {"mode": ""}, "mode"),
        ("realized/", {"year": ""}, "year"),
    ],
)
def test_a_blank_query_value_is_refused_not_read_as_absent(
    api_client, ledger, path, query, field
):
    response = api_client.get(f"/api/v1/portfolios/{ledger.pk}/{path}", query)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_blank_notification_filter_is_refused(api_client, user):
    response = api_client.get("/api/v1/notifications/", {"unread": ""})

    assert response.status_code == 400
    assert list(response.json()) == ["unread"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"tier": ""}, "tier"),
        ({"ordering": ""}, "ordering"),
        ({"min_market_cap": ""}, "min_market_cap"),
        ({"min_market_cap": "1e5"}, "min_market_cap"),
        ({"max_market_cap": "-1"}, "max_market_cap"),
        ({"page": ""}, "page"),
        ({"page": "last"}, "page"),
        ({"page": "0"}, "page"),
        # Past their documented length or bound.
        ({"search": "x" * 101}, "search"),
        ({"category": "x" * 101}, "category"),
        ({"min_market_cap": "0" * 60 + "1"}, "min_market_cap"),
        ({"page": str(2**31)}, "page"),
    ],
)
def test_asset_list_parameters_are_refused_when_blank_malformed_or_too_long(
    anon_client, market, query, field
):
    response = anon_client.get("/api/v1/assets/", query)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_free_text_may_be_blank(anon_client, market):
    everything = anon_client.get("/api/v1/assets/").json()

    blank = anon_client.get("/api/v1/assets/", {"search": ""})

    assert blank.status_code == 200
    assert blank.json()["count"] == everything["count"]


def test_a_page_past_the_end_is_still_not_found(anon_client, market):
    assert anon_client.get("/api/v1/assets/", {"page": "99"}).status_code == 404


def test_a_decimal_past_its_documented_length_is_refused(api_client, ledger):
    url = f"/api/v1/portfolios/{ledger.pk}/transactions/"
    # 42 characters: one more than 21 whole digits, 18 decimals, point and sign.
    padded = "0" * 40 + ".5"

    response = api_client.post(url, _buy(quantity=padded), format="json")

    assert response.status_code == 400
    assert response.json() == {
        "quantity": ["Ensure this value has at most 41 characters."]
    }


def test_a_conditional_header_past_its_documented_length_is_refused(
    anon_client, market
):
    response = anon_client.get("/api/v1/market/", HTTP_IF_NONE_MATCH="0" * 1001)

    assert response.status_code == 400
    assert response.json() == {
        "If-None-Match": ["Ensure this value has at most 1000 characters."]
    }
