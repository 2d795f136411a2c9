"""A deadline for a whole HTTP exchange, however slowly the server answers.

urllib3's timeouts apply to each read from the socket, and reading n bytes
waits for all n, so a server that sends a byte a second is never too slow for
them. ``Deadline`` runs a timer that, when it fires, shuts down every socket
opened while it was current: any read, in the TLS handshake, the headers or the
body, wakes at once. ``DeadlineAdapter`` mounts connections it can watch.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection


class OutOfTime(Exception):
    """urllib3 was about to wait or connect past the refresh's deadline."""


class Deadline:
    """The end of a refresh: at that moment, cut every connection it opened.

    urllib3's timeouts apply to each read from the socket, and reading n bytes
    waits for all n, so a server that sends a byte a second is never too slow
    for them. A timer thread that shuts the sockets down wakes any read at once:
    in the TLS handshake, the headers or the body.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds  # the timer starts right after
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._token: Token[Deadline | None] | None = None

    def __enter__(self) -> Deadline:
        self._token = current.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        if self._token is not None:
            current.reset(self._token)
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def left(self) -> float:
        """Return the seconds left, negative once the deadline has passed."""
        return self._ends - time.monotonic()

    def passed(self) -> bool:
        return self._expired or self.left() <= 0

    def message(self, where: str) -> str:
        return (
            f"{where}: the refresh did not finish within {self.seconds:g} s "
            "(MARKET_DATA_DEADLINE)."
        )

    def watch(self, sock: socket.socket) -> None:
        """Cut ``sock``'s connection at the deadline, or now if it has passed."""
        # A duplicate descriptor: shutting it down cuts the connection even once
        # TLS has taken over (and detached) the original socket object, and as
        # nobody else closes it, its number cannot be reused for another file.
        copy = sock.dup()
        with self._lock:
            self._sockets.append(copy)
            if self._expired:
                _shut(copy)

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for sock in self._sockets:
                _shut(sock)


# The deadline of the refresh running in this thread, for urllib3's hooks below.
current: ContextVar[Deadline | None] = ContextVar("market_feed_deadline", default=None)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already disconnected


def _connect_watched(
    connection: HTTPConnection, new_conn: Callable[[], socket.socket]
) -> socket.socket:
    """Open ``connection``'s socket, within the deadline and watched by it."""
    deadline = current.get()
    if deadline is None:
        return new_conn()
    left = deadline.left()
    if left <= 0:
        raise OutOfTime
    # The timer cannot cut a socket that is still connecting: give up in time.
    timeout = connection.timeout
    connection.timeout = (
        min(timeout, left) if isinstance(timeout, float | int) else left
    )
    sock = new_conn()
    deadline.watch(sock)
    return sock


# urllib3's connections, each watched by the deadline of the refresh that opens
# it. _new_conn opens the TCP socket, before any TLS handshake.
class _HTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_watched(self, super()._new_conn)


class _HTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _connect_watched(self, super()._new_conn)


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": _HTTPConnectionPool,
    "https": _HTTPSConnectionPool,
}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter, with connections that the refresh's deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has connections of its own
            manager.pool_classes_by_scheme = _POOLS
        return manager
