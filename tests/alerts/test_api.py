"""/api/v1/notifications/ and /api/v1/alerts/settings/: the user's own only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.models import AlertSettings, Notification
from tests.api.conftest import queries_for
from tests.factories import AlertSettingsFactory, NotificationFactory, PortfolioFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/notifications/"
READ = "/api/v1/notifications/read/"
SETTINGS = "/api/v1/alerts/settings/"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("post", READ),
        ("get", SETTINGS),
        ("put", SETTINGS),
        ("patch", SETTINGS),
    ],
)
def test_every_endpoint_needs_credentials(anon_client, method, url):
    response = getattr(anon_client, method)(url, format="json")

    assert response.status_code == 401


# Notifications ----------------------------------------------------------------------


def test_the_list_shows_only_the_users_notifications(api_client, user, other_user):
    portfolio = PortfolioFactory(owner=user, name="Main")
    mine = NotificationFactory(
        user=user,
        portfolio=portfolio,
        title="Drift out of band in ‘Main’",
        url=f"/portfolios/{portfolio.pk}/",
        data={"value": "10000"},
    )
    NotificationFactory(user=other_user, title="Theirs")

    response = api_client.get(LIST)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert {k: row[k] for k in row if k != "created"} == {
        "id": mine.pk,
        "kind": "drift",
        "portfolio": portfolio.pk,
        "title": "Drift out of band in ‘Main’",
        "body": "What happened, with the figures.",
        "url": f"/portfolios/{portfolio.pk}/",
        "data": {"value": "10000"},
        "read_at": None,
        "email_status": "",
        "webhook_status": "",
    }


def test_the_unread_filter(api_client, user):
    unread = NotificationFactory(user=user)
    read = NotificationFactory(user=user, read_at=timezone.now())

    only_unread = api_client.get(LIST, {"unread": "true"}).json()["results"]
    only_read = api_client.get(LIST, {"unread": "false"}).json()["results"]

    assert [n["id"] for n in only_unread] == [unread.pk]
    assert [n["id"] for n in only_read] == [read.pk]


def test_a_bad_unread_filter_is_400(api_client, user):
    response = api_client.get(LIST, {"unread": "maybe"})

    assert response.status_code == 400
    assert "unread" in response.json()


def test_the_list_runs_the_same_queries_for_3_and_30_notifications(api_client, user):
    NotificationFactory.create_batch(3, user=user)
    few = queries_for(lambda: api_client.get(LIST))
    NotificationFactory.create_batch(27, user=user)
    many = queries_for(lambda: api_client.get(LIST))

    assert few == many == 2  # the count and the page


def test_marking_all_read(api_client, user, other_user):
    NotificationFactory.create_batch(2, user=user)
    NotificationFactory(user=user, read_at=timezone.now())
    theirs = NotificationFactory(user=other_user)

    response = api_client.post(READ, {}, format="json")

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_some_read(api_client, user):
    first, second, third = NotificationFactory.create_batch(3, user=user)

    response = api_client.post(READ, {"ids": [first.pk, third.pk]}, format="json")

    assert response.json() == {"marked": 2}
    unread = Notification.objects.filter(read_at__isnull=True)
    assert list(unread.values_list("pk", flat=True)) == [second.pk]


def test_another_users_notifications_cannot_be_marked_read(api_client, other_user):
    theirs = NotificationFactory(user=other_user)

    response = api_client.post(READ, {"ids": [theirs.pk]}, format="json")

    assert response.json() == {"marked": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_bad_ids_are_400(api_client, user):
    NotificationFactory(user=user)

    response = api_client.post(READ, {"ids": ["x"]}, format="json")

    assert response.status_code == 400
    assert response.json() == {"ids": {"0": ["A valid integer is required."]}}
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


# Settings ---------------------------------------------------------------------------


def test_the_settings_start_with_the_defaults(api_client, user, settings):
    settings.CAPSITE_RISK_UNLOCK_DAYS = 30

    response = api_client.get(SETTINGS)

    assert response.status_code == 200
    secret = AlertSettings.objects.get(user=user).webhook_secret
    assert response.json() == {
        "drift": True,
        "tier_change": True,
        "unlock": True,
        "unlock_days": 30,
        "email": True,
        "webhook_url": "",
        "webhook_secret": secret,
    }


def test_patch_changes_the_given_fields_and_never_the_secret(api_client, user):
    prefs = AlertSettingsFactory(user=user)

    response = api_client.patch(
        SETTINGS,
        {
            "tier_change": False,
            "unlock_days": 7,
            "webhook_url": "https://hooks.example.com/x",
            "webhook_secret": "chosen-by-the-client",
        },
        format="json",
    )

    assert response.status_code == 200
    after = AlertSettings.objects.get(user=user)
    assert (after.tier_change, after.unlock_days, after.webhook_url) == (
        False,
        7,
        "https://hooks.example.com/x",
    )
    assert after.webhook_secret == prefs.webhook_secret
    assert response.json()["webhook_secret"] == prefs.webhook_secret


def test_put_replaces_the_settings(api_client, user):
    AlertSettingsFactory(user=user)
    body = {
        "drift": False,
        "tier_change": False,
        "unlock": True,
        "unlock_days": 365,
        "email": False,
        "webhook_url": "",
    }

    response = api_client.put(SETTINGS, body, format="json")

    assert response.status_code == 200
    prefs = AlertSettings.objects.get(user=user)
    assert (prefs.drift, prefs.unlock_days, prefs.email) == (False, 365, False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unlock_days", 0),
        ("unlock_days", 366),
        ("webhook_url", "not a url"),
        ("webhook_url", "ftp://hooks.example.com/x"),
    ],
)
def test_bad_settings_are_400_on_their_field(api_client, user, field, value):
    AlertSettingsFactory(user=user, unlock_days=30)

    response = api_client.patch(SETTINGS, {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()
    prefs = AlertSettings.objects.get(user=user)
    assert (prefs.unlock_days, prefs.webhook_url) == (30, "")


def test_each_user_sees_and_changes_only_their_own_settings(
    api_client, other_api_client, user, other_user, settings
):
    settings.CAPSITE_RISK_UNLOCK_DAYS = 30
    mine = AlertSettingsFactory(user=user, unlock_days=12)

    theirs = other_api_client.get(SETTINGS).json()
    other_api_client.patch(SETTINGS, {"unlock_days": 99}, format="json")

    assert theirs["unlock_days"] == 30
    assert theirs["webhook_secret"] != mine.webhook_secret
    assert api_client.get(SETTINGS).json()["unlock_days"] == 12
    assert AlertSettings.objects.get(user=other_user).unlock_days == 99
