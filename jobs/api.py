"""The job resource: what a person started, and how far it is."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from jobs.models import Job
from jobs.serializers import JobSerializer


class JobViewSet(viewsets.ReadOnlyModelViewSet[Job]):
    """Your background jobs, newest first: imports sent with ``Prefer: respond-async``
    or too large to run inside the request. Poll one until ``status`` is
    ``done`` or ``failed``."""

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        return Job.objects.filter(owner=self.request.user.pk).defer("payload")

    def get_object(self) -> Job:
        # Anything that is not a job id is a JSON 404 like any unknown job.
        try:
            uuid.UUID(str(self.kwargs["pk"]))
        except ValueError as exc:
            raise NotFound from exc
        return super().get_object()

    def retrieve(self, request: Request, *args: object, **kwargs: object) -> Response:
        job = self.get_object().with_progress()
        return Response(self.get_serializer(job).data)

    def list(self, request: Request, *args: object, **kwargs: object) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        jobs = [job.with_progress() for job in page or []]
        return self.get_paginated_response(self.get_serializer(jobs, many=True).data)
