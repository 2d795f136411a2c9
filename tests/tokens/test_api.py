"""The tokens API: /api/v1/auth/tokens/ list, create, read and revoke."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.conftest import MISSING_ID, assert_same_404
from tests.factories import ApiTokenFactory
from tests.tokens.conftest import NOW, with_token
from tokens.models import ApiToken

URL = "/api/v1/auth/tokens/"
FIELDS = {"id", "name", "prefix", "scope", "created", "expires", "expired", "last_used"}


def detail(token_id: int) -> str:
    return f"{URL}{token_id}/"


def test_a_token_is_created_and_its_key_returned_once(api_client, user, clock):
    response = api_client.post(
        URL,
        {"name": "tax script", "scope": "read", "expires": "2026-08-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == FIELDS | {"token"}
    token = ApiToken.objects.get(user=user)
    assert body["id"] == token.pk
    assert body["name"] == "tax script"
    assert body["scope"] == "read"
    assert body["expires"] == "2026-08-01T00:00:00Z"
    assert body["created"] == "2026-05-01T12:00:00Z"
    assert body["expired"] is False
    assert body["last_used"] is None
    assert len(body["token"]) == 64
    assert body["prefix"] == body["token"][:8]
    assert response.headers["Cache-Control"] == "no-store"


def test_the_key_is_never_listed_or_shown_again(api_client, user):
    key = api_client.post(URL, {"name": "ci", "scope": "write"}, format="json").json()[
        "token"
    ]
    token = ApiToken.objects.get(user=user)

    listing = api_client.get(URL)
    shown = api_client.get(detail(token.pk))

    assert listing.status_code == shown.status_code == 200
    assert key not in listing.content.decode()
    assert key not in shown.content.decode()
    assert set(shown.json()) == FIELDS
    assert shown.json()["prefix"] == key[:8]


def test_a_token_without_expiry_never_expires(api_client, user):
    response = api_client.post(URL, {"name": "ci", "scope": "write"}, format="json")

    assert response.status_code == 201
    assert response.json()["expires"] is None
    assert ApiToken.objects.get(user=user).expiry is None


def test_the_key_authenticates_with_its_scope(api_client, user, portfolio):
    key = api_client.post(
        URL, {"name": "reader", "scope": "read"}, format="json"
    ).json()["token"]

    assert with_token(key).get("/api/v1/portfolios/").status_code == 200
    assert with_token(key).post(URL, {}, format="json").status_code == 403


def test_the_list_holds_only_ones_own_tokens_newest_first(
    api_client, user, other_user, clock
):
    ApiTokenFactory(user=user, name="old")
    clock.move_to(NOW + timedelta(hours=1))
    ApiTokenFactory(user=user, name="new")
    ApiTokenFactory(user=other_user, name="theirs")

    body = api_client.get(URL).json()

    assert body["count"] == 2
    assert [t["name"] for t in body["results"]] == ["new", "old"]
    assert set(body) == {"count", "next", "previous", "results"}


def test_revoking_deletes_the_token_and_its_key_stops_working(api_client, user):
    token = ApiTokenFactory(user=user)

    response = api_client.delete(detail(token.pk))

    assert response.status_code == 204
    assert not ApiToken.objects.exists()
    assert with_token(token.key).get("/api/v1/portfolios/").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "read"}, "name"),
        ({"name": "", "scope": "read"}, "name"),
        ({"name": "   ", "scope": "read"}, "name"),
        ({"name": "x" * 101, "scope": "read"}, "name"),
        ({"name": "ci"}, "scope"),
        ({"name": "ci", "scope": "admin"}, "scope"),
        ({"name": "ci", "scope": "read", "expires": "2026-05-01T11:59:59Z"}, "expires"),
        ({"name": "ci", "scope": "read", "expires": "2026-05-01T12:00:00Z"}, "expires"),
        ({"name": "ci", "scope": "read", "expires": "next week"}, "expires"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_makes_nothing(
    api_client, user, clock, body, field
):
    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not ApiToken.objects.exists()


def test_a_name_of_100_characters_is_accepted(api_client, user):
    response = api_client.post(URL, {"name": "x" * 100, "scope": "read"}, format="json")

    assert response.status_code == 201


def test_a_name_is_unique_per_user_only(api_client, user, other_user):
    ApiTokenFactory(user=user, name="ci")
    ApiTokenFactory(user=other_user, name="laptop")

    taken = api_client.post(URL, {"name": "ci", "scope": "read"}, format="json")
    theirs = api_client.post(URL, {"name": "laptop", "scope": "read"}, format="json")

    assert taken.status_code == 400
    assert taken.json() == {"name": ["You already have a token with this name."]}
    assert theirs.status_code == 201
    assert ApiToken.objects.filter(user=user).count() == 2


def test_a_form_body_is_refused(api_client, user):
    response = api_client.post(URL, {"name": "ci", "scope": "read"}, format="multipart")

    assert response.status_code == 415
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_users_token_is_404_like_a_missing_one(api_client, other_user, method):
    theirs = ApiTokenFactory(user=other_user)

    response = getattr(api_client, method)(detail(theirs.pk))
    missing = getattr(api_client, method)(detail(MISSING_ID))

    assert_same_404(response, missing)
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_an_id_that_is_not_a_number_is_404(api_client, user):
    assert api_client.get(f"{URL}abc/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", URL), ("post", URL), ("get", detail(1)), ("delete", detail(1))],
)
def test_anonymous_requests_are_401(anon_client, method, path):
    response = getattr(anon_client, method)(path, format="json")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_listing_runs_a_fixed_number_of_queries(
    api_client, user, django_assert_num_queries
):
    for n in range(5):
        ApiTokenFactory(user=user, name=f"t{n}")

    # The count and the page: as many tokens as there may be.
    with django_assert_num_queries(2):
        response = api_client.get(URL)
    assert response.json()["count"] == 5


def test_creating_runs_a_fixed_number_of_queries(
    api_client, user, django_assert_num_queries
):
    # The name check, then the insert inside its savepoint.
    with django_assert_num_queries(4):
        response = api_client.post(URL, {"name": "ci", "scope": "read"}, format="json")
    assert response.status_code == 201
