"""Deliver fired alerts by email and by a signed webhook, never raising.

A failed delivery is logged and recorded on its notification; it never stops
the delivery of the other alerts or the evaluation of other users.

Webhook: POST of the JSON payload, serialised once; the receiver checks
``X-Capsite-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``
with ``X-Capsite-Timestamp`` (unix seconds) and may refuse old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertSettings, Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # settings.AUTH_USER_MODEL

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 5  # seconds, to connect and to read the answer
_STATUS_LENGTH = 200  # Notification.email_status and webhook_status


def deliver(
    notifications: Sequence[Notification], *, prefs: AlertSettings, user: User
) -> None:
    """Send each saved notification by email and webhook as the user chose.

    Records each outcome on the notification, in one UPDATE for them all.
    """
    if not notifications or not (prefs.email or prefs.webhook_url):
        return
    for notification in notifications:
        try:
            notification.email_status = _email(notification, prefs=prefs, user=user)
        except Exception as exc:  # a broken mail backend must not stop the rest
            logger.warning("alert %s: email failed: %r", notification.pk, exc)
            notification.email_status = _status(f"failed: {exc!r}")
        if prefs.webhook_url:
            notification.webhook_status = post_webhook(
                url=prefs.webhook_url,
                secret=prefs.webhook_secret,
                event=notification.kind,
                body=encode(payload(notification)),
            )
    Notification.objects.bulk_update(notifications, ["email_status", "webhook_status"])


def _email(notification: Notification, *, prefs: AlertSettings, user: User) -> str:
    if not prefs.email:
        return ""
    if not user.email:
        return "skipped: no email address"
    # A header cannot hold a line break (a portfolio name may).
    subject = " ".join(notification.title.split())
    message = (
        f"{notification.body}\n\n{absolute(notification.url)}\n\n"
        "--\nYou get this email because email alerts are on in your capsite "
        f"alert settings: {absolute(reverse('alerts:settings'))}\n"
    )
    send_mail(subject, message, None, [user.email])
    return "sent"


def payload(notification: Notification) -> dict[str, Any]:
    """The webhook's JSON body for a saved notification."""
    portfolio = notification.portfolio
    return {
        "event": notification.kind,
        "id": notification.pk,
        "created": notification.created.isoformat(),
        "portfolio": None
        if portfolio is None
        else {"id": portfolio.pk, "name": portfolio.name},
        "title": notification.title,
        "body": notification.body,
        "url": absolute(notification.url),
        "data": notification.data,
    }


def sample_payload() -> dict[str, Any]:
    """The body of the test webhook a user can send from the settings page."""
    return {
        "event": "test",
        "id": None,
        "created": timezone.now().isoformat(),
        "portfolio": None,
        "title": "Test webhook from capsite",
        "body": "Your webhook is reachable and this request is signed with your secret.",
        "url": absolute(reverse("alerts:settings")),
        "data": {},
    }


def encode(body: dict[str, Any]) -> bytes:
    """Serialise once: the bytes signed are the bytes sent."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def post_webhook(*, url: str, secret: str, event: str, body: bytes) -> str:
    """POST a signed body; return what happened, in a few words, never raising."""
    problem = _refused(url)
    if problem:
        logger.warning("webhook to %s refused: %s", url, problem)
        return _status(f"refused: {problem}")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "capsite-webhook",
        "X-Capsite-Event": event,
        "X-Capsite-Timestamp": timestamp,
        "X-Capsite-Signature": signature(secret, timestamp, body),
    }
    try:
        # Redirects are not followed: they could lead anywhere, the guard's
        # addresses included.
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=WEBHOOK_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        logger.warning("webhook to %s failed: %r", url, exc)
        return _status(f"failed: {type(exc).__name__}")
    if 200 <= response.status_code < 300:
        return f"delivered: HTTP {response.status_code}"
    logger.warning("webhook to %s answered HTTP %s", url, response.status_code)
    return f"failed: HTTP {response.status_code}"


def _refused(url: str) -> str:
    """Why the URL may not be called, or "": hosts that resolve to a private,
    loopback or link-local address are refused unless
    CAPSITE_WEBHOOK_ALLOW_PRIVATE (a user could otherwise probe the servers'
    own network)."""
    if getattr(settings, "CAPSITE_WEBHOOK_ALLOW_PRIVATE", False):
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return "the host name does not resolve"
    for *_, address in addresses:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not ip.is_global:
            return f"{host} is a private address"
    return ""


def absolute(path: str) -> str:
    """The address of a page of the site: CAPSITE_SITE_URL + path when it is set."""
    base: str = getattr(settings, "CAPSITE_SITE_URL", "")
    return f"{base.rstrip('/')}{path}" if path.startswith("/") else path


def _status(text: str) -> str:
    return text[:_STATUS_LENGTH]
