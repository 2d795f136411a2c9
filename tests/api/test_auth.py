"""Token auth: obtain and revoke at /api/v1/auth/token/; sessions; public vs private."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import AssetFactory

URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_is_issued_for_a_username_and_password(anon_client, user):
    response = anon_client.post(
        URL, {"username": "alice", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}


def test_the_same_token_is_returned_until_it_is_revoked(anon_client, user):
    credentials = {"username": "alice", "password": PASSWORD}

    first = anon_client.post(URL, credentials, format="json").json()
    second = anon_client.post(URL, credentials, format="json").json()

    assert first == second
    assert Token.objects.count() == 1


def test_a_token_can_be_obtained_with_form_data(anon_client, user):
    response = anon_client.post(URL, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"username": "alice", "password": "wrong"}, {"non_field_errors"}),
        ({"username": "nobody", "password": PASSWORD}, {"non_field_errors"}),
        ({}, {"username", "password"}),
        ({"username": "alice"}, {"password"}),
    ],
)
def test_bad_credentials_are_a_400_and_issue_no_token(anon_client, user, body, fields):
    response = anon_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == fields
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token(anon_client, user):
    user.is_active = False
    user.save()

    response = anon_client.post(
        URL, {"username": "alice", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 400
    assert not Token.objects.exists()


def test_the_token_authenticates_private_endpoints(anon_client, user):
    key = anon_client.post(
        URL, {"username": "alice", "password": PASSWORD}, format="json"
    ).json()["token"]

    assert anon_client.get("/api/v1/portfolios/").status_code == 401
    assert with_token(key).get("/api/v1/portfolios/").status_code == 200


def test_a_revoked_token_no_longer_works(user):
    key = Token.objects.create(user=user).key
    client = with_token(key)

    response = client.delete(URL)

    assert response.status_code == 204
    assert not Token.objects.exists()
    assert client.get("/api/v1/portfolios/").status_code == 401
    assert client.delete(URL).status_code == 401


def test_after_revoking_a_new_token_is_a_different_one(anon_client, user):
    old = Token.objects.create(user=user).key
    with_token(old).delete(URL)

    new = anon_client.post(
        URL, {"username": "alice", "password": PASSWORD}, format="json"
    ).json()["token"]

    assert new != old
    assert with_token(new).get("/api/v1/portfolios/").status_code == 200


def test_revoking_without_credentials_is_401(anon_client, user):
    Token.objects.create(user=user)

    response = anon_client.delete(URL)

    assert response.status_code == 401
    assert Token.objects.count() == 1


def test_revoking_only_removes_ones_own_token(user, other_user):
    mine = Token.objects.create(user=user)
    Token.objects.create(user=other_user)

    with_token(mine.key).delete(URL)

    assert list(Token.objects.values_list("user__username", flat=True)) == ["mallory"]


@pytest.mark.parametrize("header", ["Token not-a-real-key", "Token", "Token a b"])
def test_a_bad_token_is_401_even_on_public_endpoints(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/market/")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_issuing_a_token_runs_a_fixed_number_of_queries(
    anon_client, user, django_assert_max_num_queries
):
    # The user, then the token's get_or_create: select, savepoint, insert, release.
    with django_assert_max_num_queries(5):
        response = anon_client.post(URL, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200


# Sessions: the browsable API ------------------------------------------------------


def test_a_session_signs_in_the_browsable_api(client_logged_in):
    response = client_logged_in.get("/api/v1/portfolios/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert client_logged_in.get("/api/v1/portfolios/").status_code == 200


def test_a_session_write_without_the_csrf_token_is_refused(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(
        "/api/v1/portfolios/",
        {"name": "Sneaky", "target": {"large": "100", "mid": "0", "small": "0"}},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert not user.portfolios.exists()


# Public and private ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/assets/",
        "/api/v1/assets/coin/",
        "/api/v1/assets/coin/history/",
        "/api/v1/market/",
    ],
)
def test_market_reads_are_public(anon_client, path):
    AssetFactory(slug="coin")

    assert anon_client.get(path).status_code == 200


def test_the_calculator_is_public(anon_client):
    response = anon_client.post(
        "/api/v1/calculator/", {"price": "1", "circulating_supply": "1"}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/portfolios/"),
        ("post", "/api/v1/portfolios/"),
        ("get", "/api/v1/portfolios/{id}/"),
        ("patch", "/api/v1/portfolios/{id}/"),
        ("delete", "/api/v1/portfolios/{id}/"),
        ("get", "/api/v1/portfolios/{id}/transactions/"),
        ("post", "/api/v1/portfolios/{id}/transactions/"),
        ("get", "/api/v1/portfolios/{id}/transactions/1/"),
        ("patch", "/api/v1/portfolios/{id}/transactions/1/"),
        ("delete", "/api/v1/portfolios/{id}/transactions/1/"),
        ("get", "/api/v1/portfolios/{id}/holdings/"),
        ("get", "/api/v1/portfolios/{id}/allocation/"),
        ("get", "/api/v1/portfolios/{id}/rebalance/"),
        ("get", "/api/v1/portfolios/{id}/history/"),
        ("delete", "/api/v1/auth/token/"),
    ],
)
def test_private_endpoints_are_401_without_credentials(
    anon_client, portfolio, method, path
):
    response = getattr(anon_client, method)(path.format(id=portfolio.pk))

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided."
    }
