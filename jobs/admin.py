from django.contrib import admin

from jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "title",
        "kind",
        "status",
        "owner",
        "done",
        "total",
        "created",
        "finished",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["title", "owner__username"]
    exclude = ["payload"]
    readonly_fields = [
        f.name for f in Job._meta.get_fields() if f.concrete and f.name != "payload"
    ]

    def has_add_permission(self, request: object) -> bool:
        return False
