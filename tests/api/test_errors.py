"""Every /api/ error is JSON, even where no view answers (issue 14)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing/", "/api/v2/assets/", "/api/v1/assets/a/b/c/d/"]
)
def test_an_unknown_api_path_is_a_json_404(path):
    response = Client(raise_request_exception=False).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_is_still_an_html_404():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_server_error_under_the_api_is_json(monkeypatch, settings):
    from valuations import api as market_api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(market_api.MarketView, "get", broken)
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/market/")

    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred."}
    assert "boom" not in response.text


def test_a_wrong_method_on_the_api_is_a_json_405(api_client):
    response = api_client.put("/api/v1/market/", {}, format="json")

    assert response.status_code == 405
    assert response.json()["detail"] == 'Method "PUT" not allowed.'


def test_request_bodies_are_json_only_except_the_token_exchange_and_imports(
    api_client, anon_client, user
):
    form = api_client.post("/api/v1/portfolios/", {"name": "Form"}, format="multipart")
    legacy = anon_client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": "correct-horse-battery"},
        format="multipart",
    )

    assert form.status_code == 415
    assert legacy.status_code == 200


def test_the_schema_declares_one_json_body_per_operation_but_the_exceptions(
    anon_client,
):
    schema = anon_client.get("/api/schema/", {"format": "json"}).json()
    bodies = {
        (path, method): sorted(operation["requestBody"]["content"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }

    exceptions = {("/api/v1/portfolios/{id}/transactions/import/", "post")}
    for key, kinds in bodies.items():
        if key not in exceptions:
            assert kinds == ["application/json"], key
