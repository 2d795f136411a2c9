"""/api/v1/portfolios/ and /portfolios/{id}/: the owner's portfolios only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portfolios.models import Holding, Portfolio, Transaction
from tests.api.conftest import MISSING_ID, assert_same_404, queries_for
from tests.factories import AssetFactory, PortfolioFactory, TransactionFactory

URL = "/api/v1/portfolios/"
BALANCED = {"large": "50", "mid": "30", "small": "15", "stable": "5"}
AGGRESSIVE = {"large": "30", "mid": "35", "small": "30", "stable": "5"}


def detail(pk: int) -> str:
    return f"{URL}{pk}/"


@pytest.fixture
def valued(portfolio):
    """The user's portfolio "Main" holding 10 of an asset priced at $2.5."""
    asset = AssetFactory(slug="coin", price=Decimal("2.5"))
    TransactionFactory(portfolio=portfolio, asset=asset, quantity=Decimal("10"))
    return portfolio


@pytest.fixture
def theirs(other_user):
    return PortfolioFactory(owner=other_user, name="Theirs")


# List -------------------------------------------------------------------------


def test_the_list_shows_only_the_users_portfolios_with_their_value(
    api_client, valued, theirs
):
    response = api_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["next"] is None and body["previous"] is None
    row = body["results"][0]
    assert set(row) == {
        "id",
        "name",
        "description",
        "target",
        "tolerance",
        "cost_basis_method",
        "value",
        "created",
        "updated",
    }
    assert {key: row[key] for key in row if key not in ("created", "updated")} == {
        "id": valued.pk,
        "name": "Main",
        "description": "",
        "target": BALANCED,
        "tolerance": "5",
        "cost_basis_method": "average",
        "value": "25",
    }


def test_an_empty_portfolio_is_worth_zero(api_client, portfolio):
    assert api_client.get(URL).json()["results"][0]["value"] == "0"


def test_the_list_runs_the_same_queries_for_3_and_30_portfolios(
    api_client, user, django_assert_num_queries
):
    asset = AssetFactory(slug="coin")

    def add(names: range) -> None:
        for n in names:
            TransactionFactory(
                portfolio=PortfolioFactory(owner=user, name=f"P{n:02d}"), asset=asset
            )

    add(range(3))
    budget = queries_for(lambda: api_client.get(URL))
    add(range(3, 30))

    with django_assert_num_queries(budget):
        response = api_client.get(URL, {"page_size": 100})
    assert response.json()["count"] == 30


# Create -----------------------------------------------------------------------


