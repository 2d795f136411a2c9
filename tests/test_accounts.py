"""Accounts: sign-up, log in and out, password change and reset, lockout."""

from __future__ import annotations

import re

import pytest
from axes.utils import reset as reset_axes
from django.contrib.auth import get_user_model
from django.core import mail
from django.http import HttpRequest
from django.test import Client

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "tiers-drift-slowly-42"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _axes(settings):
    """Run with axes on and no attempts left over, whatever the suite sets."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    reset_axes()
    yield
    reset_axes()


def _logged_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def _signup_data(**overrides: str) -> dict[str, str]:
    data = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


# Sign-up


def test_signup_page_shows_the_form(client):
    response = client.get("/accounts/signup/")

    assert response.status_code == 200
    for name in ("username", "email", "password1", "password2"):
        assert f'name="{name}"' in response.text


def test_signup_creates_the_user_logs_in_and_redirects_to_portfolios(client):
    response = client.post("/accounts/signup/", _signup_data())

    assert response.status_code == 302
    assert response["Location"] == "/portfolios/"
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert _logged_in_user_id(client) == str(user.pk)


def test_signup_redirects_to_a_safe_next(client):
    response = client.post(
        "/accounts/signup/", {**_signup_data(), "next": "/calculator/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/calculator/"


def test_signup_ignores_a_next_on_another_site(client):
    response = client.post(
        "/accounts/signup/", {**_signup_data(), "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/portfolios/"


def test_signup_with_a_taken_username_is_400_and_creates_nothing(client, user):
    response = client.post(
        "/accounts/signup/", _signup_data(username="alice", email="new@example.com")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["username"]
    assert 'id="id_username-error"' in response.text
    assert get_user_model().objects.count() == 1
    assert _logged_in_user_id(client) is None


def test_signup_with_mismatched_passwords_is_400_and_creates_nothing(client):
    response = client.post(
        "/accounts/signup/", _signup_data(password2="something-else-entirely")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["password2"]
    assert 'id="id_password2-error"' in response.text
    assert not get_user_model().objects.exists()


def test_signup_without_an_email_is_400(client):
    response = client.post("/accounts/signup/", _signup_data(email=""))

    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert not get_user_model().objects.exists()


def test_signup_with_an_email_already_in_use_is_400(client, user):
    response = client.post("/accounts/signup/", _signup_data(email=user.email.upper()))

    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert get_user_model().objects.count() == 1


# Log in and out


def test_login_page_links_to_signup_and_reset_and_keeps_next(client):
    response = client.get("/accounts/login/?next=/calculator/")

    assert response.status_code == 200
    assert 'href="/accounts/signup/?next=/calculator/"' in response.text
    assert 'href="/accounts/password_reset/"' in response.text
    assert '<input type="hidden" name="next" value="/calculator/">' in response.text


def test_login_page_needs_no_queries_for_anonymous_visitors(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/accounts/login/")

    assert response.status_code == 200


def test_login_with_the_real_form_redirects_back_to_next(client, user):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": "/calculator/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/calculator/"
    assert _logged_in_user_id(client) == str(user.pk)


def test_login_without_next_goes_to_portfolios(client, user):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/portfolios/"


def test_login_with_a_bad_password_shows_an_error(client, user):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'class="alert error"' in response.text
    assert "enter a correct username and password" in response.text
    assert _logged_in_user_id(client) is None


def test_nav_offers_login_and_signup_to_anonymous_visitors(client):
    response = client.get("/accounts/login/")

    assert 'href="/accounts/signup/"' in response.text
    assert 'action="/accounts/logout/"' not in response.text
    assert 'href="/portfolios/"' not in response.text


def test_nav_shows_portfolios_username_and_logout_when_logged_in(client, user):
    client.force_login(user)

    response = client.get("/accounts/password_change/")

    assert 'href="/portfolios/"' in response.text
    # The username leads to the account page (password, data, deletion).
    assert '<a href="/accounts/" title="Your account"' in response.text
    assert ">alice</a>" in response.text
    assert 'action="/accounts/logout/"' in response.text


def test_logout_by_get_is_405_and_keeps_the_session(client, user):
    client.force_login(user)

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert _logged_in_user_id(client) == str(user.pk)


def test_logout_by_post_logs_out_and_goes_home(client, user):
    client.force_login(user)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_user_id(client) is None


# Lockout (django-axes)


def _fail_logins(client: Client, username: str, times: int):
    response = None
    for _ in range(times):
        response = client.post(
            "/accounts/login/", {"username": username, "password": "guess"}
        )
    return response


def test_failures_below_the_limit_still_allow_the_right_password(client, user):
    _fail_logins(client, "alice", 4)

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(user.pk)


def test_success_resets_the_failure_count(client, user):
    _fail_logins(client, "alice", 4)
    client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    client.post("/accounts/logout/")

    response = _fail_logins(client, "alice", 4)

    assert response.status_code == 200


def test_limit_of_failures_locks_the_account_even_with_the_right_password(client, user):
    locking = _fail_logins(client, "alice", 5)

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )

    assert locking.status_code == 429
    assert response.status_code == 429
    assert "registration/lockout.html" in [t.name for t in response.templates]
    assert "Too many failed attempts" in response.text
    assert "Wait 15 minutes, then try again." in response.text
    assert _logged_in_user_id(client) is None


def test_lockout_leaves_other_users_and_other_addresses_alone(client, user):
    bob = UserFactory(username="bob")
    _fail_logins(client, "alice", 5)

    as_bob = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    elsewhere = Client(REMOTE_ADDR="10.0.0.2")
    as_alice_elsewhere = elsewhere.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )

    assert as_bob.status_code == 302
    assert _logged_in_user_id(client) == str(bob.pk)
    assert as_alice_elsewhere.status_code == 302
    assert _logged_in_user_id(elsewhere) == str(user.pk)


def test_force_login_and_client_login_with_a_request_work_under_axes(user):
    forced = Client()
    forced.force_login(user)
    # Axes needs a request in authenticate(); its docs suggest a blank one.
    logged = Client()

    assert logged.login(request=HttpRequest(), username="alice", password=PASSWORD)
    assert forced.get("/accounts/password_change/").status_code == 200
    assert logged.get("/accounts/password_change/").status_code == 200


def test_client_login_without_a_request_works_with_axes_disabled(settings, user):
    settings.AXES_ENABLED = False
    client = Client()

    assert client.login(username="alice", password=PASSWORD)


# Password change


def test_password_change_requires_login(client):
    response = client.get("/accounts/password_change/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/password_change/"


def test_password_change_sets_the_new_password_and_keeps_the_session(client, user):
    client.force_login(user)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/accounts/password_change/done/").status_code == 200


def test_password_change_with_a_wrong_old_password_changes_nothing(client, user):
    client.force_login(user)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "not-it",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.context["form"].errors["old_password"]
    assert 'id="id_old_password-error"' in response.text
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# Password reset


def test_password_reset_mails_one_working_link_that_sets_a_new_password(client, user):
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your capsite password"
    assert message.from_email == "capsite <noreply@localhost>"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body)
    assert link, message.body

    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert done.status_code == 302
    assert done["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get(link.group(1), follow=True).context["validlink"] is False


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    client, user
):
    response = client.post(
        "/accounts/password_reset/", {"email": "nobody@example.com"}, follow=True
    )

    assert response.redirect_chain == [("/accounts/password_reset/done/", 302)]
    assert "Check your email" in response.text
    assert mail.outbox == []
