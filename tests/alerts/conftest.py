"""Fixtures of the alert tests: a small market, a drifted portfolio, a webhook receiver.

The market (hand-computed caps, PRODUCT.md tiers):
  bigcoin  BIG  $20,000 × 1,000,000     = $20B   large
  midcoin  MID  $20 × 50,000,000        = $1B    mid (the boundary is mid)
  alpha    ALP  $40 × 500,000           = $20M   small
  usdx     USDX $1 × 2,000,000,000      = $2B    a stablecoin: the stable bucket
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portfolios import services
from portfolios.models import Portfolio, Transaction
from tests.factories import AssetFactory, CategoryFactory
from valuations.models import Asset
from valuations.state import refresh_market_state

D = Decimal
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TODAY = date(2026, 5, 1)
BOUGHT = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def market(db) -> dict[str, Asset]:
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    return {
        "big": AssetFactory(
            slug="bigcoin",
            symbol="big",
            name="Bigcoin",
            price=D("20000"),
            circulating_supply=D("1000000"),
            volume_24h=D("900000000"),
        ),
        "mid": AssetFactory(
            slug="midcoin",
            symbol="mid",
            name="Midcoin",
            price=D("20"),
            circulating_supply=D("50000000"),
            volume_24h=D("90000000"),
        ),
        "alpha": AssetFactory(
            slug="alpha",
            symbol="alp",
            name="Alpha",
            price=D("40"),
            circulating_supply=D("500000"),
            volume_24h=D("4000000"),
        ),
        "usdx": AssetFactory(
            slug="usdx",
            symbol="usdx",
            name="USDX",
            price=D("1"),
            circulating_supply=D("2000000000"),
            volume_24h=D("900000000"),
            categories=[stable],
        ),
    }


def buy(portfolio: Portfolio, asset: Asset, quantity: str) -> Transaction:
    return services.record_transaction(
        portfolio=portfolio,
        asset=asset,
        kind=Transaction.Kind.BUY,
        quantity=D(quantity),
        unit_price=asset.price,
        executed_at=BOUGHT,
    )


def reprice(asset: Asset, price: str) -> None:
    """Move an asset's price as a market refresh does, stored state included."""
    Asset.objects.filter(pk=asset.pk).update(price=D(price))
    refresh_market_state(asset_ids=[asset.pk])


@pytest.fixture
def drifted(portfolio, market) -> Portfolio:
    """‘Main’ (balanced 50/30/15/5, ±5) worth $10,000, two buckets out of band.

    0.31 BIG = $6,200 (large 62 %, +12), 90 MID = $1,800 (mid 18 %, −12),
    37.5 ALP = $1,500 (small 15 %, 0), 500 USDX = $500 (stable 5 %, 0).
    """
    buy(portfolio, market["big"], "0.31")
    buy(portfolio, market["mid"], "90")
    buy(portfolio, market["alpha"], "37.5")
    buy(portfolio, market["usdx"], "500")
    return portfolio


DRIFT_TITLE = (
    "Drift out of band in ‘Main’: large 62.0 % vs target 50 % (±5); "
    "mid 18.0 % vs target 30 % (±5)"
)


def set_target(portfolio: Portfolio, large: str, mid: str, small: str, stable: str):
    services.update_portfolio(
        portfolio=portfolio,
        target_large=D(large),
        target_mid=D(mid),
        target_small=D(small),
        target_stable=D(stable),
    )


# A webhook receiver ------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    status: int = 200
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def webhook(settings):
    """A real HTTP server on 127.0.0.1 that records each POST and answers ``status``.

    Loopback addresses are refused to users by default; the test allows them.
    """
    settings.CAPSITE_WEBHOOK_ALLOW_PRIVATE = True
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.requests.append(
                Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/capsite"
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_url(settings) -> str:
    """An address on 127.0.0.1 where nothing listens: the connection is refused."""
    settings.CAPSITE_WEBHOOK_ALLOW_PRIVATE = True
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
