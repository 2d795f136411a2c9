"""Named tokens authenticate the API: hashed, scoped, expiring; legacy tokens still work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from portfolios.models import Portfolio
from tests.factories import (
    ApiTokenFactory,
    NotificationFactory,
    PortfolioFactory,
    UserFactory,
)
from tests.tokens.conftest import NOW, with_token
from tokens.models import ApiToken

PORTFOLIOS = "/api/v1/portfolios/"
NEW_PORTFOLIO = {
    "name": "New",
    "target": {"large": "100", "mid": "0", "small": "0", "stable": "0"},
}


def _dump_database() -> str:
    """Every row of every table, as text."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        rows = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(rows)


def test_the_database_never_holds_the_key(user):
    token = ApiTokenFactory(user=user)

    dump = _dump_database()

    assert token.key not in dump
    assert token.key[:8] in dump  # the prefix, shown in lists
    stored = ApiToken.objects.get()
    assert stored.digest != token.key
    assert len(stored.digest) == 128  # SHA-512, hex


def test_a_write_token_can_read_and_write(user, portfolio):
    client = with_token(ApiTokenFactory(user=user, scope="write").key)

    assert client.get(PORTFOLIOS).status_code == 200
    assert client.post(PORTFOLIOS, NEW_PORTFOLIO, format="json").status_code == 201
    assert (
        client.patch(
            f"{PORTFOLIOS}{portfolio.pk}/", {"name": "Renamed"}, format="json"
        ).status_code
        == 200
    )
    assert client.delete(f"{PORTFOLIOS}{portfolio.pk}/").status_code == 204


def test_a_read_token_can_read_but_every_write_is_403(user, portfolio):
    client = with_token(ApiTokenFactory(user=user, scope="read").key)
    one = f"{PORTFOLIOS}{portfolio.pk}/"

    assert client.get(PORTFOLIOS).status_code == 200
    assert client.get(one).status_code == 200
    assert client.head(one).status_code == 200
    assert client.options(one).status_code == 200
    for response in [
        client.post(PORTFOLIOS, NEW_PORTFOLIO, format="json"),
        client.patch(one, {"name": "Renamed"}, format="json"),
        client.put(one, {"name": "Renamed"}, format="json"),
        client.delete(one),
    ]:
        assert response.status_code == 403
        assert response.json() == {"detail": "This token is read-only."}
    assert list(Portfolio.objects.values_list("name", flat=True)) == ["Main"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/auth/tokens/"),
        ("delete", "/api/v1/auth/token/"),
        ("post", "/api/v1/notifications/read/"),
        ("patch", "/api/v1/alerts/settings/"),
    ],
)
def test_a_read_token_cannot_write_anywhere_in_the_api(user, method, path):
    token = ApiTokenFactory(user=user, scope="read")

    response = getattr(with_token(token.key), method)(path, {}, format="json")

    assert response.status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_a_read_token_cannot_revoke_itself(user):
    token = ApiTokenFactory(user=user, scope="read")

    response = with_token(token.key).delete(f"/api/v1/auth/tokens/{token.pk}/")

    assert response.status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_an_expired_token_is_401(user, portfolio, clock):
    token = ApiTokenFactory(user=user, expires=NOW + timedelta(days=30))
    client = with_token(token.key)

    assert client.get(PORTFOLIOS).status_code == 200
    clock.move_to(NOW + timedelta(days=30))
    response = client.get(PORTFOLIOS)

    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired."}
    assert response.headers["WWW-Authenticate"] == "Token"
    # Still listed for its owner, marked expired, until revoked.
    assert ApiToken.objects.get().is_expired()


def test_a_revoked_token_is_401(user, portfolio):
    token = ApiTokenFactory(user=user)
    client = with_token(token.key)
    assert client.get(PORTFOLIOS).status_code == 200

    ApiToken.objects.get().delete()
    response = client.get(PORTFOLIOS)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("change", ["one character", "case", "truncated", "suffix"])
