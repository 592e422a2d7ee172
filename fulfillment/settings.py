"""Settings for Store Fulfillment.

Everything that differs between a laptop and production comes from the environment:
``SECRET_KEY``, ``DEBUG``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` (PostgreSQL via psycopg 3; a SQLite file when unset),
``TASKS_BACKEND`` (``immediate`` by default, ``database`` for django-tasks-db with its worker), email (``EMAIL_HOST``,
``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``, ``EMAIL_USE_TLS``, ``DEFAULT_FROM_EMAIL``; the console
backend unless ``EMAIL_HOST`` is set), the customer emails' settings below,
``SESSION_HOURS`` (how long a login lasts: one shift, 12 by default), ``SESSION_EXPIRE_AT_BROWSER_CLOSE`` (on by default),
``TRUSTED_PROXY_COUNT`` (reverse proxies in front of the app whose ``X-Forwarded-For`` the login throttle trusts; 0).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "fulfillment.admin_apps.AdminConfig",  # django.contrib.admin with the project's checks on every admin view
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "django_filters",
    "django_tasks_db",
    "axes",
    "inventory",
    "routing",
    "fulfillment",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "fulfillment.middleware.RequestBodyLimitMiddleware",
    "fulfillment.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "fulfillment.middleware.NoStoreMiddleware",
    # last: turns a locked-out login attempt into the lock-out page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fulfillment.urls"
WSGI_APPLICATION = "fulfillment.wsgi.application"

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
                "fulfillment.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Health checks: a persistent connection the database dropped (a restart) is replaced before a request uses it.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")), conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # BEGIN IMMEDIATE: a writer takes the write lock when its transaction starts, so concurrent
                # writers queue instead of failing with "database is locked" half-way through.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if IS_POSTGRES:
    # No JIT: it compiles a query for 50-100 ms, and this app's queries (pages, rejections, routing batches) are short.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if not IS_POSTGRES:
    INSTALLED_APPS.remove("django.contrib.postgres")
    # The routing index's INCLUDE columns (inventory_level_routing_idx) serve PostgreSQL's index-only scans; SQLite
    # keeps the index without them, which is all it needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before the password is checked (it needs the request, which
# the login view passes; tests log in with force_login or through the login page).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: 5 failures for one username from one address within 15 minutes lock that pair out, and 20 from one
# address whatever the usernames lock the address out, for 15 minutes after the last failure (fulfillment/login_limits.py;
# fulfillment/views/auth.py renders the page that says until when).
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
AXES_FAILURE_LIMIT = "fulfillment.login_limits.failure_limit"
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "fulfillment.views.auth.locked_out"
AXES_VERBOSE = False
# The client address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies in front of the app set X-Forwarded-For
# (then the address that the nearest of them saw). A header a client sets itself is never trusted.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# Request bodies (the app takes no uploads; every form is a few fields): a declared body above REQUEST_BODY_MAX_BYTES is
# refused with 413 before it is read (RequestBodyLimitMiddleware); Django's caps bound what is parsed: form data in
# memory, the number of fields, and no file parts at all (a file part is a 400).
REQUEST_BODY_MAX_BYTES = int(os.environ.get("REQUEST_BODY_MAX_BYTES", str(2 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000  # an admin changelist saves up to 100 rows of a few fields each
DATA_UPLOAD_MAX_NUMBER_FILES = 0
FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

# Store devices are shared: a login lasts one shift and ends when the browser closes.
SESSION_COOKIE_AGE = int(float(os.environ.get("SESSION_HOURS", "12")) * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Development serves static files straight from the finders (no collectstatic needed); production from STATIC_ROOT.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "immediate")
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend"
        if TASKS_BACKEND == "database"
        else "django.tasks.backends.immediate.ImmediateBackend",
    }
}

# Email (Django 6.1 MAILERS): printed to the console in development (DEBUG on, no EMAIL_HOST); SMTP otherwise (EMAIL_HOST,
# default localhost), or the backend EMAIL_BACKEND names. The environment variables keep their classic names.
_EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
_EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG and not _EMAIL_HOST else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": {
            "host": _EMAIL_HOST or "localhost",
            "port": int(os.environ.get("EMAIL_PORT", "587")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", True),
            "timeout": int(os.environ.get("EMAIL_TIMEOUT", "20")),
        }
        if _EMAIL_BACKEND.endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Store Fulfillment <orders@localhost>")
# Customer emails: the links in them point here; the store's contact address shown when a link cannot be used.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CUSTOMER_SERVICE_EMAIL = os.environ.get("CUSTOMER_SERVICE_EMAIL", "help@localhost")
PICKUP_CHOICE_LINK_DAYS = int(os.environ.get("PICKUP_CHOICE_LINK_DAYS", "7"))  # a pickup-choice link expires after this
NOTIFICATION_SEND_ATTEMPTS = int(os.environ.get("NOTIFICATION_SEND_ATTEMPTS", "3"))  # a failed send is retried up to this
NOTIFICATION_RETRY_SECONDS = int(os.environ.get("NOTIFICATION_RETRY_SECONDS", "300"))  # between attempts (database tasks)
OPERATIONS_DIGEST_TO = [a.strip() for a in os.environ.get("OPERATIONS_DIGEST_TO", "").split(",") if a.strip()]

# Reject All jobs: a RUNNING job whose heartbeat (written with every batch) is older than this many seconds lost its
# worker and is resumed (by `run_worker`, or `manage.py resume_bulk_rejections`); after this many attempts it is FAILED.
BULK_REJECTION_STALE_AFTER = int(os.environ.get("BULK_REJECTION_STALE_SECONDS", "120"))
BULK_REJECTION_MAX_ATTEMPTS = int(os.environ.get("BULK_REJECTION_MAX_ATTEMPTS", "3"))
# On PostgreSQL a running job also holds a lease (an advisory lock) the database frees when its worker dies: the next
# sweep (run_worker: every 2 s) resumes it at once. The page says "paused — resuming" after this many seconds without
# a committed batch.
BULK_REJECTION_PAUSED_SECONDS = int(os.environ.get("BULK_REJECTION_PAUSED_SECONDS", "5"))

# Content-Security-Policy (Django's own middleware): scripts and styles only from our static files, no inline code
# (htmx's inline indicator style is off in base.html's htmx-config), no framing.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"

# Production hardening: on whenever DEBUG is off (`manage.py check --deploy` is clean then).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
