"""A background job a person started and can watch: an import, an upload."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse


class Job(models.Model):
    class Kind(models.TextChoices):
        TRANSACTION_IMPORT = "transaction_import", "Transaction import"
        MARKET_UPLOAD = "market_upload", "Market-data upload"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed: nothing applied"

    FINISHED = (Status.DONE, Status.FAILED)

    # Unguessable: the id is in URLs, and a job belongs to one person.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    title = models.CharField(max_length=300)
    # What the job works on: the uploaded file and its options. The file is
    # dropped when the job ends; the options stay for the record.
    payload = models.TextField(blank=True, default="")
    options = models.JSONField(default=dict, blank=True)
    # Progress is in the shared cache while the job runs (jobs.progress) and
    # copied here when it ends.
    stage = models.CharField(max_length=100, blank=True, default="")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    result = models.JSONField(null=True, blank=True)
    # Where the person goes when it is done (the ledger, the import run).
    result_url = models.CharField(max_length=500, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["owner", "-created"], name="job_owner_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("jobs:detail", args=[self.pk])

    @property
    def finished_running(self) -> bool:
        return self.status in self.FINISHED

    def with_progress(self) -> Job:
        """This job, with the live progress of a running job laid over it."""
        from jobs import progress

        if self.status == self.Status.RUNNING:
            live: dict[str, Any] | None = progress.read(self.pk)
            if live:
                self.done, self.total, self.stage = (
                    live["done"],
                    live["total"],
                    live["stage"],
                )
        return self

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0
