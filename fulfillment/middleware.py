"""Middleware of the app.

- ``DatabaseUnavailableMiddleware``: a request that meets a broken database connection (PostgreSQL restarting, a dropped
  connection) gets a clear 503 page with Retry-After instead of a 500. Django closes the broken connection when the
  request ends, and CONN_HEALTH_CHECKS makes the next request on that worker reconnect.
- ``NoStoreMiddleware``: ``Cache-Control: no-store`` on every page.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.views import defaults

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10
MESSAGE = "The store system cannot reach its database for a moment. Nothing was saved by this request; try again in a few seconds."


def database_unavailable_response(request: HttpRequest | None = None) -> HttpResponse:
    """503 + Retry-After, rendered without touching the database (no user, no session, no context processors)."""
    body = render_to_string("503.html", {"message": MESSAGE, "retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    if request is not None and request.headers.get("HX-Request"):
        response["HX-Reswap"] = "none"  # keep the page as it is; app.js shows the message
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            logger.warning("Database unavailable during %s %s: %s", request.method, request.path, exception)
            return database_unavailable_response(request)
        return None


def is_database_unavailable(exception: BaseException | None) -> bool:
    """A connection error, or an error raised while handling one (the session backend turns it into UpdateError)."""
    seen = 0
    while exception is not None and seen < 10:
        if isinstance(exception, DATABASE_ERRORS):
            return True
        exception = exception.__cause__ or exception.__context__
        seen += 1
    return False


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """handler500: a database error raised outside a view (a middleware saving the session) is a 503 too."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return defaults.server_error(request, *args, **kwargs)


def bad_request(request: HttpRequest, exception: Exception, *args, **kwargs) -> HttpResponse:
    """handler400: "session interrupted" because the session could not be saved to an unreachable database is a 503."""
    if is_database_unavailable(exception):
        return database_unavailable_response(request)
    return defaults.bad_request(request, exception, *args, **kwargs)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (and no-cache, private) on every page the app renders.

    Pages behind the login show orders, customers and their addresses; store devices are shared, so no browser or
    proxy may keep a copy (the Back button after logging out must not show them). Static files are served by WhiteNoise
    before this middleware and keep their long-lived caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class RequestBodyLimitMiddleware:
    """Refuse a request body above ``REQUEST_BODY_MAX_BYTES`` with 413, by its declared length, before anything reads
    it (and a Content-Length that is not a number with 400). The app takes no uploads; Django's own caps
    (``DATA_UPLOAD_MAX_*``, settings) bound what a body may hold once read. A proxy's limit is a second fence, not
    the only one."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.limit = settings.REQUEST_BODY_MAX_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isascii() or not declared.isdigit():
            return HttpResponse("Content-Length must be a number of bytes.", status=400, content_type="text/plain")
        if int(declared) > self.limit:
            return HttpResponse(
                f"The request is too large (at most {self.limit} bytes).", status=413, content_type="text/plain"
            )
        return self.get_response(request)
