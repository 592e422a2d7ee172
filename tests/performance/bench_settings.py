"""Settings for the HTTP benchmark's gunicorn: production-like (DEBUG off) over plain HTTP on 127.0.0.1, plus a bare
view (bench_urls) to compare the Report an Issue endpoint with. Used only by tests/performance."""

from fulfillment.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.performance.bench_urls"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # production: enqueued for the worker