def test_a_key_that_is_almost_right_is_401(user, change):
    key = ApiTokenFactory(user=user).key
    bad = {
        "one character": key[:-1] + ("0" if key[-1] != "0" else "1"),
        "case": key.upper() if key != key.upper() else key.lower(),
        "truncated": key[:-1],
        "suffix": key + "0",
    }[change]

    assert with_token(bad).get(PORTFOLIOS).status_code == 401


def test_an_inactive_users_token_is_401(user):
    token = ApiTokenFactory(user=user)
    user.is_active = False
    user.save()

    assert with_token(token.key).get(PORTFOLIOS).status_code == 401


def test_a_token_acts_as_its_own_user_only(user, other_user):
    PortfolioFactory(owner=other_user, name="Theirs")
    mine = PortfolioFactory(owner=user, name="Mine")
    client = with_token(ApiTokenFactory(user=user).key)

    names = [p["name"] for p in client.get(PORTFOLIOS).json()["results"]]

    assert names == ["Mine"]
    assert mine.pk


def test_last_used_is_recorded_at_most_once_a_minute(user, clock):
    token = ApiTokenFactory(user=user)
    client = with_token(token.key)

    def last_used():
        return ApiToken.objects.get().last_used

    assert last_used() is None
    client.get(PORTFOLIOS)
    assert last_used() == NOW

    clock.move_to(NOW + timedelta(seconds=59))
    client.get(PORTFOLIOS)
    assert last_used() == NOW

    clock.move_to(NOW + timedelta(seconds=60))
    client.get(PORTFOLIOS)
    assert last_used() == NOW + timedelta(seconds=60)


def test_a_failed_request_still_counts_as_use(user, clock):
    token = ApiTokenFactory(user=user, scope="read")

    with_token(token.key).get("/api/v1/portfolios/999999/")

    assert ApiToken.objects.get().last_used == NOW


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(PORTFOLIOS)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_a_named_token_costs_the_same_queries_as_a_legacy_one(user, portfolio, clock):
    legacy = with_token(Token.objects.create(user=user).key)
    named = with_token(ApiTokenFactory(user=user).key)
    _queries(legacy), _queries(named)  # warm: the first use stamps last_used

    # One query finds the token with its user, for either kind.
    assert _queries(named) == _queries(legacy)


def test_the_first_use_in_a_minute_adds_one_write(user, portfolio, clock):
    named = with_token(ApiTokenFactory(user=user).key)
    first = _queries(named)
    again = _queries(named)
    clock.move_to(NOW + timedelta(minutes=1))

    assert first == again + 1
    assert _queries(named) == first


def test_the_named_token_lookup_is_one_query(user, clock, django_assert_num_queries):
    NotificationFactory(user=user)
    client = with_token(ApiTokenFactory(user=user).key)
    client.get("/api/v1/notifications/")

    # The token with its user, the page count, the page.
    with django_assert_num_queries(3):
        assert client.get("/api/v1/notifications/").status_code == 200


# The legacy single token --------------------------------------------------------


def test_the_legacy_endpoint_still_issues_a_token_that_authenticates(
    anon_client, user, portfolio
):
    response = anon_client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": "correct-horse-battery"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}
    client = with_token(response.json()["token"])
    assert client.get(PORTFOLIOS).status_code == 200
    assert client.post(PORTFOLIOS, NEW_PORTFOLIO, format="json").status_code == 201


def test_legacy_and_named_tokens_live_side_by_side(user):
    legacy = Token.objects.create(user=user)
    named = ApiTokenFactory(user=user)

    assert with_token(legacy.key).delete("/api/v1/auth/token/").status_code == 204

    assert not Token.objects.exists()
    assert with_token(legacy.key).get(PORTFOLIOS).status_code == 401
    assert with_token(named.key).get(PORTFOLIOS).status_code == 200


def test_a_key_of_another_length_is_looked_up_as_a_legacy_token(db):
    owner = UserFactory(username="script")
    short = Token.objects.create(user=owner, key="custom-key-set-in-the-admin")

    assert with_token(short.key).get(PORTFOLIOS).status_code == 200
