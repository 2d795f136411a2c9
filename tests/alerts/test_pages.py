"""The notifications page, the alert settings page and the unread count in the nav."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import RequestFactory
from django.utils import timezone

from alerts.context import unread_count
from alerts.models import AlertSettings, Notification
from tests.factories import AlertSettingsFactory, NotificationFactory

pytestmark = pytest.mark.django_db

LIST = "/notifications/"
SETTINGS = "/accounts/alerts/"


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _field_error(response, field: str) -> str:
    html = response.content.decode()
    match = re.search(rf'<div class="error" id="id_{field}-error">(.*?)</div>', html)
    assert match, f"no error on {field}"
    return unescape(match.group(1))


def _nav(response) -> str:
    html = response.content.decode()
    return _text(re.search(r'<nav class="nav".*?</nav>', html, re.S).group(0))


# Anonymous visitors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("post", "/notifications/read/"),
        ("get", "/notifications/1/"),
        ("get", SETTINGS),
        ("post", SETTINGS),
        ("post", "/accounts/alerts/secret/"),
        ("post", "/accounts/alerts/test-webhook/"),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


# Notifications ----------------------------------------------------------------------


def test_the_list_shows_the_users_notifications_newest_first(
    client_logged_in, user, other_user
):
    old = NotificationFactory(user=user, title="Older alert")
    new = NotificationFactory(user=user, title="Newer alert")
    Notification.objects.filter(pk=old.pk).update(
        created=timezone.now() - timedelta(days=1)
    )
    NotificationFactory(user=other_user, title="Someone else's alert")

    response = client_logged_in.get(LIST)

    assert response.status_code == 200
    text = _text(response.content.decode())
    assert text.index("Newer alert") < text.index("Older alert")
    assert "Someone else's alert" not in text
    assert f'href="/notifications/{new.pk}/"' in response.content.decode()
    assert "Mark all as read" in text


def test_an_empty_list_says_what_alerts_there_are(client_logged_in):
    response = client_logged_in.get(LIST)

    text = _text(response.content.decode())
    assert "No notifications yet." in text
    assert "drifts out of its tolerance band" in text
    assert "Mark all as read" not in text


def test_the_list_is_paginated_by_50(client_logged_in, user):
    NotificationFactory.create_batch(51, user=user)

    first = client_logged_in.get(LIST)
    second = client_logged_in.get(LIST, {"page": 2})

    item = re.compile(r'href="/notifications/\d+/"')
    assert len(item.findall(first.content.decode())) == 50
    assert len(item.findall(second.content.decode())) == 1
    assert "Page 2 of 2" in _text(second.content.decode())


def test_the_list_runs_the_same_queries_for_3_and_30_notifications(
    client_logged_in, user, django_assert_num_queries
):
    NotificationFactory.create_batch(3, user=user)
    client_logged_in.get(LIST)  # first request: session and URLconf warm up
    # Session, user, page count, page rows, and the unread count of the nav.
    with django_assert_num_queries(5):
        client_logged_in.get(LIST)
    NotificationFactory.create_batch(27, user=user)
    with django_assert_num_queries(5):
        client_logged_in.get(LIST)


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(
    client_logged_in, user
):
    notification = NotificationFactory(user=user, url="/portfolios/7/")

    response = client_logged_in.get(f"/notifications/{notification.pk}/")

    assert response.status_code == 302
    assert response.url == "/portfolios/7/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_a_notification_never_leads_off_the_site(client_logged_in, user):
    notification = NotificationFactory(user=user, url="https://evil.example/")

    response = client_logged_in.get(f"/notifications/{notification.pk}/")

    assert response.url == LIST


def test_another_users_notification_is_404_and_stays_unread(
    client_logged_in, other_user
):
    theirs = NotificationFactory(user=other_user)

    response = client_logged_in.get(f"/notifications/{theirs.pk}/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_marks_only_the_users_own(client_logged_in, user, other_user):
    mine = NotificationFactory.create_batch(2, user=user)
    theirs = NotificationFactory(user=other_user)

    response = client_logged_in.post("/notifications/read/", follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "2 notifications marked as read." in _text(response.content.decode())
    assert all(Notification.objects.get(pk=n.pk).read_at is not None for n in mine)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_as_read_takes_no_get(client_logged_in, user):
    NotificationFactory(user=user)

    assert client_logged_in.get("/notifications/read/").status_code == 405
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


# The unread count in the navigation -------------------------------------------------


def test_the_nav_shows_the_unread_count(client_logged_in, user, other_user):
    NotificationFactory.create_batch(3, user=user)
    NotificationFactory(user=user, read_at=timezone.now())
    NotificationFactory(user=other_user)

    nav = _nav(client_logged_in.get("/portfolios/"))

    assert "Notifications 3 unread" in nav


def test_the_nav_shows_no_badge_when_everything_is_read(client_logged_in, user):
    NotificationFactory(user=user, read_at=timezone.now())

    response = client_logged_in.get("/portfolios/")

    assert "Notifications" in _nav(response)
    assert 'class="badge"' not in re.search(
        r'<nav class="nav".*?</nav>', response.content.decode(), re.S
    ).group(0)


def test_anonymous_visitors_have_no_notifications_link(client, db):
    response = client.get("/accounts/login/")

    assert "Notifications" not in _nav(response)


def test_the_unread_count_is_one_query_and_only_for_users(
    user, django_assert_num_queries
):
    NotificationFactory.create_batch(2, user=user)
    request = RequestFactory().get("/")
    request.user = user

    with django_assert_num_queries(0):
        context = unread_count(request)
    with django_assert_num_queries(1):
        assert str(context["unread_notifications"]) == "2"
        assert bool(context["unread_notifications"]) is True

    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert unread_count(request) == {}


# Alert settings ---------------------------------------------------------------------


def test_the_settings_page_starts_with_the_defaults(client_logged_in, user, settings):
    settings.CAPSITE_RISK_UNLOCK_DAYS = 30

    response = client_logged_in.get(SETTINGS)

    assert response.status_code == 200
    prefs = AlertSettings.objects.get(user=user)
    assert (prefs.drift, prefs.tier_change, prefs.unlock, prefs.email) == (
        True,
        True,
        True,
        True,
    )
    assert (prefs.unlock_days, prefs.webhook_url) == (30, "")
    assert len(prefs.webhook_secret) == 43
    html = response.content.decode()
    assert prefs.webhook_secret in html
    assert "Emails go to alice@example.com." in _text(html)


def test_saving_the_settings(client_logged_in, user):
    response = client_logged_in.post(
        SETTINGS,
        {
            "drift": "on",
            "unlock": "on",
            "unlock_days": "90",
            "webhook_url": "https://hooks.example.com/capsite",
        },
    )

    assert response.status_code == 302
    prefs = AlertSettings.objects.get(user=user)
    assert (prefs.drift, prefs.tier_change, prefs.unlock, prefs.email) == (
        True,
        False,
        True,
        False,
    )
    assert prefs.unlock_days == 90
    assert prefs.webhook_url == "https://hooks.example.com/capsite"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("webhook_url", "not a url", "Enter a valid URL."),
        ("webhook_url", "ftp://hooks.example.com/x", "Enter a valid URL."),
        ("unlock_days", "0", "Ensure this value is greater than or equal to 1."),
        ("unlock_days", "366", "Ensure this value is less than or equal to 365."),
        ("unlock_days", "", "This field is required."),
    ],
)
def test_bad_settings_are_refused_on_their_field(
    client_logged_in, user, field, value, error
):
    before = AlertSettingsFactory(user=user, unlock_days=30)
    data = {"drift": "on", "unlock_days": "30", "webhook_url": ""} | {field: value}

    response = client_logged_in.post(SETTINGS, data)

    assert response.status_code == 400
    assert error in _field_error(response, field)
    after = AlertSettings.objects.get(user=user)
    assert (after.unlock_days, after.webhook_url, after.tier_change) == (
        before.unlock_days,
        before.webhook_url,
        True,
    )


def test_a_new_secret_replaces_the_old_one(client_logged_in, user):
    old = AlertSettingsFactory(user=user).webhook_secret

    response = client_logged_in.post("/accounts/alerts/secret/")

    assert response.status_code == 302
    new = AlertSettings.objects.get(user=user).webhook_secret
    assert new != old and len(new) == 43


def test_the_test_webhook_button_posts_a_signed_test_event(
    client_logged_in, user, webhook
):
    AlertSettingsFactory(user=user, webhook_url=webhook.url)

    response = client_logged_in.post("/accounts/alerts/test-webhook/", follow=True)

    assert "Test webhook delivered: HTTP 200." in _text(response.content.decode())
    [request] = webhook.requests
    assert request.headers["x-capsite-event"] == "test"
    assert request.json()["event"] == "test"


def test_the_test_webhook_button_says_when_it_fails(client_logged_in, user, webhook):
    AlertSettingsFactory(user=user, webhook_url=webhook.url)
    webhook.status = 500

    response = client_logged_in.post("/accounts/alerts/test-webhook/", follow=True)

    assert "Test webhook failed: HTTP 500." in _text(response.content.decode())
