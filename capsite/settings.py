"""Django settings for capsite, read from the environment and `.env`.

Defaults make `make run` work with SQLite and no `.env`; production sets
DJANGO_DEBUG=false, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL,
REDIS_URL and CELERY_BROKER_URL. `.env.example` lists every setting.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# A `.env` file fills in what the process's environment does not set (the
# environment wins). DJANGO_ENV_FILE names another file.
ENV_FILE = Path(os.environ.get("DJANGO_ENV_FILE", BASE_DIR / ".env"))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"


def envbool(name: str, default: str) -> bool:
    """Parse a boolean variable strictly: junk is a configuration error."""
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envdecimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name, default)
    try:
        return Decimal(raw)
    except ArithmeticError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from exc


def envlist(name: str, default: str) -> list[str]:
    return [
        item.strip()
        for item in os.environ.get(name, default).split(",")
        if item.strip()
    ]


def weak_secret(key: str) -> str | None:
    """Say why ``key`` is unfit to sign production sessions, or None when it is fit.

    The same bar as Django's own deploy check (security.W009), so a key that
    starts the site never draws that warning.
    """
    if key == DEV_SECRET_KEY or key.startswith("django-insecure-"):
        return "it is a development key"
    if len(key) < 50:
        return f"it has {len(key)} characters, fewer than 50"
    if len(set(key)) < 5:
        return f"it uses only {len(set(key))} different characters"
    return None


DEBUG = envbool("DJANGO_DEBUG", "true")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and (why := weak_secret(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY is refused with DJANGO_DEBUG off: {why}. Make one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "rest_framework.authtoken",
    "axes",
    "django_prometheus",
    "django_guid",
    "capsite",
    "valuations",
    "portfolios",
    "alerts",
    "jobs",
    "knox",
    "tokens",
    "sharing",
    "accounts",
]
# Named API tokens (tokens app): knox tokens with a name, a scope and last use.
KNOX_TOKEN_MODEL = "tokens.ApiToken"
# knox's own migrations predate its swappable model and would create an unused
# knox_authtoken table (whose key to auth_user stops PostgreSQL truncating it).
MIGRATION_MODULES = {"knox": None}

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id first, so every log line of the request carries it.
    "django_guid.middleware.guid_middleware",
    "capsite.observability.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before axes, so it counts the lock-out page's 429 that axes makes.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, so it turns a lockout flagged during the view into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "capsite.urls"
WSGI_APPLICATION = "capsite.wsgi.application"
ASGI_APPLICATION = "capsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Ahead of the apps so registration/ pages beat the admin's own copies.
        "DIRS": [BASE_DIR / "capsite" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "alerts.context.unread_count",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite under several gunicorn workers: write-ahead logging lets reads go on
    # beside a write; BEGIN IMMEDIATE takes the write lock when a transaction
    # starts (never upgrading mid-way, which fails at once with "database is
    # locked"); a waiting writer waits up to the busy timeout. One machine only.
    SQLITE_BUSY_SECONDS = int(os.environ.get("SQLITE_BUSY_SECONDS", "20"))
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": SQLITE_BUSY_SECONDS,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000};"
        ),
        **DATABASES["default"].get("OPTIONS", {}),
    }
# The same backends, wrapped to count queries and errors for /metrics.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "capsite",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation." + name}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

# Accounts: Django's auth views under /accounts/, guarded by django-axes.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/portfolios/"
LOGOUT_REDIRECT_URL = "/"
# Lock a username from one IP address after this many failures, for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The lock-out page (HTML and admin) answers 429 with Retry-After.
AXES_LOCKOUT_CALLABLE = "capsite.accounts.lockout_response"
# The client's address, by the same rule as API throttling (capsite.clientip).
AXES_CLIENT_IP_CALLABLE = "capsite.clientip.client_ip"

# Mail (password resets). Development prints messages on the console.
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get(
    "DJANGO_DEFAULT_FROM_EMAIL", "capsite <noreply@localhost>"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
# For DJANGO_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Pages use only the app's own static files and inline SVG: nothing external.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Proxies (load balancers) in front of the app. Their number says how many
# X-Forwarded-For entries, counted from the right, were added by proxies we run:
# the one before them is the client. 0 (no proxy) ignores the header, so nobody
# can pick their own address. One rule for API throttling and login lock-out.
CAPSITE_TRUSTED_PROXIES = int(os.environ.get("CAPSITE_TRUSTED_PROXIES", "0"))
if CAPSITE_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("CAPSITE_TRUSTED_PROXIES must be 0 or more.")

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# The TLS proxy says "https" in X-Forwarded-Proto; trust it only behind one.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if envbool("DJANGO_BEHIND_TLS_PROXY", "false")
    else None
)
# In production every page is HTTPS: plain HTTP is redirected, and browsers
# are told (HSTS) to use nothing else for a year. Probes stay on plain HTTP.
SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", str(not DEBUG))
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "true"
)
SECURE_HSTS_PRELOAD = envbool("DJANGO_SECURE_HSTS_PRELOAD", "true")

# Logs: one JSON object per line (timestamp, level, logger, message, request_id,
# user_id and a request's fields) in production; plain lines with DEBUG on.
# LOG_FORMAT=json|text overrides.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "django_guid.log_filters.CorrelationId"},
        "user_id": {"()": "capsite.logcontext.UserIdFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {
                "asctime": "timestamp",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
            "timestamp": False,
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
        "text": {
            "format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: "
            "%(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "user_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # The access log says it once, with the request id: no second line.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},
    },
}
# Request ids: taken from X-Request-ID when it is a UUID (nginx's $request_id
# is), made otherwise, echoed in the response and passed on to Celery tasks.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
    "IGNORE_URLS": ["healthz", "readyz", "metrics"],
}
# /metrics is open unless this is set; then it wants "Authorization: Bearer <token>".
CAPSITE_METRICS_TOKEN = os.environ.get("CAPSITE_METRICS_TOKEN", "")

# Market-cap tiers (USD). The boundary belongs to the upper tier.
CAPSITE_TIER_LARGE_MIN = envdecimal("CAPSITE_TIER_LARGE_MIN", "10000000000")
CAPSITE_TIER_MID_MIN = envdecimal("CAPSITE_TIER_MID_MIN", "1000000000")
# Volume ÷ market cap liquidity bands.
CAPSITE_LIQUIDITY_HIGH_ABOVE = envdecimal("CAPSITE_LIQUIDITY_HIGH_ABOVE", "1.0")
CAPSITE_LIQUIDITY_LOW_BELOW = envdecimal("CAPSITE_LIQUIDITY_LOW_BELOW", "0.1")
# The thin-market warning (PRODUCT.md): below either, a market cap is unreliable.
CAPSITE_THIN_MIN_VOLUME = envdecimal("CAPSITE_THIN_MIN_VOLUME", "100000")
CAPSITE_THIN_MIN_TURNOVER = envdecimal("CAPSITE_THIN_MIN_TURNOVER", "0.002")
# Data quality (PRODUCT.md): a provider's market cap more than this fraction away
# from price × circulating is flagged cap_mismatch; circulating supply above the
# max or total by more than this fraction is flagged supply_above_max (less is a
# rounding leftover, accepted silently).
CAPSITE_CAP_TOLERANCE = envdecimal("CAPSITE_CAP_TOLERANCE", "0.02")
CAPSITE_SUPPLY_TOLERANCE = envdecimal("CAPSITE_SUPPLY_TOLERANCE", "0.0001")
# Market data older than this many seconds is flagged as stale on pages and in the API.
CAPSITE_STALE_AFTER = int(os.environ.get("CAPSITE_STALE_AFTER", "3600"))
# Seconds a transaction may lie ahead of the server clock (a phone's clock skew).
CAPSITE_CLOCK_SKEW = int(os.environ.get("CAPSITE_CLOCK_SKEW", "300"))
# A holding valued at a price older than this many days is flagged stale.
CAPSITE_PRICE_STALE_DAYS = int(os.environ.get("CAPSITE_PRICE_STALE_DAYS", "7"))
CAPSITE_PAGE_SIZE = int(os.environ.get("CAPSITE_PAGE_SIZE", "100"))

# Live market-data API (CoinGecko-compatible).
MARKET_DATA_URL = os.environ.get("MARKET_DATA_URL", "https://api.coingecko.com/api/v3")
MARKET_DATA_API_KEY = os.environ.get("MARKET_DATA_API_KEY", "")
# x-cg-demo-api-key for CoinGecko's demo plan, x-cg-pro-api-key for a paid plan.
MARKET_DATA_API_KEY_HEADER = os.environ.get(
    "MARKET_DATA_API_KEY_HEADER", "x-cg-demo-api-key"
)
MARKET_DATA_TIMEOUT = float(os.environ.get("MARKET_DATA_TIMEOUT", "10"))  # seconds
MARKET_DATA_RETRIES = int(os.environ.get("MARKET_DATA_RETRIES", "3"))
MARKET_DATA_BACKOFF = float(os.environ.get("MARKET_DATA_BACKOFF", "0.5"))
# Longest Retry-After (seconds) honoured from the API.
MARKET_DATA_MAX_RETRY_AFTER = float(os.environ.get("MARKET_DATA_MAX_RETRY_AFTER", "60"))
# Seconds for a whole refresh: every page, retry and wait between retries.
MARKET_DATA_DEADLINE = float(os.environ.get("MARKET_DATA_DEADLINE", "120"))
# Largest answer read for one page, in bytes.
MARKET_DATA_MAX_BYTES = int(os.environ.get("MARKET_DATA_MAX_BYTES", "20000000"))

# Background work on Celery (capsite.celery, capsite.jobs). Without a broker,
# tasks run in the web process: in a background thread, or at once with
# CAPSITE_JOBS_INLINE (tests and commands).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = None  # a task's outcome is its Job row or ImportRun
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is run again
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "1800"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CAPSITE_JOBS_INLINE = envbool("CAPSITE_JOBS_INLINE", "false")
# celery beat: the live market refresh every MARKET_DATA_REFRESH_SECONDS.
MARKET_DATA_PAGES = int(os.environ.get("MARKET_DATA_PAGES", "1"))
MARKET_DATA_REFRESH_SECONDS = float(
    os.environ.get("MARKET_DATA_REFRESH_SECONDS", "600")
)
CELERY_BEAT_SCHEDULE = {
    "market-refresh": {
        "task": "valuations.refresh_markets",
        "schedule": MARKET_DATA_REFRESH_SECONDS,
        # A refresh still queued when the next is due is dropped, not piled up.
        "options": {"expires": MARKET_DATA_REFRESH_SECONDS * 0.9},
    }
}
# One queue name per deployment, so two sharing a Redis never take each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "capsite")
# A ledger file longer than this many lines is imported as a job with progress
# (page and API); the API also takes `Prefer: respond-async` for any file.
CAPSITE_IMPORT_JOB_LINES = int(os.environ.get("CAPSITE_IMPORT_JOB_LINES", "2000"))

# Alerts (the alerts app): links in emails and webhooks are made absolute with
# this address; webhooks to private or loopback addresses are refused unless
# allowed (a user could otherwise make the servers probe the inside network).
CAPSITE_SITE_URL = os.environ.get("CAPSITE_SITE_URL", "").rstrip("/")
CAPSITE_WEBHOOK_ALLOW_PRIVATE = envbool("CAPSITE_WEBHOOK_ALLOW_PRIVATE", "false")

# Portfolio risk flags.
CAPSITE_RISK_DILUTION_ABOVE = envdecimal("CAPSITE_RISK_DILUTION_ABOVE", "2")
CAPSITE_RISK_UNLOCK_DAYS = int(os.environ.get("CAPSITE_RISK_UNLOCK_DAYS", "30"))
CAPSITE_RISK_CONCENTRATION_ABOVE = envdecimal("CAPSITE_RISK_CONCENTRATION_ABOVE", "50")

# REST API (Django REST framework).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # `Token <key>`: named tokens (tokens app) and the legacy single ones.
        "tokens.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "capsite.api.Pagination",
    # JSON bodies only: one request schema per operation, which generated
    # clients need (the token endpoint and file imports say otherwise).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_RENDERER_CLASSES": [
        "capsite.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "capsite.schema.AutoSchema",
    "EXCEPTION_HANDLER": "capsite.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    # Counted in the default cache: shared across processes when REDIS_URL is set.
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("CAPSITE_API_ANON_RATE", "120/min"),
        "user": os.environ.get("CAPSITE_API_USER_RATE", "600/min"),
    },
    "COERCE_DECIMAL_TO_STRING": True,
    # X-Forwarded-For entries added by our own proxies (see CAPSITE_TRUSTED_PROXIES).
    "NUM_PROXIES": CAPSITE_TRUSTED_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "capsite API",
    "DESCRIPTION": (
        "Market data, valuation metrics and portfolios by market-cap tier. Money, "
        "quantities, ratios and percentages are exact decimals sent as strings; "
        "percentages are 0–100."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tags by area (assets, market, portfolios, jobs, …), not one "v1" for all.
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "capsite.schema.finish",
    ],
}
