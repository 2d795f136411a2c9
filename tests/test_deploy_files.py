"""The deployment files in deploy/ load and say what they should.

Quick checks only: the whole deployment is rehearsed by ``deploy/rehearsal``
(nginx, two app servers, a worker, PostgreSQL and Redis on loopback).
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import multiprocessing
import os
import py_compile
import re
import runpy
import shlex
import shutil
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest
from gunicorn.config import Config

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
SITE_CONF = DEPLOY / "nginx" / "capsite.conf"
REHEARSAL = DEPLOY / "rehearsal"
UNITS = DEPLOY / "systemd"

GUNICORN_ENV = (
    "GUNICORN_BIND",
    "GUNICORN_WORKERS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_FORWARDED_ALLOW_IPS",
    "GUNICORN_LOG_LEVEL",
    "GUNICORN_CONTROL_SOCKET",
    "PROMETHEUS_MULTIPROC_DIR",
)


# -- gunicorn ----------------------------------------------------------------


def gunicorn_settings(monkeypatch, **env: str) -> Config:
    """Load the config file as gunicorn does: exec it, set each known setting
    through gunicorn's own validation."""
    for name in GUNICORN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(GUNICORN_CONF))
    cfg = Config()
    for name, value in namespace.items():
        if name in cfg.settings:
            cfg.set(name, value)  # raises on a bad value or hook signature
    return cfg


def test_gunicorn_defaults(monkeypatch):
    cfg = gunicorn_settings(monkeypatch)
    assert cfg.bind == ["127.0.0.1:8000"]
    assert cfg.workers == 2 * multiprocessing.cpu_count() + 1
    assert cfg.worker_class_str == "sync"
    assert cfg.timeout == 60
    assert 0 < cfg.graceful_timeout <= cfg.timeout
    assert cfg.max_requests > 0 and 0 < cfg.max_requests_jitter < cfg.max_requests
    assert cfg.accesslog is None  # the app logs its own JSON access lines
    assert cfg.forwarded_allow_ips == ["127.0.0.1"]
    assert cfg.preload_app is False


def test_gunicorn_reads_the_environment(monkeypatch):
    cfg = gunicorn_settings(
        monkeypatch,
        GUNICORN_BIND="10.0.0.11:8000",
        GUNICORN_WORKERS="3",
        GUNICORN_TIMEOUT="45",
        GUNICORN_FORWARDED_ALLOW_IPS="10.0.0.10",
    )
    assert cfg.bind == ["10.0.0.11:8000"]
    assert cfg.workers == 3
    assert cfg.timeout == 45
    assert cfg.forwarded_allow_ips == ["10.0.0.10"]


def test_gunicorn_refuses_junk(monkeypatch):
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS"):
        gunicorn_settings(monkeypatch, GUNICORN_WORKERS="many")


class FakeServer:
    class log:  # noqa: N801
        @staticmethod
        def info(*args: object) -> None:
            pass


class FakeWorker:
    pid = 4242


def test_prometheus_multiprocess_hooks(monkeypatch, tmp_path):
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_999.db").write_bytes(b"stale")
    (metrics / "leftover").mkdir()
    cfg = gunicorn_settings(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(metrics))

    cfg.on_starting(FakeServer())
    assert metrics.is_dir() and list(metrics.iterdir()) == []

    dead: list[int] = []
    from prometheus_client import multiprocess

    monkeypatch.setattr(multiprocess, "mark_process_dead", dead.append)
    cfg.child_exit(FakeServer(), FakeWorker())
    assert dead == [4242]


def test_prometheus_hooks_do_nothing_without_the_directory(monkeypatch, tmp_path):
    cfg = gunicorn_settings(monkeypatch)
    dead: list[int] = []
    from prometheus_client import multiprocess

    monkeypatch.setattr(multiprocess, "mark_process_dead", dead.append)
    cfg.on_starting(FakeServer())
    cfg.child_exit(FakeServer(), FakeWorker())
    assert dead == []


# -- nginx -------------------------------------------------------------------


def load_rehearsal() -> ModuleType:
    """deploy/rehearsal as a module (it has no .py suffix; main() is not run)."""
    name = "deploy_rehearsal"
    if name in sys.modules:
        return sys.modules[name]
    loader = SourceFileLoader(name, str(REHEARSAL))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while defined
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def site_directives() -> str:
    """The site file without comments."""
    return "\n".join(
        line.split("#", 1)[0] for line in SITE_CONF.read_text().splitlines()
    )


def test_nginx_site_file_says_what_it_should():
    site = site_directives()
    upstream = re.search(r"upstream\s+capsite_app\s*\{(.*?)\}", site, re.DOTALL)
    assert upstream
    servers = re.findall(r"^\s*server\s+(\S+)\s+([^;]*);", upstream.group(1), re.M)
    assert [address for address, _ in servers] == ["10.0.0.11:8000", "10.0.0.12:8000"]
    assert all("max_fails=" in p and "fail_timeout=" in p for _, p in servers)
    assert re.search(r"^\s*keepalive\s+\d+;", upstream.group(1), re.M)
    assert re.search(r"listen\s+443\s+ssl", site)
    assert re.search(r"return\s+301\s+https://\$host\$request_uri;", site)
    for header in (
        r"Host\s+\$host",
        r"X-Forwarded-For\s+\$proxy_add_x_forwarded_for",
        r"X-Forwarded-Proto\s+\$scheme",
        r"X-Request-ID\s+\$capsite_request_id",
    ):
        assert re.search(rf"proxy_set_header\s+{header};", site), header
    # The request id is the client's own, or nginx's when it sent none.
    request_id_map = re.search(
        r"map\s+\$http_x_request_id\s+\$capsite_request_id\s*\{(.*?)\}", site, re.S
    )
    assert request_id_map and re.search(r'""\s+\$request_id;', request_id_map[1])
    # A dead server's requests go to the other; a POST that reached one is
    # never sent again.
    assert re.search(
        r"proxy_next_upstream\s+error\s+timeout\s+http_502\s+http_503;", site
    )
    assert "non_idempotent" not in site
    assert re.search(r"client_max_body_size\s+25m;", site)
    assert "location /static" not in site  # WhiteNoise in the app serves it


