"""Every operation's example in the schema is a real request and its real answer.

The examples live in capsite/openapi_examples.json; the schema attaches them to
each operation (capsite.schema.finish). This test sends every request example
to the API, in order, as a user would, and checks each answer's status. With
CAPSITE_WRITE_EXAMPLES=1 it also stores the answers as the response examples;
without it, the stored ones must still match the schema of their operation.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import jsonschema_rs
import pytest
from rest_framework.test import APIClient

from capsite.schema import EXAMPLES_PATH, load_examples
from tests.api.test_schema import HTTP_METHODS
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    UserFactory,
)
from valuations.indices import refresh_indices
from valuations.volatility import refresh_volatility

NOW = datetime(2026, 4, 30, 3, 30, tzinfo=UTC)
PASSWORD = "correct-horse-battery"  # UserFactory's
# Lists are cut to this many rows in stored answers: an example, not a dump.
ROWS = 2


def _world() -> None:
    layer1 = CategoryFactory(slug="layer-1", name="Layer 1")
    CategoryFactory(slug="stablecoins", name="Stablecoins", is_stablecoin=True)
    coins = [
        ("bitcoin", "btc", "Bitcoin", "94000", "19850000", "21000000", [layer1]),
        ("ethereum", "eth", "Ethereum", "3200", "120400000", None, [layer1]),
        ("chainlink", "link", "Chainlink", "14.2", "638000000", "1000000000", []),
        ("render", "rndr", "Render", "4.1", "518000000", "531000000", []),
    ]
    for slug, symbol, name, price, supply, most, categories in coins:
        asset = AssetFactory(
            slug=slug,
            symbol=symbol,
            name=name,
            price=Decimal(price),
            circulating_supply=Decimal(supply),
            total_supply=Decimal(most or supply),
            max_supply=Decimal(most) if most else None,
            volume_24h=Decimal(price) * Decimal(supply) / 20,
            last_updated=NOW - timedelta(minutes=30),
            categories=categories,
        )
        for day in range(1, 8):
            MarketSnapshotFactory(
                asset=asset,
                taken_at=NOW - timedelta(days=day),
                price=Decimal(price) * (1 - Decimal(day) / 100),
                circulating_supply=Decimal(supply),
            )
    # What the snapshot writes do once committed (tests never commit).
    refresh_indices()
    refresh_volatility(None)


def _steps(owner: Any) -> list[tuple[str, str, str, Any]]:
    """(operationId, method, path, request example name or None) in flow order."""
    return [
        ("auth_token_create", "post", "/api/v1/auth/token/", None),
        ("market_retrieve", "get", "/api/v1/market/", None),
        (
            "market_history_list",
            "get",
            "/api/v1/market/history/?start=2026-04-25",
            None,
        ),
        ("market_volatility_retrieve", "get", "/api/v1/market/volatility/", None),
        ("assets_list", "get", "/api/v1/assets/?tier=large", None),
        ("assets_retrieve", "get", "/api/v1/assets/bitcoin/", None),
        (
            "assets_compare_retrieve",
            "get",
            "/api/v1/assets/compare/?ids=bitcoin,ethereum",
            None,
        ),
        ("assets_history_list", "get", "/api/v1/assets/bitcoin/history/", None),
        ("calculator_create", "post", "/api/v1/calculator/", None),
        ("portfolios_create", "post", "/api/v1/portfolios/", None),
        ("portfolios_list", "get", "/api/v1/portfolios/", None),
        ("portfolios_retrieve", "get", "/api/v1/portfolios/{id}/", None),
        ("portfolios_partial_update", "patch", "/api/v1/portfolios/{id}/", None),
        (
            "portfolios_transactions_create",
            "post",
            "/api/v1/portfolios/{id}/transactions/",
            None,
        ),
        (
            "portfolios_transactions_import_create",
            "post",
            "/api/v1/portfolios/{id}/transactions/import/",
            "text/csv",
        ),
        (
            "portfolios_transactions_list",
            "get",
            "/api/v1/portfolios/{id}/transactions/",
            None,
        ),
        (
            "portfolios_transactions_retrieve",
            "get",
            "/api/v1/portfolios/{id}/transactions/{tid}/",
            None,
        ),
        (
            "portfolios_transactions_partial_update",
            "patch",
            "/api/v1/portfolios/{id}/transactions/{tid}/",
            None,
        ),
        ("portfolios_holdings_list", "get", "/api/v1/portfolios/{id}/holdings/", None),
        (
            "portfolios_allocation_retrieve",
            "get",
            "/api/v1/portfolios/{id}/allocation/",
            None,
        ),
        (
            "portfolios_rebalance_retrieve",
            "get",
            "/api/v1/portfolios/{id}/rebalance/?mode=buy_only&cash=1000",
            None,
        ),
        ("portfolios_history_list", "get", "/api/v1/portfolios/{id}/history/", None),
        (
            "portfolios_performance_retrieve",
            "get",
            "/api/v1/portfolios/{id}/performance/",
            None,
        ),
        (
            "portfolios_realized_retrieve",
            "get",
            "/api/v1/portfolios/{id}/realized/",
            None,
        ),
        ("portfolios_share_create", "post", "/api/v1/portfolios/{id}/share/", None),
        ("portfolios_share_retrieve", "get", "/api/v1/portfolios/{id}/share/", None),
        ("share_retrieve", "get", "/api/v1/share/{token}/", None),
        ("portfolios_share_destroy", "delete", "/api/v1/portfolios/{id}/share/", None),
        ("alerts_settings_retrieve", "get", "/api/v1/alerts/settings/", None),
        ("alerts_settings_update", "put", "/api/v1/alerts/settings/", None),
        ("alerts_settings_partial_update", "patch", "/api/v1/alerts/settings/", None),
        ("notifications_list", "get", "/api/v1/notifications/", None),
        ("notifications_read_create", "post", "/api/v1/notifications/read/", None),
        ("auth_tokens_create", "post", "/api/v1/auth/tokens/", None),
        ("auth_tokens_list", "get", "/api/v1/auth/tokens/", None),
        ("auth_tokens_retrieve", "get", "/api/v1/auth/tokens/{token_id}/", None),
        ("auth_tokens_destroy", "delete", "/api/v1/auth/tokens/{token_id}/", None),
        ("jobs_list", "get", "/api/v1/jobs/", None),
        ("jobs_retrieve", "get", "/api/v1/jobs/{job}/", None),
        ("account_retrieve", "get", "/api/v1/account/", None),
        ("account_export_retrieve", "get", "/api/v1/account/export/", None),
        (
            "portfolios_transactions_destroy",
            "delete",
            "/api/v1/portfolios/{id}/transactions/{tid}/",
            None,
        ),
        ("portfolios_destroy", "delete", "/api/v1/portfolios/{id}/", None),
        ("auth_token_destroy", "delete", "/api/v1/auth/token/", None),
        ("account_delete_create", "post", "/api/v1/account/delete/", None),
    ]


def _trim(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _trim(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_trim(value) for value in data[:ROWS]]
    return data


def _resolve(schema: dict, node: Any) -> Any:
    """The node as plain JSON Schema: every $ref replaced by its component."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolve(schema, schema["components"]["schemas"][name])
        resolved = {key: _resolve(schema, value) for key, value in node.items()}
        if resolved.pop("nullable", False):  # OpenAPI 3.0's spelling of null
            return {"anyOf": [resolved, {"type": "null"}]}
        return resolved
    if isinstance(node, list):
        return [_resolve(schema, value) for value in node]
    return node


