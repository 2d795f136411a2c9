"""API plumbing: the one exception handler, decimal fields, pagination and URLs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import get_error_detail
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from valuations.fields import DECIMAL_PLACES, PRODUCT_MAX_DIGITS


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn a service's Django ValidationError into a 400 ``{"field": [reason]}``."""
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=get_error_detail(exc))
    return drf_exception_handler(exc, context)


def Amount(**kwargs: Any) -> serializers.DecimalField:  # noqa: N802 (a field factory)
    """An exact decimal sent as a JSON string without trailing zeros ("76134.5")."""
    kwargs.setdefault("max_digits", PRODUCT_MAX_DIGITS)
    kwargs.setdefault("decimal_places", DECIMAL_PLACES)
    return serializers.DecimalField(
        coerce_to_string=True, normalize_output=True, **kwargs
    )


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 250
