"""The OpenAPI schema class: drf-spectacular's, plus the documented error responses.

Kept out of capsite/api.py: DRF imports that module while loading its generic
views, and drf-spectacular's AutoSchema imports those views (a circular import).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent

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
    anywhere; 400 on writes and on validated query parameters; 403 on writes
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
        # A decimal the server refuses below 0 is documented without a sign.
        minimum = getattr(field, "min_value", None)
        pattern = schema.get("pattern", "")
        if minimum is not None and minimum >= 0 and pattern.startswith("^-?"):
            schema["pattern"] = "^" + pattern[3:]
        return schema

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p.get("in") == "query"}
        errors: dict[str, tuple[str, dict[str, Any], str]] = {}
        if (
            self.method in ("POST", "PUT", "PATCH", "DELETE")
            or query - _PAGE_PARAMETERS
        ):
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
        if self.method == "GET" and self.path.startswith(_CONDITIONAL):
            self._document_conditional(operation)
        return operation

    def _document_conditional(self, operation: dict[str, Any]) -> None:
        """ETag and Last-Modified on 200, If-None-Match and If-Modified-Since in,
        and the 304 they can earn: a client that sends them back gets no body."""
        operation.setdefault("parameters", []).extend(
            {
                "in": "header",
                "name": name,
                "schema": {"type": "string"},
                "description": description,
            }
            for name, description in (
                ("If-None-Match", "An ETag from an earlier answer."),
                ("If-Modified-Since", "A Last-Modified from an earlier answer."),
            )
        )
        responses = operation["responses"]
        if "200" in responses:
            responses["200"].setdefault("headers", {}).update(_VALIDATORS)
        responses["304"] = {
            "description": "Not modified since the ETag or date sent: no body.",
            "headers": _VALIDATORS,
        }


def finish(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing: a summary per operation and enum member names that read.

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
