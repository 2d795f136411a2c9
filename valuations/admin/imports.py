"""Admin for market-data uploads with preview, import runs and unlock uploads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from valuations.forms_admin import (
    FORMAT_CHOICES,
    MarketUploadForm,
    SupplyUnlockAdminForm,
    UnlockUploadForm,
    readable_number,
)
from valuations.imports import (
    FormatError,
    import_markets,
    import_unlocks,
    preview_markets,
)
from valuations.imports.apply import ImportPlan, record_run
from valuations.imports.formats import parse
from valuations.models import (
    ImportRun,
    Provider,
    SupplyUnlock,
)

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
UNLOCK_UPLOAD_PERMS = ("valuations.add_supplyunlock", "valuations.change_supplyunlock")

# A preview older than this can no longer be confirmed; the next upload cancels
# it and drops its stored file.
PREVIEW_TTL = timedelta(days=1)


def _admin_context(
    model_admin: admin.ModelAdmin, request: HttpRequest, title: str, **extra: Any
) -> dict[str, Any]:
    """Context that admin/base_site.html and the breadcrumbs expect."""
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        **extra,
    }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _row_errors_table(errors: list[Any]) -> str:
    return render_to_string("admin/valuations/_row_errors.html", {"errors": errors})


@admin.register(SupplyUnlock)
class SupplyUnlockAdmin(admin.ModelAdmin):
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
                messages.success(
                    request,
                    f"Imported unlocks from {report.run.source}: {report.created} new, "
                    f"{report.updated} updated, {report.unchanged} unchanged.",
                )
                return redirect("admin:valuations_supplyunlock_changelist")
        context = _admin_context(
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


def _skip_key(run: ImportRun) -> str:
    return f"valuations_import_skip_invalid_{run.pk}"


def _is_expired(run: ImportRun) -> bool:
    return run.started < timezone.now() - PREVIEW_TTL


def _import_summary(plan: ImportPlan) -> list[tuple[str, int]]:
    return [
        ("Rows in the file", plan.rows),
        ("New snapshots", len(plan.new_snapshots)),
        ("Changed snapshots", len(plan.changed_snapshots)),
        ("Unchanged snapshots", plan.unchanged),
        ("New assets", len(plan.new_assets)),
        ("Assets whose current values change", len(plan.changed_assets)),
        ("Bad or unmatched rows", plan.skipped),
    ]


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
    ) -> list[str]:
        fields = [
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
        if obj.status == ImportRun.Status.PENDING and not _is_expired(obj):
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
        if _is_expired(obj):
            return "The preview has expired; upload the file again."
        url = reverse("admin:valuations_importrun_preview", args=[obj.pk])
        return format_html('<a href="{}">Review the preview and confirm</a>', url)

    @admin.display(description="bad rows")
    def error_table(self, obj: ImportRun) -> str:
        return _row_errors_table(obj.errors) if obj.errors else "None"

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Read a market-data file and keep it as a pending run for the preview."""
        if not request.user.has_perms(MARKET_UPLOAD_PERMS):
            raise PermissionDenied
        form = MarketUploadForm()
        if request.method == "POST":
            form = MarketUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    fmt, plan = preview_markets(
                        form.text, fmt=form.cleaned_data["format"] or None
                    )
                except FormatError as exc:
                    form.add_error("file", str(exc))
                else:
                    # Stale previews would otherwise keep their files forever.
                    ImportRun.objects.filter(
                        status=ImportRun.Status.PENDING,
                        started__lt=timezone.now() - PREVIEW_TTL,
                    ).update(
                        status=ImportRun.Status.CANCELLED,
                        payload="",
                        finished=timezone.now(),
                    )
                    run = record_run(
                        plan,
                        source=form.cleaned_data["file"].name,
                        fmt=fmt,
                        triggered_by=request.user.get_username(),
                        status=ImportRun.Status.PENDING,
                        payload=form.text,
                    )
                    request.session[_skip_key(run)] = form.cleaned_data["skip_invalid"]
                    return redirect("admin:valuations_importrun_preview", pk=run.pk)
        context = _admin_context(self, request, "Upload market data", form=form)
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
        if run.status != ImportRun.Status.PENDING:
            messages.warning(
                request,
                f"This upload is no longer waiting: {run.get_status_display()}.",
            )
            return redirect("admin:valuations_importrun_change", run.pk)
        if _is_expired(run):
            messages.warning(
                request, "This preview is more than a day old; upload the file again."
            )
            return redirect("admin:valuations_importrun_upload")
        if request.method == "POST":
            if "cancel" in request.POST:
                return self._cancel(request, run)
            return self._confirm(
                request, run, skip_invalid=bool(request.POST.get("skip_invalid"))
            )
        # Planned again on every view: a mapping added since the upload shows here.
        fmt, plan = preview_markets(run.payload, fmt=run.format)
        context = _admin_context(
            self,
            request,
            f"Preview of {run.source}",
            run=run,
            format_label=dict(FORMAT_CHOICES).get(fmt, fmt),
            summary=_import_summary(plan),
            new_assets=plan.new_assets[:50],
            more_new_assets=max(len(plan.new_assets) - 50, 0),
            row_errors=plan.errors,
            unmatched=self._unmatched_rows(run, plan),
            skip_invalid=request.session.get(_skip_key(run), False),
        )
        return TemplateResponse(
            request, "admin/valuations/importrun/preview.html", context
        )

    def _unmatched_rows(self, run: ImportRun, plan: ImportPlan) -> list[dict[str, Any]]:
        """Each unmatched row with a link that adds its provider id, prefilled."""
        if not plan.unmatched:
            return []
        rows = {row.position: row for row in parse(run.payload, run.format)[0]}
        add_url = reverse("admin:valuations_providerid_add")
        unmatched = []
        for error in plan.unmatched:
            row = rows.get(error.position)
            query = (
                urlencode({"provider": row.provider, "external_id": row.external_id})
                if row is not None
                else urlencode({"provider": Provider.COINMARKETCAP})
            )
            unmatched.append({"error": error, "map_url": f"{add_url}?{query}"})
        return unmatched

    def _cancel(self, request: HttpRequest, run: ImportRun) -> HttpResponseRedirect:
        # Conditional update: a second click, or a confirm racing it, does nothing.
        ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.PENDING).update(
            status=ImportRun.Status.CANCELLED, payload="", finished=timezone.now()
        )
        request.session.pop(_skip_key(run), None)
        messages.info(request, f"Upload of {run.source} cancelled; nothing changed.")
        return redirect("admin:valuations_importrun_changelist")

    def _confirm(
        self, request: HttpRequest, run: ImportRun, *, skip_invalid: bool
    ) -> HttpResponseRedirect:
        with transaction.atomic():
            # The lock makes a double-click import once: the second request
            # waits, then finds the pending run gone.
            pending = (
                ImportRun.objects.select_for_update()
                .filter(pk=run.pk, status=ImportRun.Status.PENDING)
                .first()
            )
            if pending is None:
                messages.warning(request, "This upload was already handled.")
                return redirect("admin:valuations_importrun_changelist")
            report = import_markets(
                pending.payload,
                fmt=pending.format,
                source=pending.source,
                triggered_by=request.user.get_username(),
                skip_invalid=skip_invalid,
            )
            # The import recorded its own run; the preview's has served its turn.
            pending.delete()
        request.session.pop(_skip_key(run), None)
        if report.applied:
            skipped = (
                f"; {_count(report.skipped, 'bad row')} skipped"
                if report.skipped
                else ""
            )
            messages.success(
                request,
                f"Imported {run.source}: {report.created} new, {report.updated} "
                f"updated, {report.unchanged} unchanged snapshots; "
                f"{_count(report.assets_created, 'new asset')}{skipped}.",
            )
        else:
            messages.error(
                request,
                f"Nothing imported: {_count(report.skipped, 'row')} bad or unmatched. "
                "Fix the file, or upload it again and apply the good rows only.",
            )
        return redirect("admin:valuations_importrun_change", report.run.pk)
