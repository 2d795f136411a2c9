"""The API tokens page under the account: list, create (key shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from capsite.accounts import signed_in
from tokens import services
from tokens.forms import ApiTokenForm
from tokens.models import ApiToken


@never_cache  # the answer to a POST holds the new key
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's tokens, and the form that makes one.

    A new key is shown in the answer to the POST itself, never stored or
    redirected with: reloading the page cannot show it again.
    """
    user = signed_in(request.user)
    form = ApiTokenForm(request.POST or None)
    issued = key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                issued, key = services.create_token(
                    user=user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    expires=form.expires_at(timezone.now()),
                )
            except ValidationError as err:
                form.add_error(None, err)
        if issued is None:
            status = 400
        else:
            form = ApiTokenForm()
    return render(
        request,
        "tokens/token_list.html",
        {
            "form": form,
            "tokens": ApiToken.objects.owned_by(user),
            "issued": issued,
            "key": key,
            "now": timezone.now(),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask, then revoke one of the user's tokens."""
    token = get_object_or_404(ApiToken.objects.owned_by(signed_in(request.user)), pk=pk)
    if request.method == "POST":
        services.revoke_token(token=token)
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("tokens:list")
    return render(request, "tokens/token_confirm_revoke.html", {"token": token})
