"""Helpers every valuations admin page shares."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string


def admin_context(
    model_admin: admin.ModelAdmin, request: HttpRequest, title: str, **extra: Any
) -> dict[str, Any]:
    """Context that admin/base_site.html and the breadcrumbs expect."""
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        **extra,
    }


def count_phrase(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def row_errors_table(errors: list[Any]) -> str:
    return render_to_string("admin/valuations/_row_errors.html", {"errors": errors})
