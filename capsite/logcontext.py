"""The signed-in user's id on every log record (``user_id``).

Kept free of Django imports: logging is configured before the apps load.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

user_id: ContextVar[int | None] = ContextVar("capsite_user_id", default=None)


class UserIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "user_id"):
            record.user_id = user_id.get()
        return True
