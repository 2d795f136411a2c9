"""capsite: the project package. Loading it loads the Celery app, so tasks bind to it."""

from capsite.celery import app as celery_app

__all__ = ["celery_app"]
