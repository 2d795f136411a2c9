"""The Celery app: ``celery -A capsite worker`` and ``celery -A capsite beat``.

Settings are Django's, under the CELERY_ prefix (capsite.settings). With no
CELERY_BROKER_URL there is no worker: capsite.jobs runs tasks in the web process.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "capsite.settings")

app = Celery("capsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
