"""Alert pages: the notifications list and the alert settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from alerts import delivery, services
from alerts.forms import AlertSettingsForm
from alerts.models import Notification
from capsite.accounts import signed_in

PAGE_SIZE = 50


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, 50 a page."""
    notifications = Notification.objects.filter(user=signed_in(request.user))
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "alerts/notification_list.html", {"page": page})


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = services.mark_read(user=signed_in(request.user))
    if count:
        plural = "" if count == 1 else "s"
        messages.success(request, f"{count} notification{plural} marked as read.")
    return redirect("alerts:notifications")


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go to the page it is about."""
    notification = get_object_or_404(
        Notification.objects.filter(user=signed_in(request.user)), pk=pk
    )
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    # Notifications name pages of this site; anything else stays here.
    if notification.url and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}
    ):
        return redirect(notification.url)
    return redirect("alerts:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def alert_settings(request: HttpRequest) -> HttpResponse:
    """Which alerts to get, the unlock window, email, and the webhook."""
    prefs = services.settings_for(signed_in(request.user))
    form = AlertSettingsForm(request.POST or None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_settings(prefs=prefs, **form.cleaned_data)
        except ValidationError as err:
            form.add_error(None, err)
        else:
            messages.success(request, "Alert settings saved.")
            return redirect("alerts:settings")
    status = 400 if form.is_bound else 200
    return render(
        request,
        "alerts/settings.html",
        {"form": form, "prefs": prefs},
        status=status,
    )


@login_required
@require_POST
def regenerate_secret(request: HttpRequest) -> HttpResponse:
    services.regenerate_secret(prefs=services.settings_for(signed_in(request.user)))
    messages.success(
        request, "New webhook secret made: update it where you check signatures."
    )
    return redirect("alerts:settings")


@login_required
@require_POST
def test_webhook(request: HttpRequest) -> HttpResponse:
    """POST a signed test event to the saved webhook URL and say what happened."""
    prefs = services.settings_for(signed_in(request.user))
    if not prefs.webhook_url:
        messages.error(request, "Save a webhook URL first.")
        return redirect("alerts:settings")
    outcome = delivery.post_webhook(
        url=prefs.webhook_url,
        secret=prefs.webhook_secret,
        event="test",
        body=delivery.encode(delivery.sample_payload()),
    )
    if outcome.startswith("delivered"):
        messages.success(request, f"Test webhook {outcome}.")
    else:
        messages.error(request, f"Test webhook {outcome}.")
    return redirect("alerts:settings")
