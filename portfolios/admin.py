"""Admin for portfolios: staff may inspect any portfolio; the ledger stays read-only.

Transactions change only through the ledger service, which keeps holdings in
step and refuses negative balances, so the admin shows them without editing.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from portfolios.models import Holding, Portfolio, Transaction


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class HoldingInline(_ReadOnlyInline):
    model = Holding
    fields = ("asset", "quantity", "cost_basis", "realized_pnl")


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "owner",
        "target_large",
        "target_mid",
        "target_small",
        "target_stable",
        "tolerance",
        "updated",
    )
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username", "owner__email")
    readonly_fields = ("created", "updated")
    raw_id_fields = ("owner",)
    inlines = [HoldingInline]

    def get_queryset(self, request: HttpRequest):  # noqa: ANN201
        return super().get_queryset(request).select_related("owner")


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = (
        "executed_at",
        "portfolio",
        "kind",
        "asset",
        "quantity",
        "unit_price",
        "fee",
    )
    list_filter = ("kind",)
    list_select_related = ("portfolio", "asset")
    search_fields = (
        "portfolio__name",
        "portfolio__owner__username",
        "asset__slug",
        "asset__symbol",
    )
    date_hierarchy = "executed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
