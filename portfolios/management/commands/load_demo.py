"""Create the development demo account (demo / demo) with its `Demo` portfolio."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import EmailConfirmation
from portfolios.demo import create_demo_portfolio


class Command(BaseCommand):
    help = "Create the demo account (demo / demo) and its Demo portfolio (dev only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "load_demo is for development only (DJANGO_DEBUG is off)."
            )
        user, created = get_user_model().objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com"}
        )
        if created:
            user.set_password("demo")
            user.save(update_fields=["password"])
            # A made-up address: nobody could open a link sent to it.
            EmailConfirmation.objects.create(
                user=user, email=user.email, confirmed_at=timezone.now()
            )
        portfolio = create_demo_portfolio(owner=user)
        account = "created" if created else "already there"
        book = "created" if portfolio else "already there"
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo account {account} (demo / demo); Demo portfolio {book}."
            )
        )
