"""The client's address, one rule for API throttling and login lock-out.

DRF's throttles find it from settings.REST_FRAMEWORK["NUM_PROXIES"], set from
CAPSITE_TRUSTED_PROXIES: REMOTE_ADDR with no proxy, else the entry of
X-Forwarded-For that our last proxy was handed. django-axes asks here
(AXES_CLIENT_IP_CALLABLE), so both see the same address.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


def client_ip(request: HttpRequest) -> str:
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]
