"""`/healthz` for load balancers: a database round trip; no login, no data; 200 "ok" or 503."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from fulfillment.middleware import DATABASE_ERRORS, RETRY_AFTER_SECONDS


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DATABASE_ERRORS:
        return HttpResponse(
            "database unavailable\n", status=503, content_type="text/plain",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"},
        )
    return HttpResponse("ok\n", content_type="text/plain", headers={"Cache-Control": "no-store"})
