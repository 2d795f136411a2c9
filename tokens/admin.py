"""Admin for API tokens: list them (never the digest) and revoke them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tokens import services
from tokens.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: a token is made by its user, who alone sees its key."""

    list_display = (
        "name",
        "user",
        "prefix",
        "scope",
        "created",
        "expiry",
        "last_used",
    )
    list_filter = ("scope",)
    list_select_related = ("user",)
    search_fields = ("name", "user__username", "user__email")
    date_hierarchy = "created"
    fields = ("name", "user", "prefix", "scope", "created", "expiry", "last_used")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "revoke" says what it does
        return actions

    @admin.action(description="Revoke selected tokens", permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset:
            services.revoke_token(token=token)
            count += 1
        self.message_user(
            request,
            f"{count} token{'s' if count != 1 else ''} revoked.",
            messages.SUCCESS,
        )
