"""The OpenAPI 3 schema at /api/schema/ and the offline Swagger UI at /api/docs/."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

CONTRACT = {
    "/api/v1/auth/token/": {"post", "delete"},
    "/api/v1/auth/tokens/": {"get", "post"},
    "/api/v1/auth/tokens/{id}/": {"get", "delete"},
    "/api/v1/assets/": {"get"},
    "/api/v1/assets/compare/": {"get"},
    "/api/v1/assets/{slug}/": {"get"},
    "/api/v1/assets/{slug}/history/": {"get"},
    "/api/v1/market/": {"get"},
    "/api/v1/market/history/": {"get"},
    "/api/v1/market/volatility/": {"get"},
    "/api/v1/calculator/": {"post"},
    "/api/v1/portfolios/": {"get", "post"},
    "/api/v1/portfolios/{id}/": {"get", "patch", "delete"},
    "/api/v1/portfolios/{id}/transactions/": {"get", "post"},
    "/api/v1/portfolios/{id}/transactions/{tid}/": {"get", "patch", "delete"},
    "/api/v1/portfolios/{id}/transactions/import/": {"post"},
    "/api/v1/portfolios/{id}/holdings/": {"get"},
    "/api/v1/portfolios/{id}/allocation/": {"get"},
    "/api/v1/portfolios/{id}/rebalance/": {"get"},
    "/api/v1/portfolios/{id}/history/": {"get"},
    "/api/v1/portfolios/{id}/performance/": {"get"},
    "/api/v1/portfolios/{id}/realized/": {"get"},
    "/api/v1/jobs/": {"get"},
    "/api/v1/jobs/{id}/": {"get"},
    "/api/v1/notifications/": {"get"},
    "/api/v1/notifications/read/": {"post"},
    "/api/v1/alerts/settings/": {"get", "put", "patch"},
    "/api/v1/portfolios/{id}/share/": {"get", "post", "delete"},
    "/api/v1/share/{token}/": {"get"},
    "/api/v1/account/": {"get"},
    "/api/v1/account/export/": {"get"},
    "/api/v1/account/delete/": {"post"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def schema(anon_client) -> dict:
    response = anon_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3")
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 spec


def test_the_schema_is_served_as_yaml_by_default(anon_client):
    response = anon_client.get("/api/schema/")

    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3")


def test_the_schema_lists_every_operation_of_the_contract(schema):
    documented = {
        path: {method for method in item if method in HTTP_METHODS}
        for path, item in schema["paths"].items()
    }

    assert documented == CONTRACT


def test_token_authentication_is_documented(schema):
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }


def test_private_operations_require_credentials_and_public_ones_do_not(schema):
    for path, method, operation in operations(schema):
        public = path.startswith(
            ("/api/v1/assets/", "/api/v1/market/", "/api/v1/share/")
        ) or (
            path in ("/api/v1/calculator/", "/api/v1/auth/token/") and method == "post"
        )
        assert ({} in operation["security"]) is public, (method, path)


def test_error_responses_are_documented(schema):
    for path, method, operation in operations(schema):
        codes = set(operation["responses"])
        assert {"401", "429"} <= codes, (method, path)
        if "{" in path or "page" in str(operation.get("parameters")):
            assert "404" in codes, (method, path)
        if method in ("post", "patch", "delete"):
            assert "400" in codes, (method, path)
        if "requestBody" in operation:
            assert "415" in codes, (method, path)
    throttled = schema["paths"]["/api/v1/market/"]["get"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]


def test_money_and_quantities_are_documented_as_decimal_strings(schema):
    components = schema["components"]["schemas"]

    for component, field in [
        ("Asset", "market_cap"),
        ("Asset", "price"),
        ("Holding", "quantity"),
        ("Transaction", "quantity"),
        ("TransactionRequest", "price"),
        ("Allocation", "total_value"),
    ]:
        prop = components[component]["properties"][field]
        assert (prop["type"], prop["format"]) == ("string", "decimal"), component


def test_the_swagger_ui_answers_and_loads_only_local_files(anon_client):
    response = anon_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sources, html
    for source in sources:
        assert not re.match(r"^(https?:)?//", source), source
        assert source.startswith("/"), source
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_the_swagger_ui_files_are_bundled(anon_client):
    html = anon_client.get("/api/docs/").content.decode()
    static = re.findall(r'(?:src|href)="/static/([^"]+)"', html)

    assert len(static) >= 3
    for path in static:
        assert finders.find(path), path


def test_the_swagger_ui_script_points_at_the_local_schema(anon_client):
    response = anon_client.get("/api/docs/", {"script": ""})

    assert response.status_code == 200
    script = response.content.decode()
    assert '"/api/schema/"' in script
    assert not re.search(r"https?://", script)


# Built for clients (issue 14) --------------------------------------------------------


def test_conditional_market_reads_document_304_and_their_validators(schema):
    for path in ("/api/v1/market/", "/api/v1/assets/", "/api/v1/assets/{slug}/"):
        operation = schema["paths"][path]["get"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"If-None-Match", "If-Modified-Since"} <= headers, path
        assert set(operation["responses"]["304"]["headers"]) == {
            "ETag",
            "Last-Modified",
        }
        assert set(operation["responses"]["200"]["headers"]) == {
            "ETag",
            "Last-Modified",
        }
    assert "304" not in schema["paths"]["/api/v1/portfolios/"]["get"]["responses"]


def test_every_operation_has_a_summary_and_a_tag_for_its_area(schema):
    tags = set()
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (method, path)
        tags.update(operation["tags"])

    assert {"assets", "market", "portfolios", "auth", "jobs", "account"} <= tags


def test_page_sizes_say_their_limits(schema):
    assets = schema["paths"]["/api/v1/assets/"]["get"]["parameters"]
    history = schema["paths"]["/api/v1/portfolios/{id}/history/"]["get"]["parameters"]

    [page_size] = [p for p in assets if p["name"] == "page_size"]
    [series_size] = [p for p in history if p["name"] == "page_size"]
    assert page_size["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 250,
        "default": 50,
    }
    assert series_size["schema"]["maximum"] == 5500


def test_amounts_the_server_refuses_below_zero_are_documented_without_a_sign(schema):
    quantity = schema["components"]["schemas"]["TransactionRequest"]["properties"][
        "quantity"
    ]
    parameters = schema["paths"]["/api/v1/assets/"]["get"]["parameters"]
    [minimum] = [p for p in parameters if p["name"] == "min_market_cap"]

    assert quantity["pattern"] == r"^0*(?:\d{1,21}(?:\.\d{0,18})?|\.\d{1,18})$"
    assert minimum["schema"]["type"] == "string"  # an exact decimal, not a float
    assert minimum["schema"]["format"] == "decimal"
    assert minimum["schema"]["pattern"] == (
        r"^0*(?:\d{1,40}(?:\.\d{0,18})?|\.\d{1,18})$"
    )


@pytest.mark.parametrize(
    ("text", "documented"),
    [
        ("0.5", True),
        ("5", True),
        ("5.", True),
        (".5", True),
        ("", False),  # drf-spectacular's own pattern admits the empty string
        (".", False),
        ("-1", False),
        ("1e5", False),
        (" 5", False),
        ("1.0000000000000000001", False),
    ],
)
def test_decimal_patterns_take_what_the_server_takes_and_nothing_else(
    schema, api_client, text, documented
):
    quantity = schema["components"]["schemas"]["TransactionRequest"]["properties"][
        "quantity"
    ]
    answer = api_client.post(
        "/api/v1/calculator/",
        {"price": text, "circulating_supply": "1000"},
        format="json",
    )

    assert bool(re.fullmatch(quantity["pattern"], text)) is documented
    assert (answer.status_code == 200) is documented, answer.json()


def test_target_weights_are_documented_as_percentages_up_to_100(schema):
    target = schema["components"]["schemas"]["TargetRequest"]["properties"]
    pattern = target["large"]["pattern"]

    assert [
        bool(re.fullmatch(pattern, text))
        for text in ("100", "100.00", "99.99", ".5", "0", "100.01", "101", "931")
    ] == [True, True, True, True, True, False, False, False]


def test_descending_sorts_have_member_names_that_read(schema):
    parameters = schema["paths"]["/api/v1/assets/"]["get"]["parameters"]
    [ordering] = [p for p in parameters if p["name"] == "ordering"]

    names = dict(
        zip(
            ordering["schema"]["enum"],
            ordering["schema"]["x-enum-varnames"],
            strict=True,
        )
    )
    assert names["-price"] == "PRICE_DESC"
    assert names["volume_24h"] == "VOLUME_24H"


# A character of text can take 4 bytes of UTF-8, each sent as %XX in an
# address; a header carries the bytes as they are.
_BYTES_PER_CHARACTER = {"path": 12, "query": 12, "header": 4}


def _longest(parameter: dict) -> int:
    """The most bytes a schema-valid value of the parameter takes on the wire."""
    schema = parameter["schema"]
    if "enum" in schema:
        return max(len(str(value)) for value in schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return len("false")
    if kind == "integer":
        assert "maximum" in schema, f"{parameter['name']} has no maximum"
        return len(str(schema["maximum"])) + 1
    if schema.get("format") == "date":
        return len("2026-12-03")
    if schema.get("format") == "uuid":
        return len("2f1c0d6e-6a0b-4c8e-9a55-0d3f6c1b2a7e")
    assert "maxLength" in schema, f"{parameter['name']} has no maxLength"
    return schema["maxLength"] * _BYTES_PER_CHARACTER[parameter["in"]]


def test_no_request_the_schema_admits_is_too_long_for_the_server(schema):
    # gunicorn answers a longer request line with an HTML 414 and a longer
    # header with a 431, neither in the schema; the API must stay below both.
    from gunicorn.config import Config

    limits = Config()
    lines = {}
    for path, method, operation in operations(schema):
        parameters = operation.get("parameters", [])
        target = path
        for parameter in parameters:
            if parameter["in"] == "path":
                target = target.replace(
                    f"{{{parameter['name']}}}", "x" * _longest(parameter)
                )
        query = "&".join(
            f"{p['name']}={'x' * _longest(p)}" for p in parameters if p["in"] == "query"
        )
        lines[f"{method.upper()} {path}"] = len(
            f"{method.upper()} {target}?{query} HTTP/1.1"
        )
        for header in (p for p in parameters if p["in"] == "header"):
            assert len(header["name"]) + 2 + _longest(header) <= (
                limits.limit_request_field_size
            )

    longest = max(lines, key=lines.__getitem__)
    assert lines[longest] <= limits.limit_request_line, longest
