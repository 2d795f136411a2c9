"""Sign-up, the one account page that django.contrib.auth does not provide."""

from __future__ import annotations

from typing import TYPE_CHECKING

from axes import helpers as axes_helpers
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import services
from capsite import errors

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User  # AUTH_USER_MODEL

# Axes only watches authenticate(); a new account is logged in by the model
# backend directly, and with two backends login() must be told which one.
_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SignupForm(UserCreationForm):
    """A username, an email address for password resets, and a password twice."""

    email = forms.EmailField(
        required=True,
        help_text="We send a link to confirm it; it is used for password resets "
        "and the alerts you choose.",
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email


def cool_off_seconds() -> int:
    """Seconds a locked-out login waits: every attempt while locked starts it over."""
    return int(axes_helpers.get_cool_off().total_seconds())


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The lock-out page for the login and admin forms: 429 saying when to retry.

    The site's 429 page with the reason filled in, so the wait it shows and the
    Retry-After header come from the same number.
    """
    return errors.too_many_requests(
        request,
        retry_after=cool_off_seconds(),
        template_name="registration/lockout.html",
        context={
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "username": axes_helpers.get_client_username(request, credentials) or "",
        },
    )


def signed_in(user: User | AnonymousUser) -> User:
    """Return the user of a view behind login_required or IsAuthenticated.

    The guard has already turned anonymous requests away: this narrows the type.
    """
    assert user.is_authenticated, "the view is not behind a login guard"
    return user


def _safe_next(request: HttpRequest) -> str:
    """Return the `next` address when it stays on this site, else ""."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate,
        allowed_hosts={request.get_host()},
        require_https=request.is_secure(),
    ):
        return candidate
    return ""


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, log it in and go to `next` (or the portfolios)."""
    status = 200
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            user = form.save()
            login(request, user, backend=_MODEL_BACKEND)
            services.send_confirmation(request, user)
            return redirect(
                _safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL)
            )
        status = 400
    else:
        form = SignupForm()
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": _safe_next(request)},
        status=status,
    )
