"""Behind proxies: one client address for throttles and lock-out; lock-outs say 429.

Before issue 13, any X-Forwarded-For header reset the anonymous API rate (DRF
trusted it whole), django-axes behind a proxy saw every client at the proxy's
address, and a locked-out API login answered 400 "Unable to log in".
"""

from __future__ import annotations

import pytest
from axes.utils import reset as reset_axes
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
MARKET = "/api/v1/market/"
TOKEN = "/api/v1/auth/token/"
COOL_OFF = 15 * 60  # AXES_COOLOFF_TIME, a quarter of an hour


def _with_proxies(settings, count: int) -> None:
    settings.CAPSITE_TRUSTED_PROXIES = count
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}


@pytest.fixture(autouse=True)
def _axes(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    reset_axes()
    cache.clear()
    yield
    reset_axes()
    cache.clear()


# Throttling


@pytest.fixture
def three_a_minute(settings, monkeypatch):
    rates = {"anon": "3/min", "user": "100/min"}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": rates,
    }
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.mark.usefixtures("three_a_minute")
def test_with_no_proxy_a_forged_forwarded_for_does_not_reset_the_rate(settings):
    _with_proxies(settings, 0)
    client = APIClient(REMOTE_ADDR="203.0.113.7")

    statuses = [
        client.get(MARKET, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(6)
    ]

    assert statuses == [200, 200, 200, 429, 429, 429]


@pytest.mark.usefixtures("three_a_minute")
def test_behind_one_proxy_the_client_is_the_entry_the_proxy_added(settings):
    _with_proxies(settings, 1)
    # nginx appends the address it saw; whatever the client wrote comes before.
    proxy = APIClient(REMOTE_ADDR="127.0.0.1")

    forged = [
        proxy.get(MARKET, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.7").status_code
        for n in range(4)
    ]
    someone_else = proxy.get(MARKET, HTTP_X_FORWARDED_FOR="203.0.113.8")

    assert forged == [200, 200, 200, 429]
    assert someone_else.status_code == 200


# Lock-out


def _fail(client: Client, url: str, times: int, **extra):
    response = None
    for _ in range(times):
        response = client.post(url, {"username": "alice", "password": "guess"}, **extra)
    return response


def test_behind_a_proxy_a_lockout_stays_with_the_attackers_address(settings):
    _with_proxies(settings, 1)
    UserFactory(username="alice")
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    _fail(proxy, "/accounts/login/", 5, HTTP_X_FORWARDED_FOR="198.51.100.66")

    owner = proxy.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    attacker = proxy.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.66",
    )

    assert owner.status_code == 302  # not locked out by someone else's guesses
    assert attacker.status_code == 429


def test_the_login_lockout_page_is_429_with_retry_after():
    UserFactory(username="alice")
    client = Client()

    locking = _fail(client, "/accounts/login/", 5)
    again = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    for response in (locking, again):
        assert response.status_code == 429
        assert response["Retry-After"] == str(COOL_OFF)
        assert "Wait 15 minutes, then try again." in response.text


def test_the_admin_lockout_page_is_429_with_retry_after():
    UserFactory(username="alice", is_staff=True)
    client = Client()

    response = _fail(client, "/admin/login/?next=/admin/", 5)

    assert response.status_code == 429
    assert response["Retry-After"] == str(COOL_OFF)


def test_a_locked_out_api_login_is_429_with_retry_after_even_with_the_password():
    UserFactory(username="alice")
    client = APIClient()
    failures = [
        client.post(TOKEN, {"username": "alice", "password": "guess"}, format="json")
        for _ in range(5)
    ]

    right = client.post(
        TOKEN, {"username": "alice", "password": PASSWORD}, format="json"
    )

    assert [r.status_code for r in failures] == [400, 400, 400, 400, 429]
    assert right.status_code == 429
    assert right["Retry-After"] == str(COOL_OFF)
    assert "Too many failed logins" in right.json()["detail"]
    assert "token" not in right.json()


def test_an_api_login_below_the_limit_still_gets_its_token():
    UserFactory(username="alice")
    client = APIClient()
    for _ in range(4):
        client.post(TOKEN, {"username": "alice", "password": "guess"}, format="json")

    response = client.post(
        TOKEN, {"username": "alice", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["token"]


def test_an_api_login_with_a_list_body_is_a_400_not_a_crash():
    response = APIClient().post(TOKEN, ["alice"], format="json")

    assert response.status_code == 400
