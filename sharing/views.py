"""Share pages: the owner's link management, and the public read-only page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from portfolios.models import Portfolio
from sharing import queries, services
from sharing.forms import ShareLinkForm
from valuations import charts
from valuations.choices import Bucket

BUCKET_LABELS = dict(Bucket.choices)

# A shared page is for the people it was sent to: never indexed, never cached
# on the way, and its address (the token) never sent on as a referrer.
UNLISTED_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}

View = Callable[..., HttpResponse]


def unlisted(view: View) -> View:
    """Send UNLISTED_HEADERS with the view's answer, its 404 included."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404 as exc:
            # The site's usual 404, made here so it carries the headers too.
            response = response_for_exception(request, exc)
        for header, value in UNLISTED_HEADERS.items():
            response[header] = value
        return response

    return wrapped


@unlisted
@require_http_methods(["GET", "HEAD"])
def shared_portfolio(request: HttpRequest, token: str) -> HttpResponse:
    """The portfolio behind a share link, read-only; no login. Revoked: 404."""
    link = queries.active_link(token)
    if link is None:
        raise Http404("No such share link.")
    shared = queries.shared_portfolio(link, today=timezone.now().date())
    context = {
        "shared": shared,
        "mix_bar": charts.mix_bar(shared.mix_weights, BUCKET_LABELS),
        "target_bar": charts.mix_bar(shared.target_weights, BUCKET_LABELS),
    }
    return render(request, "sharing/shared_portfolio.html", context)


def _owned(request: HttpRequest, pk: int) -> Portfolio:
    """Scope before lookup: another user's portfolio is a 404, like a missing one."""
    return get_object_or_404(Portfolio.objects.owned_by(request.user), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def share_manage(request: HttpRequest, pk: int) -> HttpResponse:
    """The portfolio's link: make one (shown once, in this answer) or revoke it."""
    portfolio = _owned(request, pk)
    # An unchecked box sends nothing: an empty POST still makes a link.
    form = ShareLinkForm(request.POST if request.method == "POST" else None)
    new_url = None
    if request.method == "POST" and form.is_valid():
        _, token = services.create_share_link(
            portfolio=portfolio, show_amounts=form.cleaned_data["show_amounts"]
        )
        new_url = request.build_absolute_uri(reverse("sharing:public", args=[token]))
        form = ShareLinkForm()
    context = {
        "portfolio": portfolio,
        "form": form,
        "link": queries.active_link_of(portfolio),
        "new_url": new_url,
    }
    response = render(
        request,
        "sharing/share_manage.html",
        context,
        status=400 if form.errors else 200,
    )
    # The new link is in this page alone: keep it out of caches.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def share_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _owned(request, pk)
    link = queries.active_link_of(portfolio)
    if link is None:
        messages.info(request, "There is no link to revoke.")
    else:
        services.revoke_share_link(link=link)
        messages.success(request, "Link revoked: it now answers “not found”.")
    return redirect("sharing:manage", pk=portfolio.pk)
