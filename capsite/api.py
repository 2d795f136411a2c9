"""API plumbing: the one exception handler, decimal fields, pagination and URLs."""

from __future__ import annotations

from decimal import localcontext
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator as DjangoPaginator
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from valuations.fields import DECIMAL_PLACES

# Room for any product or quotient of two stored values (22 integer digits and
# 18 decimals each): volume ÷ market cap can reach 10^22 ÷ 10^-36 = 10^58, and
# DRF refuses to render (500) a value with more digits than max_digits.
FIGURE_MAX_DIGITS = 100


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn a service's Django ValidationError into a 400 ``{"field": [reason]}``.

    A message tied to no field (a ledger rule) goes under ``non_field_errors``,
    so every 400 body is an object, never a bare list.
    """
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=serializers.as_serializer_error(exc))
    return drf_exception_handler(exc, context)


class _ExactDecimalField(serializers.DecimalField):
    def to_representation(self, value: Any) -> Any:
        # DRF strips trailing zeros with normalize() in the thread's 28-digit
        # context, which rounds a 40-digit quantity; widen it to max_digits.
        with localcontext(prec=self.max_digits or FIGURE_MAX_DIGITS):
            return super().to_representation(value)


def Amount(**kwargs: Any) -> serializers.DecimalField:  # noqa: N802 (a field factory)
    """An exact decimal sent as a JSON string without trailing zeros ("76134.5").

    Inputs set ``max_digits`` to what they store; figures keep the wide default.
    """
    kwargs.setdefault("max_digits", FIGURE_MAX_DIGITS)
    kwargs.setdefault("decimal_places", DECIMAL_PLACES)
    return _ExactDecimalField(coerce_to_string=True, normalize_output=True, **kwargs)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 250

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        # The limits, so that a client knows them before a 404 or a short page.
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(
                    {
                        "minimum": 1,
                        "maximum": self.max_page_size,
                        "default": self.page_size,
                    }
                )
                parameter["description"] = (
                    f"Results per page: {self.page_size} by default, at most "
                    f"{self.max_page_size}."
                )
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


class SeriesPagination(Pagination):
    """Daily series: a chart wants every day, so a page may hold 15 years of them."""

    page_size = 366
    max_page_size = 5500


class CountedPagination(Pagination):
    """Page numbers over a list whose size the view already knows.

    The view sets ``known_count`` (from stored market state or a per-version
    cache) before paginating, so no request counts a million rows.
    """

    known_count: int | None = None

    def django_paginator_class(  # type: ignore[override]  # a factory, not a class
        self, object_list: Any, per_page: int
    ) -> DjangoPaginator:
        paginator = DjangoPaginator(object_list, per_page)
        if self.known_count is not None:
            # Paginator.count is a cached_property: seed it instead of COUNT(*).
            paginator.__dict__["count"] = self.known_count
        return paginator
