"""Throttling: 429 with Retry-After, per anonymous IP and per user, in the cache."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

MARKET = "/api/v1/market/"
PORTFOLIOS = "/api/v1/portfolios/"
RATES = {"anon": "2/min", "user": "3/min"}


@pytest.fixture(autouse=True)
def tiny_rates(settings, monkeypatch):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": RATES,
    }
    # DRF copies the rates onto the throttle class when it is first imported.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)
    cache.clear()
    yield
    cache.clear()


def test_the_settings_define_both_rates():
    rates = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert set(rates) == {"anon", "user"}


def test_an_anonymous_client_past_its_rate_gets_429_with_retry_after(anon_client):
    assert [anon_client.get(MARKET).status_code for _ in range(2)] == [200, 200]

    response = anon_client.get(MARKET)

    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")


def test_a_signed_in_client_has_its_own_rate(api_client):
    statuses = [api_client.get(PORTFOLIOS).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_throttling_covers_writes_and_public_endpoints_alike(api_client):
    body = {"price": "1", "circulating_supply": "1"}
    statuses = [
        api_client.post("/api/v1/calculator/", body).status_code for _ in range(4)
    ]

    assert statuses == [200, 200, 200, 429]


def test_anonymous_and_signed_in_clients_are_counted_apart(anon_client, api_client):
    for _ in range(2):
        anon_client.get(MARKET)

    assert anon_client.get(MARKET).status_code == 429
    assert api_client.get(MARKET).status_code == 200


def test_each_user_is_counted_apart(api_client, other_api_client):
    for _ in range(3):
        api_client.get(PORTFOLIOS)

    assert api_client.get(PORTFOLIOS).status_code == 429
    assert other_api_client.get(PORTFOLIOS).status_code == 200


def test_retry_after_counts_down_and_the_client_is_let_back_in(
    anon_client, time_machine
):
    time_machine.move_to(datetime(2026, 5, 1, 12, 0, tzinfo=UTC), tick=False)
    for _ in range(2):
        anon_client.get(MARKET)
    assert anon_client.get(MARKET).headers["Retry-After"] == "60"

    time_machine.shift(timedelta(seconds=45))
    assert anon_client.get(MARKET).headers["Retry-After"] == "15"

    time_machine.shift(timedelta(seconds=16))
    assert anon_client.get(MARKET).status_code == 200


def test_the_counters_live_in_the_default_cache(anon_client):
    # The default cache is Redis when REDIS_URL is set: every process shares it.
    for _ in range(2):
        anon_client.get(MARKET)

    assert len(cache.get("throttle_anon_127.0.0.1")) == 2
    assert anon_client.get(MARKET).status_code == 429
    cache.clear()
    assert anon_client.get(MARKET).status_code == 200


def test_redis_url_puts_the_default_cache_and_so_the_counters_in_redis():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'], "
        "settings.CACHES['default']['LOCATION'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "capsite.settings",
        "REDIS_URL": "redis://cache.internal:6379/1",
    }

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    )

    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://cache.internal:6379/1",
    ]
