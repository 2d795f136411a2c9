"""Admin for share links: staff may see them and revoke them, never their tokens."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from sharing import services
from sharing.models import ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Read-only but for revoking: links are made by their owners alone."""

    list_display = ("prefix", "portfolio", "show_amounts", "created", "revoked_at")
    list_filter = ("show_amounts", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("portfolio", "portfolio__owner")
    search_fields = ("prefix", "portfolio__name", "portfolio__owner__username")
    readonly_fields = ("portfolio", "prefix", "show_amounts", "created", "revoked_at")
    exclude = ("token_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ShareLink | None = None
    ) -> bool:
        return False

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        links = list(queryset.filter(revoked_at__isnull=True))
        for link in links:
            services.revoke_share_link(link=link)
        plural = "" if len(links) == 1 else "s"
        self.message_user(
            request, f"{len(links)} link{plural} revoked.", messages.SUCCESS
        )