@pytest.fixture
def schema(anon_client) -> dict:
    return anon_client.get("/api/schema/", {"format": "json"}).json()


def test_every_operation_has_an_example(schema):
    examples = load_examples()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            name = operation["operationId"]
            assert name in examples, f"{name} ({method.upper()} {path})"
            for media, content in (
                operation.get("requestBody", {}).get("content", {}).items()
            ):
                if media == "multipart/form-data":
                    continue  # a file upload: shown as the text/csv body
                assert "example" in content, f"{name}: {media}"
            answers = [
                answer.get("content", {}).get("application/json", {})
                for code, answer in operation["responses"].items()
                if code.startswith("2")
            ]
            if any(answers):
                assert any("example" in answer for answer in answers), name


def test_stored_answers_match_their_operation_schema(schema):
    for _path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for code, answer in operation["responses"].items():
                content = answer.get("content", {}).get("application/json", {})
                if "example" not in content:
                    continue
                # jsonschema_rs checks formats too ("uri", "date-time").
                validator = jsonschema_rs.validator_for(
                    _resolve(schema, content["schema"]), validate_formats=True
                )
                errors = [e.message for e in validator.iter_errors(content["example"])]
                assert errors == [], f"{operation['operationId']} {code}"


@pytest.mark.django_db(transaction=True)
def test_every_request_example_is_taken_by_the_api(time_machine, settings):
    time_machine.move_to(NOW, tick=False)
    settings.CAPSITE_STALE_AFTER = 24 * 3600
    _world()
    owner = UserFactory(username="ada", email="ada@example.com")
    leaving = UserFactory(username="leaving")
    examples = load_examples()
    client = APIClient()
    ids: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for name, method, path, media in _steps(owner):
        example = examples[name]
        request = example.get("request")
        if isinstance(request, dict) and "text/csv" in request:
            body = request[media or "application/json"]
        else:
            body = request
        if name == "account_delete_create":
            client.force_authenticate(leaving)
        url = path.format(**ids)
        if media == "text/csv":
            # Sent as a job, so that the job operations have one to show.
            response = client.generic(
                method.upper(),
                url,
                body.encode(),
                content_type="text/csv",
                HTTP_PREFER="respond-async",
            )
        else:
            response = getattr(client, method)(url, body, format="json")
        assert response.status_code == example["status"], (name, response.content)
        data = response.json() if response.content else None
        answers[name] = data
        if name == "auth_token_create":
            client.credentials(HTTP_AUTHORIZATION=f"Token {data['token']}")
        elif name == "portfolios_create":
            ids["id"] = data["id"]
        elif name == "portfolios_transactions_create":
            ids["tid"] = data["id"]
        elif name == "portfolios_share_create":
            ids["token"] = data["token"]
        elif name == "auth_tokens_create":
            ids["token_id"] = data["id"]
        elif name == "portfolios_transactions_import_create":
            ids["job"] = data["job"]["id"]

    if os.environ.get("CAPSITE_WRITE_EXAMPLES") == "1":
        for name, data in answers.items():
            examples[name]["response"] = _trim(data)
        EXAMPLES_PATH.write_text(
            json.dumps(examples, indent=2, ensure_ascii=False) + "\n"
        )
