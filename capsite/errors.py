"""Error answers: JSON under /api/ (what an API client can parse), pages elsewhere.

Django answers a URL no route matches with its own 404 page, and DRF's
exception handler never sees it: without this an API client asking for
/api/v1/nothing/ got HTML. The pages (400.html … 500.html) share error.html.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults

logger = logging.getLogger(__name__)

# The last resort when even 500.html cannot render (a broken template or static
# manifest): plain HTML that needs nothing but this string.
_BARE_500 = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Something went wrong · capsite</title></head><body>"
    "<main><h1>Something went wrong on our side</h1>"
    "<p>capsite could not finish this page. Try again in a minute.</p>"
    '<p><a href="/">Go to the market page</a></p></main></body></html>'
)


# What an /api/ error says, in DRF's shape, per status.
_API_DETAIL = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    500: "A server error occurred.",
}


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _api_answer(request: HttpRequest, status: int) -> JsonResponse | None:
    """The JSON error for a request under /api/; None for a page."""
    if not _api(request):
        return None
    return JsonResponse({"detail": _API_DETAIL[status]}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_answer(request, 400) or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_answer(request, 403) or defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_answer(request, 404) or defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, rendered with no request context.

    Whatever failed (the database, a context processor) may fail again, so the
    page runs no context processor and no query; if even that cannot render,
    plain HTML answers.
    """
    if answer := _api_answer(request, 500):
        return answer
    try:
        body = loader.get_template("500.html").render()
    except Exception:
        logger.exception("500.html could not render; answering plain HTML")
        body = _BARE_500
    return HttpResponse(body, status=500)


def wait_text(seconds: int) -> str:
    """Say a Retry-After in words a person reads: "45 seconds", "15 minutes".

    Minutes are rounded up, so the page never says to come back too early.
    """
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def too_many_requests(
    request: HttpRequest,
    *,
    retry_after: int,
    template_name: str = "429.html",
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """429 with Retry-After in seconds; the page says the same wait in words."""
    if _api(request):
        detail = f"Request was throttled. Expected available in {retry_after} seconds."
        response: HttpResponse = JsonResponse({"detail": detail}, status=429)
    else:
        response = render(
            request,
            template_name,
            {
                "retry_after": retry_after,
                "retry_after_text": wait_text(retry_after),
                **(context or {}),
            },
            status=429,
        )
    response["Retry-After"] = str(retry_after)
    return response
