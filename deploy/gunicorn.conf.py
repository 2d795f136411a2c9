"""Gunicorn settings for one capsite app server.

    gunicorn -c deploy/gunicorn.conf.py capsite.wsgi

Everything a machine may need to change comes from the environment (the
systemd unit reads /etc/capsite/env):

    GUNICORN_BIND                  address to listen on        127.0.0.1:8000
    GUNICORN_WORKERS               worker processes            2 × cores + 1
    GUNICORN_TIMEOUT               seconds a request may take  60
    GUNICORN_GRACEFUL_TIMEOUT      seconds to finish on stop   30
    GUNICORN_MAX_REQUESTS          requests before a recycle   1000 (0: never)
    GUNICORN_FORWARDED_ALLOW_IPS   the trusted proxy (nginx)   127.0.0.1
    GUNICORN_LOG_LEVEL             gunicorn's own log level    info
    GUNICORN_CONTROL_SOCKET        gunicornc socket path       none (disabled)
    PROMETHEUS_MULTIPROC_DIR       per-process metrics files   unset (off)
"""

from __future__ import annotations

import multiprocessing
import os
import shutil


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise SystemExit(f"{name} must be 0 or more, not {value}")
    return value


bind = [
    address.strip()
    for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
    if address.strip()
]

# Sync workers: one request at a time per process. The app is CPU- and
# database-bound (no long polling, no websockets), and nginx in front buffers
# slow clients, so a sync worker is never held by a slow network.
worker_class = "sync"
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1) or 1

# A worker silent for this long is killed and replaced (a 3000-row synchronous
# import fits well within it; bigger ones go to the Celery workers).
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM or HUP a worker finishes its current request within this.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)

# Recycle each worker after about this many requests (jitter keeps the
# workers from restarting all at once), bounding any slow memory growth.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max(max_requests // 10, 0)

# The heartbeat file lives in memory where possible: a disk-backed /tmp can
# block a worker's heartbeat under I/O pressure and get it killed.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# Trust X-Forwarded-Proto (wsgi.url_scheme) only from the proxy in front.
# Django reads the client's address from X-Forwarded-For itself, counting
# CAPSITE_TRUSTED_PROXIES entries from the right, and trusts X-Forwarded-Proto
# when DJANGO_BEHIND_TLS_PROXY is true.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# No gunicorn access log: the app writes its own access line for every
# request, as JSON with the request id, to the same stream as its other logs.
# A second, unstructured line per request would only double the volume.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Gunicorn 25.1+ opens a control socket for gunicornc, by default in one
# per-user place: two app servers on one machine (the rehearsal) would fight
# over it. Off unless a path is given.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True

# No preload: each worker imports the app itself, so a HUP (systemctl reload)
# picks up new code, and no database connection is shared across a fork.
preload_app = False
proc_name = "capsite-web"


# Prometheus in multiprocess mode: every worker writes its metrics to files in
# PROMETHEUS_MULTIPROC_DIR and /metrics adds them up. The directory must start
# empty (stale files from a previous run would be counted again) and a dead
# worker's live gauges must be dropped.


def _multiproc_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    path = _multiproc_dir()
    if not path:
        return
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)
    server.log.info("prometheus multiprocess directory %s emptied", path)


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    if not _multiproc_dir():
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
