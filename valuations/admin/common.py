"""Helpers every valuations admin page shares."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest
from django.template.loader import render_to_string

from valuations.signals import announce_snapshots
from valuations.state import refresh_market_state


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


class RefreshesMarketState(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every admin write to market data refreshes the stored market state.

    ``caps_change`` is True for assets (price and supplies move caps and ranks);
    categories, snapshots and unlocks change only totals and the version. An
    admin whose rows feed portfolio histories (snapshots, and the categories
    that make a coin a stablecoin) names the assets in ``history_assets``.
    """

    caps_change = False

    def history_assets(self, objects: list[Model]) -> list[int]:
        """Ids of the assets whose history these rows change; none by default."""
        return []

    def _refresh(self, objects: list[Model]) -> None:
        ids = [obj.pk for obj in objects] if self.caps_change else []
        refresh_market_state(asset_ids=ids, caps_changed=self.caps_change)

    def _announce(self, asset_ids: list[int]) -> None:
        if asset_ids:
            announce_snapshots(asset_ids=asset_ids, since=None)

    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm[Any],
        formsets: list[BaseFormSet[Any]],
        change: bool,
    ) -> None:
        super().save_related(request, form, formsets, change)
        self._refresh([form.instance])
        self._announce(self.history_assets([form.instance]))

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        affected = self.history_assets([obj])
        super().delete_model(request, obj)
        refresh_market_state(asset_ids=[], caps_changed=self.caps_change)
        self._announce(affected)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        affected = self.history_assets(list(queryset))
        super().delete_queryset(request, queryset)
        refresh_market_state(asset_ids=[], caps_changed=self.caps_change)
        self._announce(affected)
