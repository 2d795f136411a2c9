"""The API tokens page at /accounts/tokens/: list, create (key shown once), revoke."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from tests.factories import ApiTokenFactory
from tests.tokens.conftest import NOW, with_token
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

PAGE = "/accounts/tokens/"


def revoke_url(pk: int) -> str:
    return f"{PAGE}{pk}/revoke/"


def _new_key(response) -> str:
    match = re.search(
        r'<code id="new-token">([0-9a-f]+)</code>', response.content.decode()
    )
    assert match, "no new key on the page"
    return match.group(1)


def _field_error(response, field: str) -> str:
    html = response.content.decode()
    match = re.search(rf'<div class="error" id="id_{field}-error">(.*?)</div>', html)
    assert match, f"no error on {field}"
    return unescape(match.group(1))


def test_the_page_lists_ones_own_tokens(client_logged_in, user, other_user, clock):
    ApiTokenFactory(user=user, name="tax script", scope="read")
    ApiTokenFactory(user=user, name="old", expires=NOW + timedelta(days=1))
    ApiTokenFactory(user=other_user, name="theirs")
    clock.move_to(NOW + timedelta(days=2))

    response = client_logged_in.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert "tax script" in html and "Read only" in html
    assert "expired" in html
    assert "theirs" not in html
    assert "new-token" not in html
    for token in ApiToken.objects.filter(user=user):
        assert f"<code>{token.prefix}…</code>" in html
        assert revoke_url(token.pk) in html


def test_making_a_token_shows_its_key_once(client_logged_in, user, portfolio, clock):
    response = client_logged_in.post(
        PAGE, {"name": "tax script", "scope": "read", "expires": "30"}
    )

    assert response.status_code == 200
    key = _new_key(response)
    assert "it will not be shown again" in response.content.decode()
    assert "no-store" in response.headers["Cache-Control"]
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.scope) == ("tax script", "read")
    assert token.expiry == NOW + timedelta(days=30)
    # The key works, read-only, and the page never shows it again.
    assert with_token(key).get("/api/v1/portfolios/").status_code == 200
    assert with_token(key).post("/api/v1/portfolios/", {}).status_code == 403
    assert key not in client_logged_in.get(PAGE).content.decode()


@pytest.mark.parametrize(
    ("choice", "expiry"), [("90", timedelta(days=90)), ("365", timedelta(days=365))]
)
def test_the_expiry_choices_count_days_from_now(
    client_logged_in, user, clock, choice, expiry
):
    client_logged_in.post(PAGE, {"name": "ci", "scope": "write", "expires": choice})

    assert ApiToken.objects.get().expiry == NOW + expiry


def test_a_token_may_never_expire(client_logged_in, user):
    client_logged_in.post(PAGE, {"name": "ci", "scope": "write", "expires": "never"})

    assert ApiToken.objects.get().expiry is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "scope": "read", "expires": "30"}, "name"),
        ({"name": "x" * 101, "scope": "read", "expires": "30"}, "name"),
        ({"name": "ci", "scope": "admin", "expires": "30"}, "scope"),
        ({"name": "ci", "scope": "read", "expires": "7"}, "expires"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client_logged_in, user, data, field):
    response = client_logged_in.post(PAGE, data)

    assert response.status_code == 400
    assert _field_error(response, field)
    assert "new-token" not in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_name_already_used_is_refused_on_the_name(client_logged_in, user):
    ApiTokenFactory(user=user, name="ci")

    response = client_logged_in.post(
        PAGE, {"name": "ci", "scope": "read", "expires": "30"}
    )

    assert response.status_code == 400
    assert _field_error(response, "name") == "You already have a token with this name."
    assert ApiToken.objects.count() == 1


def test_revoking_asks_first_then_deletes(client_logged_in, user):
    token = ApiTokenFactory(user=user, name="ci")

    asked = client_logged_in.get(revoke_url(token.pk))
    assert asked.status_code == 200
    assert "Revoke “ci”?" in asked.content.decode()
    assert ApiToken.objects.exists()

    response = client_logged_in.post(revoke_url(token.pk), follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert "Token “ci” revoked." in response.content.decode()
    assert not ApiToken.objects.exists()
    assert with_token(token.key).get("/api/v1/portfolios/").status_code == 401


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_users_token_cannot_be_revoked(client_logged_in, other_user, method):
    theirs = ApiTokenFactory(user=other_user)

    response = getattr(client_logged_in, method)(revoke_url(theirs.pk))

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", PAGE), ("post", PAGE), ("get", revoke_url(1)), ("post", revoke_url(1))],
)
def test_anonymous_visitors_are_sent_to_log_in(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


def test_the_account_page_links_to_the_page(client_logged_in):
    html = client_logged_in.get("/accounts/").content.decode()

    assert f'href="{PAGE}"' in html


def test_the_page_runs_a_fixed_number_of_queries(
    client_logged_in, user, django_assert_num_queries
):
    for n in range(5):
        ApiTokenFactory(user=user, name=f"t{n}")
    client_logged_in.get(PAGE)

    with django_assert_num_queries(4):
        response = client_logged_in.get(PAGE)
    assert response.status_code == 200
