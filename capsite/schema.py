"""The OpenAPI schema class: drf-spectacular's, plus the documented error responses.

Kept out of capsite/api.py: DRF imports that module while loading its generic
views, and drf-spectacular's AutoSchema imports those views (a circular import).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from capsite.api import (
    CONDITION_HEADERS,
    TEXT_PATTERN,
    TextField,
    decimal_length,
    decimal_pattern,
)

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_FIELD_ERRORS = {
    "type": "object",
    "description": (
        'Reasons per field: {"field": ["reason"]}; nested fields give an object, '
        "rules across fields use non_field_errors."
    ),
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object"},
            {"type": "string"},
        ]
    },
}
_PAGE_PARAMETERS = {"page", "page_size"}
# Every parameter is bounded, so no request the schema admits is longer than
# the server reads (gunicorn's limit_request_line; tests/api/test_schema.py).
_PATH_LIMITS: dict[str, dict[str, Any]] = {
    "slug": {"maxLength": 100},  # Asset.slug
    "token": {"maxLength": 64},  # a share token is 32 characters
}
_ID = {"format": "int64", "minimum": 1, "maximum": 2**63 - 1}
# Where a value is required, text needs something besides spaces (trimmed).
_NON_BLANK_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"
# Market reads answer conditional requests from the stored market version.
_CONDITIONAL = ("/api/v1/assets/", "/api/v1/market/")
_VALIDATORS = {
    "ETag": {"schema": {"type": "string"}, "description": "The market version."},
    "Last-Modified": {
        "schema": {"type": "string"},
        "description": "When the market data last changed (HTTP date).",
    },
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error responses every operation can give.

    401 (bad or missing credentials) and 429 (throttled, with Retry-After)
    anywhere; 400 on writes, on validated query parameters and on conditional
    headers past their length; 403 on writes
    (a read-only token); 404 for a path id or a page that does not exist
    (another user's objects included); 415 for a request body DRF has no
    parser for.
    """

    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(
            field, direction, bypass_extensions
        )
        # The decimal strings the field takes: at least one digit, no sign
        # where the server refuses negatives (drf-spectacular's pattern admits
        # "" and "-").
        if "pattern" in schema and isinstance(field, serializers.DecimalField):
            minimum = field.min_value
            schema["pattern"] = decimal_pattern(
                field.max_whole_digits or 0,
                field.decimal_places or 0,
                signed=minimum is None or minimum < 0,
                percent=field.max_value == 100,
            )
            schema["maxLength"] = decimal_length(
                field.max_whole_digits or 0, field.decimal_places or 0
            )
        if (
            direction == "request"
            and type(field) in (serializers.CharField, TextField)
            and "pattern" not in schema
        ):
            schema["pattern"] = TEXT_PATTERN if field.allow_blank else _NON_BLANK_TEXT
        return schema

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            if parameter.get("in") != "path":
                continue
            if parameter["schema"].get("type") == "integer":
                parameter["schema"].update(_ID)
            parameter["schema"].update(_PATH_LIMITS.get(parameter["name"], {}))
        query = {p["name"] for p in parameters if p.get("in") == "query"}
        errors: dict[str, tuple[str, dict[str, Any], str]] = {}
        conditional = self.method == "GET" and self.path.startswith(_CONDITIONAL)
        if self.method in ("POST", "PUT", "PATCH", "DELETE") or query or conditional:
            errors["400"] = ("ValidationError", _FIELD_ERRORS, "Invalid input.")
        errors["401"] = ("Error", _DETAIL, "Missing or invalid credentials.")
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors["403"] = ("Error", _DETAIL, "A read-only token, or no CSRF token.")
        if any(p.get("in") == "path" for p in parameters) or query & _PAGE_PARAMETERS:
            errors["404"] = ("Error", _DETAIL, "Not found, or not yours.")
        if "requestBody" in operation:
            errors["415"] = ("Error", _DETAIL, "Unsupported request body type.")
        errors["429"] = (
            "Error",
            _DETAIL,
            "Throttled; retry after Retry-After seconds.",
        )
        responses = operation["responses"]
        for code, (name, schema, description) in errors.items():
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
            )
            self.registry.register_on_missing(component)
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": component.ref}},
                    "description": description,
                },
            )
        responses["429"].setdefault(
            "headers",
            {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
        )
        if conditional:
            self._document_conditional(operation)
        return operation

    def _document_conditional(self, operation: dict[str, Any]) -> None:
        """ETag and Last-Modified on 200, If-None-Match and If-Modified-Since in,
        and the 304 they can earn: a client that sends them back gets no body."""
        operation.setdefault("parameters", []).extend(
            {
                "in": "header",
                "name": name,
                "schema": {"type": "string", "maxLength": length},
                "description": description,
            }
            for name, description, length in (
                (
                    "If-None-Match",
                    "ETags from earlier answers.",
                    CONDITION_HEADERS["If-None-Match"],
                ),
                (
                    "If-Modified-Since",
                    "A Last-Modified from an earlier answer.",
                    CONDITION_HEADERS["If-Modified-Since"],
                ),
            )
        )
        responses = operation["responses"]
        if "200" in responses:
            responses["200"].setdefault("headers", {}).update(_VALIDATORS)
        responses["304"] = {
            "description": "Not modified since the ETag or date sent: no body.",
            "headers": _VALIDATORS,
        }


EXAMPLES_PATH = Path(__file__).with_name("openapi_examples.json")


@functools.cache
def load_examples() -> dict[str, Any]:
    """Per operationId: a request the API takes, the status and the answer it
    gave (recorded by tests/api/test_examples.py, which replays them)."""
    examples: dict[str, Any] = json.loads(EXAMPLES_PATH.read_text())
    return examples


def _attach_example(operation: dict[str, Any]) -> None:
    example = load_examples().get(operation.get("operationId", ""))
    if example is None:
        return
    request = example.get("request")
    content = operation.get("requestBody", {}).get("content", {})
    for media, body in content.items():
        if isinstance(request, dict) and media in request:
            body["example"] = request[media]
        elif media == "application/json" and request is not None:
            body["example"] = request
    answer = operation["responses"].get(str(example["status"]), {})
    if "response" in example and "application/json" in answer.get("content", {}):
        answer["content"]["application/json"]["example"] = example["response"]


def finish(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing: a summary and an example per operation, and enum member
    names that read.

    drf-spectacular puts the docstring in ``description``; generated clients and
    docs show ``summary``: its first sentence. Enum values such as ``-price``
    make generators name members VALUE_0…; ``x-enum-varnames`` names them
    PRICE_DESC.
    """
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if "summary" not in operation and operation.get("description"):
                operation["summary"] = _first_sentence(operation["description"])
            _attach_example(operation)
            for parameter in operation.get("parameters", []):
                _name_enum(parameter.get("schema", {}))
    for schema in result.get("components", {}).get("schemas", {}).values():
        _name_enum(schema)
    return result


def _first_sentence(text: str) -> str:
    first = text.strip().split("\n\n", 1)[0].replace("\n", " ")
    head, dot, _ = first.partition(". ")
    return (head + "." if dot else first).strip()[:120]


def _name_enum(schema: dict[str, Any]) -> None:
    values = schema.get("enum")
    if not values or not all(isinstance(v, str) for v in values):
        return
    names = [_member(value) for value in values]
    if len(set(names)) == len(names):
        schema["x-enum-varnames"] = names


def _member(value: str) -> str:
    descending = value.startswith("-")
    name = "".join(c if c.isalnum() else "_" for c in value.lstrip("-")).upper()
    name = name.strip("_") or "BLANK"
    if name[0].isdigit():
        name = "V_" + name
    return f"{name}_DESC" if descending else name
