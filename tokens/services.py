"""Every write to API tokens: create, revoke, and stamp their last use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from knox.models import get_digest_token
from knox.settings import CONSTANTS

from tokens.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # AUTH_USER_MODEL

# last_used is written at most this often per token, so that a script reading
# the API many times a minute costs no write per request.
LAST_USED_EVERY = timedelta(minutes=1)

_NAME_TAKEN = "You already have a token with this name."


def create_token(
    *, user: User, name: str, scope: str, expires: datetime | None
) -> tuple[ApiToken, str]:
    """Make a named token; return it and its key, the only time the key exists.

    Only the key's digest and first characters are stored (knox's format), so
    the key cannot be shown again. ``expires`` None means the token never
    expires; an expiry must lie in the future.
    """
    if expires is not None and expires <= timezone.now():
        raise ValidationError({"expires": "The expiry must be in the future."})
    if ApiToken.objects.owned_by(user).filter(name=name).exists():
        raise ValidationError({"name": _NAME_TAKEN})
    digest, key = get_digest_token()
    token = ApiToken(
        user=user,
        name=name,
        scope=scope,
        expiry=expires,
        digest=digest,
        token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
    )
    # The name was checked above, keyed by field; the digest is random; the
    # user is the signed-in one (no query to prove it exists).
    token.full_clean(
        exclude=["user"], validate_unique=False, validate_constraints=False
    )
    try:
        with transaction.atomic():
            token.save()
    except IntegrityError as err:  # the same name, made at the same moment
        raise ValidationError({"name": _NAME_TAKEN}) from err
    return token, key


def revoke_token(*, token: ApiToken) -> None:
    """Delete the token: its key stops working at once."""
    token.delete()


def record_use(*, token: ApiToken, now: datetime) -> None:
    """Set ``last_used`` to now, unless it was set less than LAST_USED_EVERY ago."""
    if token.last_used is not None and now - token.last_used < LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used=now)
    token.last_used = now
