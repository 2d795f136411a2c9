"""Create the development demo account (demo / demo)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create the demo account (username demo, password demo). Development only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "load_demo is for development only (DJANGO_DEBUG is off)."
            )
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com"}
        )
        if created:
            user.set_password("demo")
            user.save(update_fields=["password"])
        state = "created" if created else "already there"
        self.stdout.write(self.style.SUCCESS(f"Demo account {state}: demo / demo"))