def test_a_portfolio_is_created_for_the_signed_in_user(api_client, user):
    response = api_client.post(
        URL,
        {
            "name": "Growth",
            "description": "Mostly mid caps",
            "target": AGGRESSIVE,
            "tolerance": "7.5",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    created = Portfolio.objects.get(pk=body["id"])
    assert created.owner == user
    assert (created.target_large, created.target_mid) == (Decimal(30), Decimal(35))
    assert created.tolerance == Decimal("7.5")
    assert body["target"] == AGGRESSIVE
    assert body["tolerance"] == "7.5"
    assert body["value"] == "0"


def test_the_tolerance_defaults_to_5_points(api_client):
    response = api_client.post(
        URL, {"name": "Default", "target": BALANCED}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["tolerance"] == "5"


def test_a_duplicate_name_is_a_400_on_name_and_creates_nothing(api_client, portfolio):
    response = api_client.post(URL, {"name": "Main", "target": BALANCED}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert Portfolio.objects.count() == 1


def test_another_users_name_can_be_reused(api_client, theirs):
    response = api_client.post(
        URL, {"name": "Theirs", "target": BALANCED}, format="json"
    )

    assert response.status_code == 201


@pytest.mark.parametrize(
    "target",
    [
        {"large": "50", "mid": "30", "small": "15", "stable": "4.99"},
        {"large": "60", "mid": "30", "small": "15", "stable": "5"},
        {"large": "0", "mid": "0", "small": "0", "stable": "0"},
    ],
)
def test_target_weights_not_summing_to_100_are_a_400_on_target(api_client, target):
    response = api_client.post(URL, {"name": "Off", "target": target}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["target"]
    assert not Portfolio.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": BALANCED}, "name"),
        ({"name": "", "target": BALANCED}, "name"),
        ({"name": "x" * 101, "target": BALANCED}, "name"),
        ({"name": "No target"}, "target"),
        ({"name": "Bad", "target": {**BALANCED, "large": "-50"}}, "target"),
        ({"name": "Bad", "target": {**BALANCED, "mid": "abc"}}, "target"),
        ({"name": "Bad", "target": {"large": "100"}}, "target"),
        ({"name": "Bad", "target": BALANCED, "tolerance": "101"}, "tolerance"),
        ({"name": "Bad", "target": BALANCED, "tolerance": "-1"}, "tolerance"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(
    api_client, body, field
):
    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Portfolio.objects.exists()


# Detail, update, delete ---------------------------------------------------------


def test_a_portfolio_is_shown_to_its_owner(api_client, valued):
    response = api_client.get(detail(valued.pk))

    assert response.status_code == 200
    assert response.json()["value"] == "25"
    assert response.json()["name"] == "Main"


def test_a_portfolio_is_renamed_and_retargeted(api_client, portfolio):
    response = api_client.patch(
        detail(portfolio.pk),
        {"name": "Renamed", "target": AGGRESSIVE, "tolerance": "2"},
        format="json",
    )

    assert response.status_code == 200
    portfolio.refresh_from_db()
    assert portfolio.name == "Renamed"
    assert vars(portfolio.target) == {k: Decimal(v) for k, v in AGGRESSIVE.items()}
    assert portfolio.tolerance == Decimal(2)
    assert response.json()["target"] == AGGRESSIVE


def test_a_patch_changes_only_the_fields_sent(api_client, portfolio):
    response = api_client.patch(
        detail(portfolio.pk), {"description": "Long term"}, format="json"
    )

    assert response.status_code == 200
    portfolio.refresh_from_db()
    assert (portfolio.name, portfolio.description) == ("Main", "Long term")
    assert portfolio.target_large == Decimal(50)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": {"large": "100"}}, "target"),
        ({"target": {**BALANCED, "large": "45"}}, "target"),
        ({"name": ""}, "name"),
        ({"tolerance": "abc"}, "tolerance"),
    ],
)
def test_a_bad_patch_is_a_400_and_changes_nothing(api_client, portfolio, body, field):
    response = api_client.patch(detail(portfolio.pk), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    portfolio.refresh_from_db()
    assert (portfolio.name, portfolio.target_large) == ("Main", Decimal(50))


def test_a_partial_target_names_the_missing_weights(api_client, portfolio):
    response = api_client.patch(
        detail(portfolio.pk), {"target": {"large": "100"}}, format="json"
    )

    assert set(response.json()["target"]) == {"mid", "small", "stable"}


def test_renaming_to_another_of_ones_names_is_a_400_on_name(
    api_client, user, portfolio
):
    other = PortfolioFactory(owner=user, name="Second")

    response = api_client.patch(detail(other.pk), {"name": "Main"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    other.refresh_from_db()
    assert other.name == "Second"


def test_a_portfolio_is_deleted_with_its_ledger_and_holdings(api_client, valued):
    response = api_client.delete(detail(valued.pk))

    assert response.status_code == 204
    assert not Portfolio.objects.exists()
    assert not Transaction.objects.exists()
    assert not Holding.objects.exists()


def test_the_detail_runs_the_same_queries_for_1_and_40_holdings(
    api_client, portfolio, django_assert_num_queries
):
    TransactionFactory(portfolio=portfolio, asset=AssetFactory(slug="coin-0"))
    budget = queries_for(lambda: api_client.get(detail(portfolio.pk)))
    for n in range(1, 40):
        TransactionFactory(portfolio=portfolio, asset=AssetFactory(slug=f"coin-{n}"))

    with django_assert_num_queries(budget):
        response = api_client.get(detail(portfolio.pk))
    assert response.json()["value"] == "80"


# Isolation --------------------------------------------------------------------


def test_another_users_portfolio_is_a_404_like_a_missing_one(api_client, theirs):
    assert_same_404(
        api_client.get(detail(theirs.pk)), api_client.get(detail(MISSING_ID))
    )


def test_patching_another_users_portfolio_is_a_404_and_changes_nothing(
    api_client, theirs
):
    body = {"name": "Hijacked"}

    assert_same_404(
        api_client.patch(detail(theirs.pk), body, format="json"),
        api_client.patch(detail(MISSING_ID), body, format="json"),
    )
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_deleting_another_users_portfolio_is_a_404_and_deletes_nothing(
    api_client, theirs
):
    assert_same_404(
        api_client.delete(detail(theirs.pk)), api_client.delete(detail(MISSING_ID))
    )
    assert Portfolio.objects.filter(pk=theirs.pk).exists()


# Anonymous ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("post", URL),
        ("get", "{pk}/"),
        ("patch", "{pk}/"),
        ("delete", "{pk}/"),
    ],
)
def test_anonymous_requests_are_401_and_change_nothing(
    anon_client, portfolio, method, path
):
    url = path if path == URL else detail(portfolio.pk)
    response = getattr(anon_client, method)(
        url, {"name": "Anon", "target": BALANCED}, format="json"
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    portfolio.refresh_from_db()
    assert portfolio.name == "Main"
    assert Portfolio.objects.count() == 1
