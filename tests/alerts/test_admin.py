"""The admin lists notifications read-only and lets staff adjust alert settings."""

from __future__ import annotations

import pytest

from tests.factories import AlertSettingsFactory, NotificationFactory

pytestmark = pytest.mark.django_db


def test_staff_can_list_notifications_but_not_change_them(staff_client, user):
    notification = NotificationFactory(user=user, title="Drift out of band")

    listing = staff_client.get("/admin/alerts/notification/")
    change = staff_client.post(
        f"/admin/alerts/notification/{notification.pk}/change/", {"title": "x"}
    )

    assert listing.status_code == 200
    assert "Drift out of band" in listing.content.decode()
    assert staff_client.get("/admin/alerts/notification/add/").status_code == 403
    assert change.status_code == 403
    notification.refresh_from_db()
    assert notification.title == "Drift out of band"


def test_staff_can_see_a_users_alert_settings(staff_client, user):
    prefs = AlertSettingsFactory(user=user, unlock_days=14)

    listing = staff_client.get("/admin/alerts/alertsettings/")
    page = staff_client.get(f"/admin/alerts/alertsettings/{prefs.pk}/change/")

    assert listing.status_code == page.status_code == 200
    assert prefs.webhook_secret in page.content.decode()
