"""Production settings: strong secrets only, HTTPS enforced, `.env` read, a clean deploy check.

Each case starts a fresh interpreter, since settings are read once at start-up.
Before issue 13 a secret of 32 ``a``s or a ``django-insecure-`` key started the
site, HSTS and the SSL redirect could not be turned on, and `.env` was ignored.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STRONG = secrets.token_urlsafe(50)
PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
    "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, "
    "s.REST_FRAMEWORK['NUM_PROXIES'], s.CAPSITE_TRUSTED_PROXIES)"
)


def _run(args: list[str], env: dict[str, str], tmp_path: Path):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CAPSITE_", "DATABASE_", "REDIS_", "CELERY_"))
    }
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "capsite.settings",
            # No stray .env of a developer's checkout.
            "DJANGO_ENV_FILE": str(tmp_path / "absent.env"),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _production(**extra: str) -> dict[str, str]:
    return {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": STRONG, **extra}


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("a" * 32, "fewer than 50"),
        ("ab" * 30, "only 2 different characters"),
        ("django-insecure-" + secrets.token_urlsafe(50), "development key"),
        ("dev-only-insecure-key-do-not-use-in-production", "development key"),
    ],
)
def test_production_refuses_to_start_with_a_weak_secret(key, reason, tmp_path):
    done = _run(
        ["-c", PRINT], {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": key}, tmp_path
    )

    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is refused" in done.stderr
    assert reason in done.stderr


def test_production_turns_on_https_redirect_and_hsts_by_default(tmp_path):
    done = _run(["-c", PRINT], _production(), tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "False",
        "True",
        "31536000",
        "True",
        "True",
        "0",
        "0",
    ]


def test_https_settings_and_the_proxy_count_come_from_the_environment(tmp_path):
    env = _production(
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="600",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        DJANGO_SECURE_HSTS_PRELOAD="false",
        CAPSITE_TRUSTED_PROXIES="2",
    )

    done = _run(["-c", PRINT], env, tmp_path)

    assert done.stdout.split() == ["False", "False", "600", "False", "False", "2", "2"]


def test_development_keeps_plain_http(tmp_path):
    done = _run(["-c", PRINT], {}, tmp_path)

    assert done.stdout.split()[:3] == ["True", "False", "0"]


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"DJANGO_DEBUG=false\nDJANGO_SECRET_KEY={STRONG}\nCAPSITE_TRUSTED_PROXIES=1\n"
    )

    from_file = _run(["-c", PRINT], {"DJANGO_ENV_FILE": str(env_file)}, tmp_path)
    overridden = _run(
        ["-c", PRINT],
        {"DJANGO_ENV_FILE": str(env_file), "CAPSITE_TRUSTED_PROXIES": "3"},
        tmp_path,
    )

    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.split()[0] == "False"  # DEBUG off, as the file says
    assert from_file.stdout.split()[-1] == "1"
    assert overridden.stdout.split()[-1] == "3"


def test_the_example_env_file_names_every_setting_read_from_the_environment():
    example = (ROOT / ".env.example").read_text()
    settings_source = (ROOT / "capsite" / "settings.py").read_text()
    import re

    read = set(re.findall(r"""env\w*\(\s*["']([A-Z][A-Z0-9_]+)["']""", settings_source))
    read |= set(
        re.findall(
            r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", settings_source
        )
    )
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))

    assert read, "the pattern found no settings: the test would pass vacuously"
    assert read - listed == set()


def test_the_deploy_check_has_no_warning_with_production_settings(tmp_path):
    env = _production(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/capsite",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/1",
        DJANGO_ALLOWED_HOSTS="capsite.example",
    )

    done = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, tmp_path
    )

    assert done.returncode == 0, done.stderr + done.stdout
    assert "System check identified no issues (0 silenced)." in done.stdout
