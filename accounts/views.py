"""The account pages: confirm the address, take your data away, close the account."""

from __future__ import annotations

import orjson
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.forms import DeleteAccountForm
from capsite.accounts import signed_in


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = signed_in(request.user)
    return render(
        request,
        "accounts/home.html",
        {
            "confirmed": services.is_confirmed(user),
            "portfolios": user.portfolios.order_by("name", "pk").only("pk", "name"),
        },
    )


@require_GET
def confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Open a confirmation link: confirm the address, or say the link is no good."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = get_user_model().objects.filter(pk=int(pk)).first()
    except (ValueError, OverflowError):
        user = None
    if user is None or not services.confirm(user, token):
        return render(request, "accounts/confirm_failed.html", status=400)
    if request.user.is_authenticated and request.user.pk == user.pk:
        services.remember_confirmation(request, user)
    messages.success(request, f"Thank you: {user.email} is confirmed.")
    return redirect("accounts:home" if request.user.is_authenticated else "login")


@login_required
@require_POST
def resend(request: HttpRequest) -> HttpResponse:
    user = signed_in(request.user)
    services.send_confirmation(request, user)
    messages.info(request, f"We sent a new confirmation link to {user.email}.")
    return redirect("accounts:home")


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """Everything the account holds as one JSON file."""
    user = signed_in(request.user)
    body = orjson.dumps(services.export_data(user), option=orjson.OPT_INDENT_2)
    response = HttpResponse(body, content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = (
        f'attachment; filename="capsite-{user.get_username()}-{stamp}.json"'
    )
    return response


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest) -> HttpResponse:
    """Delete the account once its password is typed again."""
    user = signed_in(request.user)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # authenticate() rather than check_password(): django-axes counts the
        # failures, so this form cannot be used to guess a stolen session's password.
        checked = authenticate(
            request,
            username=user.get_username(),
            password=form.cleaned_data["password"],
        )
        if checked is None or checked.pk != user.pk:
            form.add_error("password", "That is not your password.")
        else:
            name = user.get_username()
            services.delete_account(user)
            logout(request)
            messages.success(
                request, f"The account {name} and everything in it are deleted."
            )
            return redirect("/")
    return render(
        request,
        "accounts/delete.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )
