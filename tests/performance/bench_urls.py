"""The application's URLs plus `/bench/bare-write/`: a bare Django view that runs one write transaction (the HTTP
benchmark's yardstick). Only the benchmark's gunicorn serves these (tests.performance.bench_settings)."""

from django.db import connection, transaction
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from fulfillment.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def bare_write(request):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_hit (at) VALUES (now())")
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare-write/", bare_write), *app_urlpatterns]
