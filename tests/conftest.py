"""Shared fixtures built from the factories, and test-only settings."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from tests.factories import PortfolioFactory, UserFactory


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip tests marked for the other database: one condition, stated once."""
    skips = {
        "postgres": (
            connection.vendor != "postgresql",
            "needs PostgreSQL: its NUMERIC is exact and it locks rows",
        ),
        "sqlite": (
            connection.vendor != "sqlite",
            "needs SQLite: it reads decimals through floats",
        ),
    }
    for item in items:
        for marker, (skip, reason) in skips.items():
            if skip and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Lock-out is tested on its own (tests/test_accounts.py switches it back on).
    settings.AXES_ENABLED = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Background tasks run at once, in the test's thread, when their transaction
    # commits (django_capture_on_commit_callbacks(execute=True) in a db test).
    settings.CELERY_BROKER_URL = ""
    settings.CAPSITE_JOBS_INLINE = True
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }
    # Local-memory caches share one store per process: start every test empty,
    # so nothing cached per market version leaks from one test to the next.
    cache.clear()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="mallory")


@pytest.fixture
def staff_client(db) -> Client:
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


@pytest.fixture
def portfolio(user):
    return PortfolioFactory(owner=user, name="Main")


@pytest.fixture
def client_logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_client(other_user) -> Client:
    client = Client()
    client.force_login(other_user)
    return client


@pytest.fixture
def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def other_api_client(other_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(other_user)
    return client


@pytest.fixture
def anon_client(db):
    from rest_framework.test import APIClient

    return APIClient()
