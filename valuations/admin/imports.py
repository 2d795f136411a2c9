"""Admin for market-data uploads with preview and the import runs they record."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from capsite.accounts import signed_in
from valuations import tasks
from valuations.admin.common import admin_context, count_phrase, row_errors_table
from valuations.forms_admin import (
    FORMAT_CHOICES,
    MarketUploadForm,
)
from valuations.imports import FormatError
from valuations.imports.apply import ImportPlan
from valuations.imports.staged import (
    NotPending,
    PreviewExpired,
    StagedPreview,
    cancel_staged_import,
    check_pending,
    confirm_staged_import,
    is_preview_expired,
    preview_staged_import,
    stage_upload,
)
from valuations.models import ImportRun, Provider

# An upload writes assets and snapshots, an unlock upload writes unlocks: staff
# need the permissions that the same changes made by hand would need.
MARKET_UPLOAD_PERMS = (
    "valuations.add_asset",
    "valuations.change_asset",
    "valuations.add_marketsnapshot",
    "valuations.change_marketsnapshot",
    # The flow ends on the import run's page.
    "valuations.view_importrun",
)


def _skip_key(run: ImportRun) -> str:
    return f"valuations_import_skip_invalid_{run.pk}"


def _import_summary(plan: ImportPlan) -> list[tuple[str, int]]:
    return [
        ("Rows in the file", plan.rows),
        ("New snapshots", len(plan.new_snapshots)),
        ("Changed snapshots", len(plan.changed_snapshots)),
        ("Unchanged snapshots", plan.unchanged),
        ("New assets", len(plan.new_assets)),
        ("Assets whose current values change", len(plan.changed_assets)),
        ("Bad rows", plan.skipped),
        ("Rows waiting for mapping", plan.waiting_rows),
    ]


def _unmatched_rows(preview: StagedPreview) -> list[dict[str, Any]]:
    """Each waiting row with its candidates, their prices near the row's time,
    and links that record its provider id: for a candidate, or to choose."""
    add_url = reverse("admin:valuations_providerid_add")
    unmatched = []
    for error, row in preview.unmatched:
        ids = (
            {"provider": row.provider, "external_id": row.external_id}
            if row is not None
            else {"provider": Provider.COINMARKETCAP}
        )
        candidates = [
            {
                "asset": candidate.asset,
                "price": candidate.price,
                "priced_at": candidate.priced_at,
                "ratio": (
                    candidate.price / row.price
                    if row is not None and row.price and candidate.price is not None
                    else None
                ),
                "map_url": f"{add_url}?{urlencode({**ids, 'asset': str(candidate.asset.pk)})}",
            }
            for candidate in preview.plan.candidates.get(error.position, [])
        ]
        unmatched.append(
            {
                "error": error,
                "row": row,
                "candidates": candidates,
                "map_url": f"{add_url}?{urlencode(ids)}",
            }
        )
    return unmatched


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Every import, read-only: runs come from imports, never from this form.

    Deleting stays allowed to whoever has the delete permission, to clear out
    old or cancelled runs; it changes no market data.
    """

    list_display = (
        "started_at",
        "source",
        "format",
        "triggered_by",
        "status_label",
        "rows",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "error_count",
    )
    list_filter = ("status", "format")
    search_fields = ("source", "triggered_by")
    date_hierarchy = "started"
    readonly_fields = ("pending_preview", "error_table")

    def get_fields(
        self, request: HttpRequest, obj: ImportRun | None = None
    ) -> list[str | list[str] | tuple[str, ...]]:
        fields: list[str | list[str] | tuple[str, ...]] = [
            "started",
            "finished",
            "source",
            "format",
            "triggered_by",
            "status",
            "rows",
            "created",
            "updated",
            "unchanged",
            "skipped",
            "error_table",
        ]
        if obj is not None and obj.status == ImportRun.Status.PENDING:
            fields.insert(6, "pending_preview")
        return fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ImportRun]:
        # A pending run holds its whole file; no page here shows it.
        return super().get_queryset(request).defer("payload")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: ImportRun | None = None
    ) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "import/",
                self.admin_site.admin_view(self.upload_view),
                name="valuations_importrun_upload",
            ),
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="valuations_importrun_preview",
            ),
        ]
        # Ahead of the defaults, whose <path:object_id>/ would match "import/".
        return [*urls, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_upload_markets": request.user.has_perms(MARKET_UPLOAD_PERMS),
        }
        return super().changelist_view(request, extra_context)

    # Short cells: eleven columns must fit beside the filters. No-break spaces
    # keep the time on one line; the site's CSP forbids inline styles.
    @admin.display(description="started", ordering="started")
    def started_at(self, obj: ImportRun) -> str:
        return timezone.localtime(obj.started).strftime("%d\u00a0%b\u00a0%Y\u00a0%H:%M")

    @admin.display(description="status", ordering="status")
    def status_label(self, obj: ImportRun) -> str | SafeString:
        if obj.status == ImportRun.Status.PENDING and not is_preview_expired(run=obj):
            url = reverse("admin:valuations_importrun_preview", args=[obj.pk])
            return format_html(
                '<a href="{}" title="Waiting for confirmation">Review</a>', url
            )
        if obj.status == ImportRun.Status.PENDING:
            return "Preview expired"
        # The full labels ("Rejected: bad rows, nothing applied") crowd the list.
        return obj.status.capitalize()

    @admin.display(description="errors")
    def error_count(self, obj: ImportRun) -> int:
        return len(obj.errors)

    @admin.display(description="next step")
    def pending_preview(self, obj: ImportRun) -> str | SafeString:
        if is_preview_expired(run=obj):
            return "The preview has expired; upload the file again."
        url = reverse("admin:valuations_importrun_preview", args=[obj.pk])
        return format_html('<a href="{}">Review the preview and confirm</a>', url)

    @admin.display(description="bad rows")
    def error_table(self, obj: ImportRun) -> str:
        return row_errors_table(obj.errors) if obj.errors else "None"

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Read a market-data file and keep it as a pending run for the preview."""
        if not request.user.has_perms(MARKET_UPLOAD_PERMS):
            raise PermissionDenied
        form = MarketUploadForm()
        if request.method == "POST":
            form = MarketUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    run = stage_upload(
                        text=form.text,
                        source=form.cleaned_data["file"].name,
                        fmt=form.cleaned_data["format"] or None,
                        triggered_by=request.user.get_username(),
                    )
                except FormatError as exc:
                    form.add_error("file", str(exc))
                else:
                    request.session[_skip_key(run)] = form.cleaned_data["skip_invalid"]
                    return redirect("admin:valuations_importrun_preview", pk=run.pk)
        context = admin_context(self, request, "Upload market data", form=form)
        return TemplateResponse(
            request,
            "admin/valuations/importrun/upload.html",
            context,
            status=400 if form.errors else 200,
        )

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Show what a pending upload would change; POST confirms or cancels it."""
        if not request.user.has_perms(MARKET_UPLOAD_PERMS):
            raise PermissionDenied
        run = get_object_or_404(ImportRun, pk=pk)
        try:
            check_pending(run=run)
        except NotPending:
            messages.warning(
                request,
                f"This upload is no longer waiting: {run.get_status_display()}.",
            )
            return redirect("admin:valuations_importrun_change", run.pk)
        except PreviewExpired:
            return self._expired(request)
        if request.method == "POST":
            if "cancel" in request.POST:
                return self._cancel(request, run)
            return self._confirm(
                request, run, skip_invalid=bool(request.POST.get("skip_invalid"))
            )
        preview = preview_staged_import(run=run)
        context = admin_context(
            self,
            request,
            f"Preview of {run.source}",
            run=run,
            format_label=dict(FORMAT_CHOICES).get(preview.format, preview.format),
            summary=_import_summary(preview.plan),
            new_assets=preview.plan.new_assets[:50],
            more_new_assets=max(len(preview.plan.new_assets) - 50, 0),
            row_errors=preview.plan.errors,
            unmatched=_unmatched_rows(preview),
            skip_invalid=request.session.get(_skip_key(run), False),
        )
        return TemplateResponse(
            request, "admin/valuations/importrun/preview.html", context
        )

    def _expired(self, request: HttpRequest) -> HttpResponseRedirect:
        messages.warning(
            request, "This preview is more than a day old; upload the file again."
        )
        return redirect("admin:valuations_importrun_upload")

    def _cancel(self, request: HttpRequest, run: ImportRun) -> HttpResponseRedirect:
        cancel_staged_import(run=run)
        request.session.pop(_skip_key(run), None)
        messages.info(request, f"Upload of {run.source} cancelled; nothing changed.")
        return redirect("admin:valuations_importrun_changelist")

    def _confirm(
        self, request: HttpRequest, run: ImportRun, *, skip_invalid: bool
    ) -> HttpResponseRedirect:
        if run.rows > settings.CAPSITE_IMPORT_JOB_LINES:
            # A large file is applied by a worker; its page follows the progress.
            request.session.pop(_skip_key(run), None)
            job = tasks.start_confirm(
                run=run, user=signed_in(request.user), skip_invalid=skip_invalid
            )
            return redirect(job)
        try:
            report = confirm_staged_import(
                run=run,
                triggered_by=request.user.get_username(),
                skip_invalid=skip_invalid,
            )
        except NotPending:
            messages.warning(request, "This upload was already handled.")
            return redirect("admin:valuations_importrun_changelist")
        except PreviewExpired:
            return self._expired(request)
        request.session.pop(_skip_key(run), None)
        if report.applied:
            skipped = (
                f"; {count_phrase(report.skipped, 'bad row')} skipped"
                if report.skipped
                else ""
            )
            messages.success(
                request,
                f"Imported {run.source}: {report.created} new, {report.updated} "
                f"updated, {report.unchanged} unchanged snapshots; "
                f"{count_phrase(report.assets_created, 'new asset')}{skipped}.",
            )
        else:
            messages.error(
                request,
                f"Nothing imported: {count_phrase(report.skipped, 'row')} bad. "
                "Fix the file, or upload it again and apply the good rows only.",
            )
        assert report.run is not None  # import_markets records every run
        return redirect("admin:valuations_importrun_change", report.run.pk)