def test_rehearsal_rewrites_only_addresses_ports_and_paths(tmp_path):
    rehearsal = load_rehearsal()
    conf = "\n".join(
        line.split("#", 1)[0]
        for line in rehearsal.nginx_conf(SITE_CONF.read_text(), tmp_path).splitlines()
    )
    assert "10.0.0.1" not in conf and "/etc/" not in conf and "/var/log" not in conf
    assert "server 127.0.0.1:8111 max_fails=" in conf
    assert "server 127.0.0.1:8112 max_fails=" in conf
    assert "listen 127.0.0.1:8443 ssl" in conf
    assert "$upstream_addr" in conf
    assert "proxy_next_upstream error timeout http_502 http_503;" in conf


def test_rehearsal_reads_which_server_answered(tmp_path):
    rehearsal = load_rehearsal()
    log = tmp_path / "access.log"
    log.write_text(
        "1.0\trid-1\t200\tGET\t/a\t127.0.0.1:8111\t200\t0.010\n"
        "2.0\trid-2\t201\tPOST\t/b\t127.0.0.1:8112, 127.0.0.1:8111\t502, 201\t0.2\n"
        "3.0\trid-3\t502\tPOST\t/c\t127.0.0.1:8112\t502\t0.1\n"
    )
    entries = rehearsal.read_access_log(log)
    assert entries["rid-1"]["answered_by"] == "127.0.0.1:8111"
    assert entries["rid-2"]["tried"] == ["127.0.0.1:8112", "127.0.0.1:8111"]
    assert entries["rid-2"]["answered_by"] == "127.0.0.1:8111"
    assert entries["rid-3"]["status"] == "502"


@pytest.mark.skipif(
    not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
    reason="nginx is not installed (apt-get install -y nginx)",
)
@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is not installed")
def test_generated_nginx_config_passes_nginx_t(tmp_path):
    rehearsal = load_rehearsal()
    rehearsal.make_certificate(tmp_path)
    conf = tmp_path / "nginx.conf"
    conf.write_text(rehearsal.nginx_conf(SITE_CONF.read_text(), tmp_path))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(conf),
            "-e",
            str(tmp_path / "e.log"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


# -- systemd -----------------------------------------------------------------


def unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep case
    parser.read_string((UNITS / name).read_text())
    return parser["Service"]


@pytest.mark.parametrize(
    "name", ["capsite-web.service", "capsite-worker.service", "capsite-beat.service"]
)
def test_systemd_unit_runs_the_app_from_its_venv(name):
    service = unit(name)
    assert service["User"] == "capsite"
    assert service["WorkingDirectory"] == "/srv/capsite"
    assert service["EnvironmentFile"] == "/etc/capsite/env"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "true"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "true"
    assert service["ReadWritePaths"]
    argv = shlex.split(service["ExecStart"])
    program = Path(argv[0])
    assert program.parent == Path("/srv/capsite/.venv/bin")
    # The same program exists in this checkout's venv (the real module names).
    assert (Path(sys.prefix) / "bin" / program.name).exists(), program.name


def test_web_unit_serves_capsite_wsgi_with_the_config_file():
    service = unit("capsite-web.service")
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == "gunicorn"
    assert argv[argv.index("-c") + 1] == "deploy/gunicorn.conf.py"
    assert (REPO / "deploy" / "gunicorn.conf.py").exists()
    assert argv[-1] == "capsite.wsgi"
    assert importlib.util.find_spec("capsite.wsgi") is not None
    assert "HUP" in service["ExecReload"] and "$MAINPID" in service["ExecReload"]


@pytest.mark.parametrize(
    ("name", "command"),
    [("capsite-worker.service", "worker"), ("capsite-beat.service", "beat")],
)
def test_celery_units_name_the_capsite_app(name, command):
    argv = shlex.split(unit(name)["ExecStart"])
    assert Path(argv[0]).name == "celery"
    assert argv[argv.index("-A") + 1] == "capsite"
    assert command in argv
    # `celery -A capsite` finds capsite.celery's app.
    assert importlib.util.find_spec("capsite.celery") is not None
    assert "app = Celery(" in (REPO / "capsite" / "celery.py").read_text()


def test_beat_keeps_its_schedule_where_it_may_write():
    service = unit("capsite-beat.service")
    argv = shlex.split(service["ExecStart"])
    schedule = Path(argv[argv.index("--schedule") + 1])
    writable = [Path(p) for p in service["ReadWritePaths"].split()]
    assert any(schedule.is_relative_to(path) for path in writable)


# -- the rehearsal script ----------------------------------------------------


def test_rehearsal_compiles_and_is_executable(tmp_path):
    py_compile.compile(str(REHEARSAL), cfile=str(tmp_path / "r.pyc"), doraise=True)
    assert os.access(REHEARSAL, os.X_OK)
    assert REHEARSAL.read_text().startswith("#!/usr/bin/env python3\n")


def test_rehearsal_uses_only_the_standard_library_and_requests():
    tree = ast.parse(REHEARSAL.read_text())
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    assert modules - sys.stdlib_module_names <= {"requests"}
