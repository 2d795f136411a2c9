"""Delivery: a signed webhook to a real local server, failures recorded, never raised."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from django.core import mail

from alerts import delivery
from alerts.evaluation import evaluate_all, evaluate_portfolio
from alerts.models import Notification
from tests.alerts.conftest import DRIFT_TITLE, NOW, buy, set_target
from tests.factories import AlertSettingsFactory, PortfolioFactory

pytestmark = pytest.mark.django_db


def _expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"sha256={digest}"


def test_the_webhook_gets_the_alert_signed_with_the_users_secret(
    drifted, user, webhook
):
    prefs = AlertSettingsFactory(user=user, webhook_url=webhook.url)

    [notification] = evaluate_portfolio(drifted.pk)

    [request] = webhook.requests
    assert request.path == "/hooks/capsite"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-capsite-event"] == "drift"
    timestamp = request.headers["x-capsite-timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    # The receiver's own check, with the secret shown on the settings page.
    assert request.headers["x-capsite-signature"] == _expected_signature(
        prefs.webhook_secret, timestamp, request.body
    )
    assert request.headers["x-capsite-signature"] != _expected_signature(
        "another secret", timestamp, request.body
    )
    body = request.json()
    assert body == {
        "event": "drift",
        "id": notification.pk,
        "created": notification.created.isoformat(),
        "portfolio": {"id": drifted.pk, "name": "Main"},
        "title": DRIFT_TITLE,
        "body": notification.body,
        "url": f"/portfolios/{drifted.pk}/",
        "data": notification.data,
    }
    large = next(row for row in body["data"]["buckets"] if row["bucket"] == "large")
    assert (large["weight"], large["target"], large["drift"]) == ("62", "50", "12")
    notification.refresh_from_db()
    assert notification.webhook_status == "delivered: HTTP 200"
    assert len(mail.outbox) == 1


def test_the_webhook_fires_once_per_event_and_again_when_it_returns(
    drifted, user, webhook
):
    AlertSettingsFactory(user=user, webhook_url=webhook.url)
    evaluate_portfolio(drifted.pk)
    evaluate_portfolio(drifted.pk)
    assert len(webhook.requests) == 1

    set_target(drifted, "62", "18", "15", "5")
    evaluate_portfolio(drifted.pk)
    set_target(drifted, "50", "30", "15", "5")
    evaluate_portfolio(drifted.pk)

    assert [r.json()["title"] for r in webhook.requests] == [DRIFT_TITLE] * 2
    ids = [r.json()["id"] for r in webhook.requests]
    assert ids == list(Notification.objects.order_by("pk").values_list("pk", flat=True))


def test_the_site_address_makes_links_absolute(drifted, user, webhook, settings):
    settings.CAPSITE_SITE_URL = "https://capsite.example/"
    AlertSettingsFactory(user=user, webhook_url=webhook.url)

    evaluate_portfolio(drifted.pk)

    url = f"https://capsite.example/portfolios/{drifted.pk}/"
    assert webhook.requests[0].json()["url"] == url
    assert url in mail.outbox[0].body


def test_without_a_webhook_url_nothing_is_posted(drifted, user, webhook):
    AlertSettingsFactory(user=user, webhook_url="")

    [notification] = evaluate_portfolio(drifted.pk)

    assert webhook.requests == []
    notification.refresh_from_db()
    assert notification.webhook_status == ""


def test_a_webhook_answering_500_is_recorded_and_breaks_nothing(
    drifted, user, webhook, caplog
):
    AlertSettingsFactory(user=user, webhook_url=webhook.url)
    webhook.status = 500

    with caplog.at_level(logging.WARNING, logger="alerts.delivery"):
        [notification] = evaluate_portfolio(drifted.pk)

    assert len(webhook.requests) == 1
    notification.refresh_from_db()
    assert notification.webhook_status == "failed: HTTP 500"
    assert "answered HTTP 500" in caplog.text
    assert len(mail.outbox) == 1
    # Told once: a failed delivery does not make the event fire again.
    assert evaluate_portfolio(drifted.pk) == []


def test_a_refused_connection_is_recorded_and_other_users_still_get_theirs(
    drifted, user, other_user, market, webhook, closed_url, caplog
):
    AlertSettingsFactory(user=user, webhook_url=closed_url)
    AlertSettingsFactory(user=other_user, webhook_url=webhook.url)
    theirs = PortfolioFactory(owner=other_user, name="Theirs")
    buy(theirs, market["big"], "1")

    with caplog.at_level(logging.WARNING, logger="alerts.delivery"):
        assert evaluate_all() == 2

    mine = Notification.objects.get(user=user)
    assert mine.webhook_status == "failed: ConnectionError"
    assert "webhook to http://127.0.0.1" in caplog.text
    [request] = webhook.requests
    assert request.json()["portfolio"] == {"id": theirs.pk, "name": "Theirs"}
    assert Notification.objects.get(user=other_user).webhook_status == (
        "delivered: HTTP 200"
    )
    assert sorted(m.to[0] for m in mail.outbox) == [
        "alice@example.com",
        "mallory@example.com",
    ]


def test_a_failing_mail_server_is_recorded_and_the_webhook_still_goes(
    drifted, user, webhook, monkeypatch
):
    AlertSettingsFactory(user=user, webhook_url=webhook.url)

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(delivery, "send_mail", refuse)

    [notification] = evaluate_portfolio(drifted.pk)

    notification.refresh_from_db()
    assert notification.email_status.startswith("failed: ConnectionRefusedError")
    assert notification.webhook_status == "delivered: HTTP 200"
    assert len(webhook.requests) == 1


def test_private_addresses_are_refused_unless_allowed(drifted, user, webhook, settings):
    settings.CAPSITE_WEBHOOK_ALLOW_PRIVATE = False
    AlertSettingsFactory(user=user, webhook_url=webhook.url)

    [notification] = evaluate_portfolio(drifted.pk)

    assert webhook.requests == []
    notification.refresh_from_db()
    assert notification.webhook_status == "refused: 127.0.0.1 is a private address"


def test_the_body_is_serialised_once_and_signed_as_sent(webhook):
    body = delivery.encode({"event": "test", "title": "Drift in ‘Main’"})

    status = delivery.post_webhook(
        url=webhook.url, secret="s3cret", event="test", body=body
    )

    assert status == "delivered: HTTP 200"
    [request] = webhook.requests
    assert request.body == body
    assert json.loads(body)["title"] == "Drift in ‘Main’"
    assert request.headers["x-capsite-signature"] == _expected_signature(
        "s3cret", request.headers["x-capsite-timestamp"], body
    )
