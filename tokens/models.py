"""Named API tokens: stored as a knox digest, with a scope, an expiry and last use."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # AUTH_USER_MODEL

NAME_MAX_LENGTH = 100
# Lists show this many leading characters of a token: enough to tell tokens apart.
PREFIX_LENGTH = 8


class Scope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def owned_by(self, user: User) -> ApiTokenQuerySet:
        return self.filter(user=user)


class ApiToken(AbstractAuthToken):
    """A token a user made and named; only the digest of its key is stored.

    knox's fields: ``digest`` (SHA-512 of the key), ``token_key`` (its first 15
    characters, to find the row), ``user``, ``created`` and ``expiry`` (None:
    never expires).
    """

    # knox makes the digest the primary key; URLs and lists show a plain id.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    scope = models.CharField(max_length=5, choices=Scope.choices)
    last_used = models.DateTimeField(null=True, blank=True)

    # Replaces knox's manager, whose create() makes a key of its own.
    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"], name="tokens_apitoken_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(scope__in=Scope.values), name="tokens_apitoken_scope"
            ),
        ]

    def __str__(self) -> str:
        # Never the digest (knox's own __str__ shows it).
        return f"{self.name} ({self.prefix}…)"

    @property
    def prefix(self) -> str:
        """The key's first characters, shown to tell tokens apart."""
        return str(self.token_key[:PREFIX_LENGTH])

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expiry is not None and self.expiry <= (now or timezone.now())
