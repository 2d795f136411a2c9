"""Helpers for the token tests: a client that sends `Authorization: Token <key>`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def clock(time_machine):
    """Stop the clock at NOW; tests move it with ``clock.move_to``."""
    time_machine.move_to(NOW, tick=False)
    return time_machine
