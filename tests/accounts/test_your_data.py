"""Your data: confirm the address, take everything away, delete the account (issue 14)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import EmailConfirmation
from alerts.models import AlertSettings
from portfolios import services
from portfolios.models import Portfolio, Transaction
from tests.factories import AssetFactory, PortfolioFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
BANNER = "Please confirm your email address"


def _link(message) -> str:
    return re.search(
        r"https?://testserver(/accounts/confirm/\S+/)", message.body
    ).group(1)


def _signup(client: Client, email: str = "new@example.com"):
    return client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "email": email,
            "password1": "a-long-Unusual-passw0rd",
            "password2": "a-long-Unusual-passw0rd",
        },
    )


# Email confirmation ----------------------------------------------------------------


def test_signup_mails_a_confirmation_link_and_shows_the_banner_until_it_is_opened():
    client = Client()
    _signup(client)

    [message] = mail.outbox
    before = client.get("/portfolios/")
    opened = client.get(_link(message), follow=True)
    after = client.get("/portfolios/")

    assert message.to == ["new@example.com"]
    assert before.status_code == 200  # an unconfirmed account can log in
    assert BANNER in before.text
    assert "Thank you: new@example.com is confirmed." in opened.text
    assert BANNER not in after.text
    assert EmailConfirmation.objects.get().email == "new@example.com"


def test_a_confirmation_link_works_once():
    client = Client()
    _signup(client)
    link = _link(mail.outbox[0])
    client.get(link)

    again = client.get(link)

    assert again.status_code == 400
    assert "This link does not work" in again.text


def test_a_link_stops_working_when_the_address_changes():
    client = Client()
    _signup(client)
    link = _link(mail.outbox[0])
    get_user_model().objects.filter(username="newbie").update(email="other@example.com")

    assert client.get(link).status_code == 400
    assert not EmailConfirmation.objects.exists()


def test_a_forged_or_foreign_link_confirms_nothing(user):
    client = Client()
    _signup(client)
    link = _link(mail.outbox[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    alices_uid = urlsafe_base64_encode(force_bytes(user.pk))

    assert client.get(f"/accounts/confirm/{alices_uid}/{token}/").status_code == 400
    assert client.get("/accounts/confirm/%%%/abc/").status_code == 400
    assert not EmailConfirmation.objects.exists()


def test_logging_in_unconfirmed_shows_the_banner_and_confirmed_does_not(user):
    unconfirmed, confirmed = Client(), Client()
    unconfirmed.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    EmailConfirmation.objects.create(
        user=user, email=user.email, confirmed_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    confirmed.post("/accounts/login/", {"username": "alice", "password": PASSWORD})

    assert BANNER in unconfirmed.get("/portfolios/").text
    assert BANNER not in confirmed.get("/portfolios/").text


def test_the_link_can_be_sent_again(client_logged_in, user):
    response = client_logged_in.post("/accounts/confirm/again/", follow=True)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert f"We sent a new confirmation link to {user.email}." in response.text


# Export ---------------------------------------------------------------------------


@pytest.fixture
def ledger(user):
    coin = AssetFactory(slug="coin", symbol="cn", name="Coin")
    portfolio = PortfolioFactory(owner=user, name="Main", tolerance=Decimal("4"))
    services.record_transaction(
        portfolio=portfolio,
        asset=coin,
        kind=Transaction.Kind.BUY,
        quantity=Decimal("1.5"),
        unit_price=Decimal("0.000000000000000001"),
        fee=Decimal("0.25"),
        executed_at=datetime(2025, 3, 1, 12, tzinfo=UTC),
        note="first",
    )
    AlertSettings.objects.create(user=user, unlock_days=7, email=False)
    return portfolio


def test_the_export_holds_the_profile_targets_ledger_and_alert_settings(
    client_logged_in, ledger, other_user
):
    PortfolioFactory(owner=other_user, name="Not mine")

    response = client_logged_in.get("/accounts/data/capsite-export.json")

    data = json.loads(response.content)
    assert response["Content-Disposition"].startswith(
        'attachment; filename="capsite-alice-'
    )
    assert data["profile"]["username"] == "alice"
    [portfolio] = data["portfolios"]
    assert portfolio["name"] == "Main"
    assert portfolio["target"] == {
        "large": "50",
        "mid": "30",
        "small": "15",
        "stable": "5",
    }
    assert portfolio["tolerance"] == "4"
    assert portfolio["transactions"] == [
        {
            "executed_at": "2025-03-01T12:00:00+00:00",
            "asset": "coin",
            "kind": "buy",
            "quantity": "1.5",
            "unit_price": "0.000000000000000001",
            "fee": "0.25",
            "note": "first",
        }
    ]
    assert data["alert_settings"]["unlock_days"] == 7
    assert data["alert_settings"]["email"] is False


def test_the_export_takes_the_same_queries_for_one_portfolio_or_five(
    api_client, user, ledger, django_assert_num_queries
):
    with django_assert_num_queries(4):  # portfolios, transactions, alerts, confirmed
        one = api_client.get("/api/v1/account/export/")
    for n in range(4):
        PortfolioFactory(owner=user, name=f"More {n}")
    with django_assert_num_queries(4):
        five = api_client.get("/api/v1/account/export/")

    assert len(one.json()["portfolios"]) == 1
    assert len(five.json()["portfolios"]) == 5


def test_the_api_names_the_account(api_client, user):
    body = api_client.get("/api/v1/account/").json()

    assert body["username"] == "alice"
    assert body["email"] == user.email
    assert body["email_confirmed"] is False


def test_the_account_pages_and_endpoints_need_a_login(anon_client):
    for path in (
        "/accounts/",
        "/accounts/data/capsite-export.json",
        "/accounts/delete/",
    ):
        assert Client().get(path).status_code == 302
    for path in ("/api/v1/account/", "/api/v1/account/export/"):
        assert anon_client.get(path).status_code == 401
    assert (
        anon_client.post("/api/v1/account/delete/", {}, format="json").status_code
        == 401
    )


def test_the_account_page_offers_the_export_each_ledger_and_deletion(
    client_logged_in, ledger
):
    page = client_logged_in.get("/accounts/")

    assert 'href="/accounts/data/capsite-export.json"' in page.text
    assert f'href="/portfolios/{ledger.pk}/transactions/export/"' in page.text
    assert 'href="/accounts/delete/"' in page.text
    assert 'href="/accounts/tokens/"' in page.text


# Deleting the account --------------------------------------------------------------


def test_a_wrong_password_deletes_nothing(client_logged_in, ledger, user):
    response = client_logged_in.post("/accounts/delete/", {"password": "guess"})

    assert response.status_code == 400
    assert "That is not your password." in response.text
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert Portfolio.objects.filter(pk=ledger.pk).exists()


def test_deleting_takes_portfolios_tokens_and_alerts_with_it_and_logs_out(
    client_logged_in, ledger, user, other_user
):
    Token.objects.create(user=user)
    theirs = PortfolioFactory(owner=other_user, name="Theirs")

    response = client_logged_in.post("/accounts/delete/", {"password": PASSWORD})

    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not Portfolio.objects.filter(owner_id=user.pk).exists()
    assert not Transaction.objects.filter(portfolio_id=ledger.pk).exists()
    assert not Token.objects.filter(user_id=user.pk).exists()
    assert not AlertSettings.objects.filter(user_id=user.pk).exists()
    assert Portfolio.objects.filter(pk=theirs.pk).exists()  # nobody else's
    assert client_logged_in.get("/portfolios/").status_code == 302  # logged out


def test_the_api_deletes_with_the_password_and_the_token_then_fails(user, ledger):
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    wrong = client.post("/api/v1/account/delete/", {"password": "guess"}, format="json")
    missing = client.post("/api/v1/account/delete/", {}, format="json")
    right = client.post(
        "/api/v1/account/delete/", {"password": PASSWORD}, format="json"
    )
    after = client.get("/api/v1/portfolios/")

    assert wrong.status_code == 400
    assert wrong.json() == {"password": ["That is not your password."]}
    assert missing.status_code == 400 and "password" in missing.json()
    assert right.status_code == 204
    assert after.status_code == 401
    assert not get_user_model().objects.filter(pk=user.pk).exists()


def test_one_user_cannot_delete_another(other_api_client, other_user, user):
    other_user.set_password("mallorys-own-password")
    other_user.save()

    response = other_api_client.post(
        "/api/v1/account/delete/", {"password": PASSWORD}, format="json"
    )

    # Alice's password deletes nobody from Mallory's session.
    assert response.status_code == 400
    assert get_user_model().objects.filter(pk=user.pk).exists()
    assert get_user_model().objects.filter(pk=other_user.pk).exists()


def test_existing_accounts_count_as_confirmed_after_the_migration():
    # The data migration ran on the test database before any user existed; run
    # its function on one made now, as on a production database.
    from importlib import import_module

    from django.apps import apps

    UserFactory(username="old", email="old@example.com")
    migration = import_module("accounts.migrations.0002_confirm_existing_accounts")
    migration.confirm_existing(apps, None)

    assert EmailConfirmation.objects.get().email == "old@example.com"
