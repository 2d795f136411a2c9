"""Template context of the alerts app: the unread count in the site navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from alerts.services import unread_count as count_unread


def unread_count(request: HttpRequest) -> dict[str, Any]:
    """``unread_notifications`` for a signed-in user: one COUNT, run only when a
    template shows it (lazily, so a page that does not costs nothing)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: count_unread(user))}
