"""API plumbing: the one exception handler, decimal fields, pagination and URLs."""

from __future__ import annotations

import re
from decimal import localcontext
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator as DjangoPaginator
from django.db import models
from django.http import QueryDict
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


def decimal_pattern(
    whole_digits: int, decimal_places: int, signed: bool, percent: bool = False
) -> str:
    """The decimal strings a field takes, as a regular expression for the schema.

    At least one digit ("5", "5.", ".5", "0.25"), no exponent, no spaces, a
    sign only where negatives are allowed, and for a percentage nothing past
    100: what the field accepts, no more.
    """
    sign = "-?" if signed else ""
    places = rf"\d{{0,{decimal_places}}}"
    if decimal_places == 0:
        return rf"^{sign}0*\d{{1,{max(whole_digits, 1)}}}\.?$"
    fraction = rf"\.\d{{1,{decimal_places}}}"
    if percent:
        whole = rf"100(?:\.0{{0,{decimal_places}}})?|\d{{1,2}}(?:\.{places})?"
    elif whole_digits == 0:
        whole = rf"0(?:\.{places})?"
    else:
        whole = rf"\d{{1,{whole_digits}}}(?:\.{places})?"
    return rf"^{sign}0*(?:{whole}|{fraction})$"


def decimal_length(whole_digits: int, decimal_places: int) -> int:
    """The longest decimal string a field takes: every digit, a point and a
    sign (leading zeros count against it)."""
    return whole_digits + decimal_places + 2


_DECIMAL_SHAPE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


def decimal_text_problem(text: str, whole_digits: int, decimal_places: int) -> str:
    """Why a decimal string is not in the API's one shape: "" when it is, the
    message when it is too long, "invalid" (the field's own message) when it is
    not digits with an optional fraction (no exponent, no spaces). Digit counts
    and the sign are left to the field, whose messages name the limit."""
    longest = decimal_length(whole_digits, decimal_places)
    if len(text) > longest:
        return f"Ensure this value has at most {longest} characters."
    if not _DECIMAL_SHAPE.fullmatch(text):
        return "invalid"
    return ""


class _ExactDecimalField(serializers.DecimalField):
    default_error_messages = {
        "string": (
            'Send a decimal as a JSON string, e.g. "0.5": a JSON number can '
            "lose digits."
        ),
    }

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF reads "" as null where null is allowed; the schema says null.
        if data == "":
            self.fail("invalid")
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> Any:
        # The schema's pattern is the contract: a string of digits. DRF would
        # also take JSON numbers, exponents and padding spaces. Digit counts
        # and the sign are left to DRF, whose messages name the limit.
        if not isinstance(data, str):
            self.fail("string")
        problem = decimal_text_problem(
            data, self.max_whole_digits or 0, self.decimal_places or 0
        )
        if problem == "invalid":
            self.fail("invalid")
        if problem:
            raise serializers.ValidationError(problem, code="max_length")
        if data.startswith("-") and self.min_value is not None and self.min_value >= 0:
            self.fail("min_value", min_value=self.min_value)  # "-0" included
        return super().to_internal_value(data)

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


# Text the server takes: no NUL character (PostgreSQL cannot store one).
TEXT_PATTERN = r"^[^\x00]*$"


class TextField(serializers.CharField):
    """A JSON string: DRF's CharField would also take 12 or 1.5 as "12", "1.5"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        value: str = super().to_internal_value(data)
        return value


class JSONIntegerField(serializers.IntegerField):
    """A JSON integer: DRF's IntegerField would also take "12" and "12.0"."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        value: int = super().to_internal_value(data)
        return value


class JSONBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``: not 0, 1, "yes" or "true", which DRF
    would read as booleans the schema does not allow."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")


_M = TypeVar("_M", bound=models.Model)


class ModelSerializer(serializers.ModelSerializer[_M]):
    """DRF's, reading request bodies by their JSON types: text from strings,
    integers from numbers, booleans from true and false, as the schema says."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: TextField,
        models.TextField: TextField,
        models.BooleanField: JSONBooleanField,
        models.IntegerField: JSONIntegerField,
        models.PositiveIntegerField: JSONIntegerField,
        models.PositiveSmallIntegerField: JSONIntegerField,
        models.SmallIntegerField: JSONIntegerField,
        models.BigIntegerField: JSONIntegerField,
    }


class QuerySerializer(serializers.Serializer):
    """Query parameters, validated as sent.

    DRF reads a blank value in form data as absent, which is right for an HTML
    form but lets ``?start=`` or ``?mode=`` quietly mean "no value"; an API
    refuses it like any other bad value.
    """

    def __init__(
        self, instance: Any = None, data: Any = serializers.empty, **kwargs: Any
    ):
        if isinstance(data, QueryDict):
            data = data.dict()
        super().__init__(instance, data=data, **kwargs)


class FilterForm(forms.Form):
    """The form behind a query FilterSet (``Meta.form``): a parameter sent
    blank (``?tier=``) is refused, not read as absent; free text may be blank."""

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        for name, field in self.fields.items():
            if self.data.get(name) == "" and not isinstance(field, forms.CharField):
                self.add_error(name, "Give a value, or leave the parameter out.")
        return cleaned


class DecimalQueryField(forms.DecimalField):
    """A decimal query value in the API's one shape: digits, an optional
    fraction, no exponent or spaces (Django's own field takes "1e5" and " 5"),
    and no longer than its digits allow."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value:
            places = self.decimal_places or 0
            problem = decimal_text_problem(
                value, (self.max_digits or 0) - places, places
            )
            if problem == "invalid":
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                )
            if problem:
                raise forms.ValidationError(problem, code="max_length")
        return super().to_python(value)


# The conditional request headers market reads take, and their longest value
# (several ETags; one HTTP date).
CONDITION_HEADERS = {"If-None-Match": 1000, "If-Modified-Since": 64}

# Pages are numbered from 1 up to a bound any list stays far below.
MAX_PAGE = 2**31 - 1


def _whole_number(request: Any, name: str, highest: int, default: int) -> int:
    """A query parameter that must be a whole number from 1 to ``highest``."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= highest:
        raise ValidationError({name: [f"A whole number from 1 to {highest}."]})
    return int(raw)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 250

    def get_page_size(self, request: Any) -> int:
        # Out of range is an error, not a quiet clamp: a client asking for 500
        # rows learns the limit instead of mistaking 250 for the whole list.
        return _whole_number(
            request, self.page_size_query_param, self.max_page_size, self.page_size
        )

    def get_page_number(self, request: Any, paginator: DjangoPaginator) -> int:
        # DRF reads a blank page as 1 and takes "last"; the schema says a
        # whole number from 1. Past the end stays DRF's 404.
        return _whole_number(request, self.page_query_param, MAX_PAGE, 1)

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
                parameter["schema"].update({"minimum": 1, "maximum": MAX_PAGE})
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
