"""An account's own data: confirming its address, taking everything away, closing it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import EmailConfirmation
from accounts.tokens import confirmation_tokens

if TYPE_CHECKING:
    from django.contrib.auth.models import User  # AUTH_USER_MODEL

UNCONFIRMED = "capsite_email_unconfirmed"  # session key: show the banner
EXPORT_VERSION = 1


# Email confirmation -------------------------------------------------------------


def is_confirmed(user: User) -> bool:
    return EmailConfirmation.objects.filter(
        user=user, email__iexact=user.email
    ).exists()


def remember_confirmation(request: HttpRequest, user: User) -> None:
    """Note in the session whether the banner asking to confirm should show."""
    request.session[UNCONFIRMED] = bool(user.email) and not is_confirmed(user)


def confirmation_link(request: HttpRequest, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = confirmation_tokens.make_token(user)
    return request.build_absolute_uri(
        reverse("accounts:confirm", kwargs={"uidb64": uid, "token": token})
    )


def send_confirmation(request: HttpRequest, user: User) -> None:
    """Mail a link that confirms the account's address (console in development)."""
    if not user.email:
        return
    send_mail(
        subject="Confirm your email address for capsite",
        message=(
            f"Hello {user.get_username()},\n\n"
            "Open this link to confirm that this address is yours:\n\n"
            f"{confirmation_link(request, user)}\n\n"
            "The link works for three days. If you did not sign up for capsite, "
            "ignore this email.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )


def confirm(user: User, token: str) -> bool:
    """Confirm the user's current address if ``token`` is a good link for it."""
    if not user.email or not confirmation_tokens.check_token(user, token):
        return False
    EmailConfirmation.objects.update_or_create(
        user=user, defaults={"email": user.email, "confirmed_at": timezone.now()}
    )
    return True


# Your data ----------------------------------------------------------------------


def export_data(user: User) -> dict[str, Any]:
    """Everything the account holds, as one JSON-ready dict, in a fixed number of queries.

    Decimals are exact strings; times ISO 8601 in UTC.
    """
    from alerts.models import AlertSettings
    from portfolios.models import Portfolio, Transaction

    portfolios = list(
        Portfolio.objects.filter(owner=user)
        .order_by("pk")
        .values(
            "id",
            "name",
            "description",
            "target_large",
            "target_mid",
            "target_small",
            "target_stable",
            "tolerance",
            "cost_basis_method",
            "created",
        )
    )
    ledgers: dict[int, list[dict[str, str]]] = {p["id"]: [] for p in portfolios}
    rows = (
        Transaction.objects.filter(portfolio__owner=user)
        .order_by("portfolio_id", "executed_at", "pk")
        .values_list(
            "portfolio_id",
            "executed_at",
            "asset__slug",
            "kind",
            "quantity",
            "unit_price",
            "fee",
            "note",
        )
    )
    for portfolio_id, at, asset, kind, quantity, unit_price, fee, note in rows.iterator(
        chunk_size=2000
    ):
        ledgers[portfolio_id].append(
            {
                "executed_at": at.isoformat(),
                "asset": asset,
                "kind": kind,
                "quantity": _plain(quantity),
                "unit_price": _plain(unit_price),
                "fee": _plain(fee),
                "note": note,
            }
        )
    alerts = (
        AlertSettings.objects.filter(user=user).values(*AlertSettings.CHOICES).first()
    )
    return {
        "format": "capsite-account-export",
        "version": EXPORT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "username": user.get_username(),
            "email": user.email,
            "email_confirmed": is_confirmed(user),
            "date_joined": user.date_joined.isoformat(),
        },
        "portfolios": [
            {
                "id": p["id"],
                "name": p["name"],
                "description": p["description"],
                "target": {
                    "large": _plain(p["target_large"]),
                    "mid": _plain(p["target_mid"]),
                    "small": _plain(p["target_small"]),
                    "stable": _plain(p["target_stable"]),
                },
                "tolerance": _plain(p["tolerance"]),
                "cost_basis_method": p["cost_basis_method"],
                "created": p["created"].isoformat(),
                "transactions": ledgers[p["id"]],
            }
            for p in portfolios
        ],
        # Defaults until the person chooses: what the alerts page would show.
        "alert_settings": alerts or _default_alert_settings(),
    }


def _default_alert_settings() -> dict[str, Any]:
    from alerts.models import AlertSettings

    defaults = AlertSettings()
    return {name: getattr(defaults, name) for name in AlertSettings.CHOICES}


def _plain(value: Any) -> str:
    from portfolios.imports import plain

    return plain(value)


@transaction.atomic
def delete_account(user: User) -> None:
    """Delete the account and everything it owns: portfolios and their ledgers,
    tokens, share links, jobs, alerts and notifications go with it (cascade)."""
    user.delete()
