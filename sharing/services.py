"""Share-link writes: make a portfolio's one active link, and revoke it."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from portfolios.models import Portfolio
from sharing.models import PREFIX_LENGTH, TOKEN_BYTES, ShareLink, hash_token


@transaction.atomic
def create_share_link(
    *, portfolio: Portfolio, show_amounts: bool
) -> tuple[ShareLink, str]:
    """Make the portfolio's active link, revoking the one before; return it and
    its token.

    The token is returned only here: the link keeps its SHA-256 and first
    characters, so whoever reads the database cannot open the page.
    """
    # Lock the portfolio so two makers run one after the other; the partial
    # unique constraint backs this up (at most one unrevoked link).
    list(Portfolio.objects.select_for_update().filter(pk=portfolio.pk).values("pk"))
    ShareLink.objects.active().filter(portfolio=portfolio).update(
        revoked_at=timezone.now()
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink(
        portfolio=portfolio,
        token_hash=hash_token(token),
        prefix=token[:PREFIX_LENGTH],
        show_amounts=show_amounts,
    )
    link.full_clean()
    link.save()
    return link, token


@transaction.atomic
def revoke_share_link(*, link: ShareLink) -> ShareLink:
    """Revoke the link: its page and API read answer 404 from now on."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link
