from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.reverse import reverse

from jobs.models import Job


class JobErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        help_text="Line of the file; 0 for the file as a whole."
    )
    field = serializers.CharField()
    message = serializers.CharField()


class JobSerializer(serializers.ModelSerializer[Job]):
    """A background job and how far it is (``done`` of ``total`` rows)."""

    percent = serializers.IntegerField(read_only=True)
    # A field, though Serializer has an ``errors`` property: DRF's metaclass
    # takes declared fields off the class, so the property still works.
    errors = JobErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]
    result = serializers.DictField(
        read_only=True,
        allow_null=True,
        help_text="What the job did, once done (for an import: created, skipped).",
    )
    url = serializers.SerializerMethodField()
    page = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "title",
            "stage",
            "done",
            "total",
            "percent",
            "errors",
            "result",
            "result_url",
            "created",
            "started",
            "finished",
            "url",
            "page",
        ]
        read_only_fields = fields

    def get_url(self, job: Job) -> str:
        return str(
            reverse(
                "api:job-detail", args=[job.pk], request=self.context.get("request")
            )
        )

    def get_page(self, job: Job) -> str:
        request: Any = self.context.get("request")
        path = job.get_absolute_url()
        return request.build_absolute_uri(path) if request else path
