"""A job's page: a progress bar that follows the job, then what it did."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from jobs.models import Job


@login_required
def detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    job = get_object_or_404(Job.objects.defer("payload"), pk=pk, owner=request.user.pk)
    return render(request, "jobs/job.html", {"job": job.with_progress()})
