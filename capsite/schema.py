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


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error responses every operation can give.

    401 (bad or missing credentials) and 429 (throttled, with Retry-After)
    anywhere; 400 on writes and on validated query parameters; 403 on writes
    (a read-only token); 404 for a path id or a page that does not exist
    (another user's objects included); 415 for a request body DRF has no
    parser for.
    """

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
        return operation
