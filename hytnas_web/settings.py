"""Django settings: the one module that reads the environment.

Every variable is documented in README.md. The defaults let a fresh checkout run on SQLite with an
embedded Redis; bad values fail loudly at start-up rather than halfway through a request.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Generic Django classes (ModelAdmin[Study], QuerySet[Study]) subscriptable at run time, as typed.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_str(name: str, default: str) -> str:
    """A text variable, ``default`` when unset or empty."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off (any case)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected true or false")


def env_int(name: str, default: int, low: int = 0) -> int:
    """A whole-number variable of at least ``low``."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None
    if value < low:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be at least {low}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("HYTNAS_REQUIRE_SECRET_KEY"):
        raise ImproperlyConfigured("SECRET_KEY must be set")
    # A per-checkout key kept under var/, so sessions survive restarts without a key in the code.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "hytnas_web.studies.apps.StudiesConfig",
    "csp",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: it turns a lockout into its page
]

ROOT_URLCONF = "hytnas_web.urls"
WSGI_APPLICATION = "hytnas_web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "hytnas_web.lib.plotly_assets.context",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'hytnas.sqlite3'}")
# Persistent connections are checked before reuse: after a database restart or failover a worker's
# next job opens a new connection instead of failing on the dead one (workers also close stale ones).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers work while a job writes; IMMEDIATE takes the write lock at BEGIN, so two
    # writers queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    # Connections persist as on PostgreSQL: opening one (and its PRAGMAs) was most of a cheap poll's cost.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # Tests run real worker processes, which must open the same test database: a file, not memory.
    DATABASES["default"]["TEST"] = {"NAME": env_str("HYTNAS_TEST_DB_NAME", str(VAR_DIR / "test.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED_REDIS_PORT = env_int("HYTNAS_REDIS_PORT", 6390, low=1)
if not REDIS_URL:
    # The embedded server (hytnas_web.lib.embedded_redis) listens here when REDIS_URL is unset.
    REDIS_URL = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    EMBEDDED_REDIS = True
else:
    EMBEDDED_REDIS = False

# Connect and read time-outs for the queues' connections (unless REDIS_URL sets its own), so an unreachable
# Redis fails an enqueue in seconds instead of hanging a request; RQ workers raise the read time-out
# for their blocking pop themselves. The health check pings a connection idle for 30 s before reuse.
REDIS_CLIENT_OPTIONS = {"socket_connect_timeout": 5, "socket_timeout": 10, "health_check_interval": 30}


def _with_redis_timeouts(url: str) -> str:
    """``url`` with ``REDIS_CLIENT_OPTIONS`` added as query parameters, where it does not set them."""
    extra = [f"{name}={value}" for name, value in REDIS_CLIENT_OPTIONS.items() if f"{name}=" not in url]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


RQ_REDIS_URL = _with_redis_timeouts(REDIS_URL)

ITERATION_QUEUE = "iterations"
# One job per architecture for evaluators that take seconds or more (torch): any RQ worker that
# reaches this Redis and the database may take them, on this machine or another.
EVALUATION_QUEUE = "evaluations"
RQ_QUEUES = {
    "default": {"URL": RQ_REDIS_URL, "DEFAULT_TIMEOUT": 3600},
    ITERATION_QUEUE: {"URL": RQ_REDIS_URL, "DEFAULT_TIMEOUT": 6 * 3600},
    EVALUATION_QUEUE: {"URL": RQ_REDIS_URL, "DEFAULT_TIMEOUT": 25 * 3600},
}
# The queues a worker started by runstack listens to, in priority order.
WORKER_QUEUES = (ITERATION_QUEUE, EVALUATION_QUEUE, "default")
# Workers started with plain `manage.py rqworker` reconcile the queue with the database first.
RQ = {"WORKER_CLASS": "hytnas_web.studies.worker.ReconcilingWorker"}
WORKERS = env_int("HYTNAS_WORKERS", 2, low=1)
HEARTBEAT_STALE_SECONDS = env_int("HYTNAS_HEARTBEAT_STALE_SECONDS", 60, low=5)
RECONCILE_EVERY_SECONDS = env_int("HYTNAS_RECONCILE_EVERY_SECONDS", 30, low=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studies-list"
LOGOUT_REDIRECT_URL = "login"

# --- Security: HTTPS, Content-Security-Policy, login attempts (README "Production settings") ---
# Off by default: `make run` serves plain HTTP on 127.0.0.1. With HYTNAS_HTTPS=true the cookies are
# sent over HTTPS only, plain HTTP is redirected, and browsers are told to use HTTPS for a year
# (HSTS), which is what `check --deploy` asks for.
HTTPS = env_bool("HYTNAS_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("HYTNAS_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = env_int("HYTNAS_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HYTNAS_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("HYTNAS_HSTS_PRELOAD", HTTPS)
# Behind a proxy that ends TLS, Django sees plain HTTP: trust the proxy's X-Forwarded-Proto (and take
# the client's address from the X-Forwarded-For entry it appended) only when told one is in front,
# since without such a proxy any client could send those headers.
BEHIND_PROXY = env_bool("HYTNAS_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Django 5.2 has no Content-Security-Policy of its own (6.0 adds one, modelled on django-csp 4).
# Every script and style is a file served from 'self'; json_script blocks are data, not scripts.
# No inline script runs. Styles allow a few hashes, each of a fixed text plotly.js itself writes:
# the empty string (the empty <style> element it fills through the CSSOM, which no policy governs,
# and style="" on colour-bar rectangles) and the style attributes it gives formatted chart text
# (<sub>, <b>, <i>, ...: svg_text_utils' TAG_STYLES). 'unsafe-hashes' lets those hashes match
# style attributes. Only those exact texts pass; any other inline style is refused. plotly.js's
# map stylesheet is kept out by templatetags/plotly_csp.py.
PLOTLY_TEXT_STYLES = (
    "",
    "font-size:70%",
    "text-decoration:line-through",
    "text-decoration:underline",
    "font-weight:bold",
    "font-style:italic",
    "cursor:pointer",
    "font-style:italic;font-weight:bold",
)


def csp_hash(text: str) -> str:
    """The CSP source that allows exactly ``text`` inline: ``'sha256-<base64 digest>'``."""
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-hashes'", *(csp_hash(style) for style in PLOTLY_TEXT_STYLES)],
        "img-src": ["'self'", "blob:"],  # plotly's image export loads its SVG from a blob: URL
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Password guessing: django-axes counts failed sign-ins in the database (shared by every web
# process), per user name and, separately, per client address; either reaching the limit refuses
# sign-in (even with the right password) until the cool-off has passed since the last failure.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("HYTNAS_LOGIN_FAILURE_LIMIT", 5, low=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("HYTNAS_LOGIN_COOLOFF_MINUTES", 15, low=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True  # a successful sign-in clears that user's and address's failures
AXES_LOCKOUT_CALLABLE = "hytnas_web.lib.login_limits.lockout_response"
AXES_CLIENT_IP_CALLABLE = "hytnas_web.lib.login_limits.client_ip"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("HYTNAS_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
WHITENOISE_USE_FINDERS = True  # serve from the app folders too, before (or without) collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "hytnas_web.lib.plotly_assets.PlotlyJSFinder",  # plotly.js from the installed plotly package
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Content-hashed, compressed names once collected (see hytnas_web.lib.static_storage).
    "staticfiles": {"BACKEND": "hytnas_web.lib.static_storage.VersionedStaticStorage"},
}

# Cache and sessions: Redis (the queues' server unless HYTNAS_CACHE_URL says otherwise), under their
# own key prefixes. A Redis error is a miss (hytnas_web.lib.resilient_cache): pages fall back to the
# database. Sessions live in the database and are read from the cache; their cached copy lives at most
# SESSION_CACHE_SECONDS, which bounds a stale copy's life if a logout's cache delete was lost.
CACHE_URL = env_str("HYTNAS_CACHE_URL", REDIS_URL)
SESSION_CACHE_SECONDS = env_int("HYTNAS_SESSION_CACHE_SECONDS", 300, low=1)
_CACHE_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry_after": 5.0}
CACHES = {
    "default": {
        "BACKEND": "hytnas_web.lib.resilient_cache.ResilientRedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "hytnas-cache",
        "TIMEOUT": 300,
        "OPTIONS": _CACHE_OPTIONS,
    },
    "sessions": {
        "BACKEND": "hytnas_web.lib.resilient_cache.ResilientRedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "hytnas-session",
        "OPTIONS": {**_CACHE_OPTIONS, "max_timeout": SESSION_CACHE_SECONDS},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "sessions"

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
MAX_TABLE_UPLOAD_BYTES = env_int("HYTNAS_MAX_TABLE_UPLOAD_BYTES", 5 * 1024 * 1024, low=1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
