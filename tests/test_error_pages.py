"""Error pages (issue 15): the site's layout, a plain reason and a way back.

DEBUG is off in every test here: that is when Django shows these pages. Under
/api/ the same errors stay JSON. This module is also the URLconf of the tests
that need a view to fail on purpose.
"""

from __future__ import annotations

import json

import pytest
from axes.utils import reset as reset_axes
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import TemplateDoesNotExist
from django.test import Client, RequestFactory
from django.urls import path

from capsite import errors
from capsite import urls as site_urls
from tests.factories import PortfolioFactory, UserFactory


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("staff only")


def _broken(request: HttpRequest) -> HttpResponse:
    raise OperationalError("the database is down")


urlpatterns = [
    path("test-forbidden/", _forbidden),
    path("api/test-forbidden/", _forbidden),
    path("test-broken/", _broken),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500

THIS_URLCONF = __name__


def broken_context_processor(request: HttpRequest) -> dict:
    raise OperationalError("a context processor reached the broken database")


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def _assert_site_page(response, *, status: int, heading: str) -> str:
    """The page is the site's: its stylesheet, skip link, header and a way back."""
    text = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert "capsite/site.css" in text
    assert 'href="#content">Skip to content</a>' in text
    assert '<main id="content"' in text
    assert f"Error {status}" in text
    assert heading in text
    assert '<a class="button" href="/">Go to the market page</a>' in text
    return text


# 404


@pytest.mark.django_db
def test_a_missing_page_is_the_styled_404_not_djangos_bare_not_found():
    response = Client().get("/no-such-page/")

    text = _assert_site_page(response, status=404, heading="Page not found")
    assert "<code>/no-such-page/</code>" in text
    assert "The requested resource was not found on this server" not in text


@pytest.mark.django_db
def test_another_users_portfolio_is_the_styled_404_without_its_name(other_client):
    theirs = PortfolioFactory(owner=UserFactory(username="bob"), name="Bob's secret")

    response = other_client.get(f"/portfolios/{theirs.pk}/")

    text = _assert_site_page(response, status=404, heading="Page not found")
    assert "Bob&#x27;s secret" not in text and "Bob's secret" not in text
    assert "Log out" in text  # still the signed-in layout, with the user's menu


@pytest.mark.django_db
def test_the_404_page_escapes_the_address_it_repeats():
    response = Client().get("/<script>alert(1)</script>/")

    assert response.status_code == 404
    assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_api_path_stays_a_json_404_with_debug_off():
    response = Client().get("/api/v1/nothing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# 400


@pytest.mark.django_db
def test_a_request_for_a_host_the_site_does_not_serve_is_the_styled_400():
    response = Client(HTTP_HOST="evil.example").get("/")

    text = _assert_site_page(
        response, status=400, heading="This request could not be understood"
    )
    assert "evil.example" not in text


@pytest.mark.django_db
def test_a_bad_request_under_the_api_is_json():
    response = Client(HTTP_HOST="evil.example").get("/api/v1/market/")

    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}


# 403


@pytest.mark.django_db
@pytest.mark.urls(THIS_URLCONF)
def test_a_refused_page_is_the_styled_403_without_the_internal_reason():
    response = Client().get("/test-forbidden/")

    text = _assert_site_page(
        response, status=403, heading="You are not allowed to see this page"
    )
    assert "staff only" not in text


@pytest.mark.django_db
@pytest.mark.urls(THIS_URLCONF)
def test_a_refusal_under_the_api_is_json():
    response = Client().get("/api/test-forbidden/")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You do not have permission to perform this action."
    }


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_token_is_the_styled_403_saying_what_to_do():
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "alice", "password": "x"}
    )

    text = _assert_site_page(
        response, status=403, heading="This form could not be sent"
    )
    assert "reload the page" in text
    assert "CSRF verification failed" not in text


# 429


@pytest.mark.django_db
def test_a_login_lockout_is_the_styled_429_saying_when_to_retry(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    reset_axes()
    UserFactory(username="alice")
    client = Client()
    try:
        for _ in range(3):
            response = client.post(
                "/accounts/login/", {"username": "alice", "password": "guess"}
            )
    finally:
        reset_axes()

    text = _assert_site_page(response, status=429, heading="Too many failed attempts")
    assert response["Retry-After"] == "900"
    assert "Wait 15 minutes, then try again." in text
    assert "Logging in as alice is locked" in text
    assert 'href="/accounts/password_reset/"' in text


@pytest.mark.django_db
def test_the_429_page_says_the_wait_its_retry_after_header_gives():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()

    response = errors.too_many_requests(request, retry_after=45)

    text = _assert_site_page(response, status=429, heading="Too many requests")
    assert response["Retry-After"] == "45"
    assert "Wait 45 seconds, then try again." in text


def test_a_429_under_the_api_is_json_with_retry_after():
    request = RequestFactory().get("/api/v1/market/")

    response = errors.too_many_requests(request, retry_after=120)

    assert response.status_code == 429
    assert response["Retry-After"] == "120"
    assert json.loads(response.content) == {
        "detail": "Request was throttled. Expected available in 120 seconds."
    }


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),  # rounded up: never tell someone to come back too early
        (900, "15 minutes"),
    ],
)
def test_a_retry_after_is_said_in_words_rounded_up(seconds, words):
    assert errors.wait_text(seconds) == words


# 500


@pytest.mark.django_db
@pytest.mark.urls(THIS_URLCONF)
def test_a_crash_is_the_styled_500_without_the_internal_error():
    response = Client(raise_request_exception=False).get("/test-broken/")

    text = _assert_site_page(
        response, status=500, heading="Something went wrong on our side"
    )
    assert "the database is down" not in text
    assert "OperationalError" not in text


@pytest.mark.django_db
@pytest.mark.urls(THIS_URLCONF)
def test_the_500_page_renders_when_the_context_processors_fail_too(settings):
    engine = settings.TEMPLATES[0]
    processors = engine["OPTIONS"]["context_processors"]
    settings.TEMPLATES = [
        {
            **engine,
            "OPTIONS": {
                **engine["OPTIONS"],
                "context_processors": [
                    *processors,
                    "tests.test_error_pages.broken_context_processor",
                ],
            },
        }
    ]

    response = Client(raise_request_exception=False).get("/test-broken/")

    _assert_site_page(response, status=500, heading="Something went wrong on our side")


def test_the_500_page_needs_no_database():
    # Not a django_db test: any query here would raise instead of rendering.
    request = RequestFactory().get("/portfolios/")

    response = errors.server_error(request)

    _assert_site_page(response, status=500, heading="Something went wrong on our side")


def test_when_even_the_500_template_fails_plain_html_still_answers(monkeypatch):
    def unreadable(name, using=None):
        raise TemplateDoesNotExist(name)

    monkeypatch.setattr(errors.loader, "get_template", unreadable)

    response = errors.server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert 'href="/"' in response.content.decode()


def test_a_crash_under_the_api_is_still_json():
    response = errors.server_error(RequestFactory().get("/api/v1/market/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
