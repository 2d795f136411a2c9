"""The site's URLs plus two reference endpoints the market benchmarks compare with.

- ``/bench/bare/``: the least a Django view can do (one short text response).
- ``/bench/values/``: the first page of 100 assets by market cap, the columns
  the list reads (valuations.rows.COLUMNS), read with ``.values()`` and
  rendered by orjson, with no DRF, figures or pagination. It
  is the hand-written reference the asset list is measured against.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from valuations.metrics import RANK_ORDER
from valuations.models import Asset
from valuations.rows import COLUMNS


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


def values(request: HttpRequest) -> HttpResponse:
    rows = list(Asset.objects.with_rank().order_by(*RANK_ORDER).values(*COLUMNS)[:100])
    return HttpResponse(
        orjson.dumps({"results": rows}, default=_default),
        content_type="application/json",
    )


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/values/", values),
    path("", include("capsite.urls")),
]
