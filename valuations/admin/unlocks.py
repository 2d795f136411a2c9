"""Admin for supply unlocks, with CSV uploads of unlock schedules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from valuations.admin.common import RefreshesMarketState, admin_context
from valuations.forms_admin import (
    SupplyUnlockAdminForm,
    UnlockUploadForm,
    readable_number,
)
from valuations.imports import FormatError, import_unlocks
from valuations.models import SupplyUnlock

UNLOCK_UPLOAD_PERMS = ("valuations.add_supplyunlock", "valuations.change_supplyunlock")


@admin.register(SupplyUnlock)
class SupplyUnlockAdmin(RefreshesMarketState):
    form = SupplyUnlockAdminForm
    list_display = ("asset", "date", "amount_tokens", "note")
    list_select_related = ("asset",)
    search_fields = ("asset__slug", "asset__symbol", "asset__name", "note")
    date_hierarchy = "date"
    ordering = ("date", "asset__slug")
    autocomplete_fields = ("asset",)

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "import/",
            self.admin_site.admin_view(self.upload_view),
            name="valuations_supplyunlock_upload",
        )
        # Ahead of the defaults, whose <path:object_id>/ would match "import/".
        return [upload, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_upload_unlocks": request.user.has_perms(UNLOCK_UPLOAD_PERMS),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="amount (tokens)", ordering="amount")
    def amount_tokens(self, obj: SupplyUnlock) -> str:
        return readable_number(obj.amount)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Import an unlock schedule CSV whole, or list every bad row and change nothing."""
        if not request.user.has_perms(UNLOCK_UPLOAD_PERMS):
            raise PermissionDenied
        form = UnlockUploadForm()
        report = None
        if request.method == "POST":
            form = UnlockUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    report = import_unlocks(
                        form.text,
                        source=form.cleaned_data["file"].name,
                        triggered_by=request.user.get_username(),
                    )
                except FormatError as exc:
                    form.add_error("file", str(exc))
            if report is not None and not report.errors:
                assert report.run is not None  # import_unlocks records every run
                messages.success(
                    request,
                    f"Imported unlocks from {report.run.source}: {report.created} new, "
                    f"{report.updated} updated, {report.unchanged} unchanged.",
                )
                return redirect("admin:valuations_supplyunlock_changelist")
        context = admin_context(
            self,
            request,
            "Upload unlock schedule",
            form=form,
            report=report,
            row_errors=report.errors if report else [],
        )
        return TemplateResponse(
            request,
            "admin/valuations/supplyunlock/upload.html",
            context,
            status=400 if form.errors or (report and report.errors) else 200,
        )
