"""A request that meets a broken database connection gets a 503 page with Retry-After, not a 500; /healthz."""

from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@contextmanager
def database_gone(only=None):
    """Every statement (or those containing `only`) fails as on a connection PostgreSQL dropped while restarting."""

    def fail(execute, sql, params, many, context):
        if only is None or only in sql:
            raise OperationalError("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield


@pytest.fixture
def associate(client):
    user = UserFactory(username="mw-associate")
    client.membership = MembershipFactory(user=user)
    client.force_login(user)
    return client


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "10" and "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "Back in a moment" in body and "cannot reach its database" in body and "Nothing was saved" in body


def test_a_page_that_meets_a_broken_connection_answers_503_with_retry_after(associate):
    assert associate.get(reverse("orders-open")).status_code == 200
    with database_gone():
        assert_unavailable(associate.get(reverse("orders-open")))
        hx = associate.get(reverse("orders-open"), HTTP_HX_REQUEST="true")
        assert_unavailable(hx)
        assert hx["HX-Reswap"] == "none"  # htmx keeps the page; app.js shows the message
    assert associate.get(reverse("orders-open")).status_code == 200  # and back once the database is


def test_a_login_that_meets_a_broken_connection_answers_503():
    client = Client()
    with database_gone():
        assert_unavailable(client.post(reverse("login"), {"username": "someone", "password": "x" * 12}))


def test_a_failure_outside_the_view_saving_the_session_is_a_503_too(associate):
    """The session is written by a middleware after the view: handler500 turns that database error into a 503."""
    associate.raise_request_exception = False
    session = associate.session
    session["something"] = "changed"
    session.save()
    with database_gone(only='UPDATE "django_session"'):
        response = associate.post(reverse("facility-switch"), {"facility": str(associate.membership.facility_id)})
    assert_unavailable(response)


def test_other_errors_are_still_500s(associate, monkeypatch):
    """Only database connection errors are a 503: a bug stays a bug (500, logged)."""
    from fulfillment.views import orders

    associate.raise_request_exception = False

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(orders, "page_context", broken)
    assert associate.get(reverse("orders-open")).status_code == 500


def test_healthz_is_a_database_round_trip_without_login(django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n" and "no-store" in response["Cache-Control"]
    assert not response.cookies  # no session, no data
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
    with database_gone():
        down = client.get("/healthz")
    assert down.status_code == 503 and down.content == b"database unavailable\n" and down["Retry-After"] == "10"


def test_connection_health_checks_are_on(settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


# -- request body caps -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_big_anonymous_multipart_body_to_the_login_page_is_refused():
    """An anonymous 50 MB multipart body to /login/ was accepted (streamed to a temporary file); the app takes no
    uploads, so a body above REQUEST_BODY_MAX_BYTES is refused with 413 before it is read, and a file part with 400."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    big = SimpleUploadedFile("big.bin", b"x" * (3 * 1024 * 1024))
    response = client.post("/login/", {"username": "a", "password": "b", "file": big})
    assert response.status_code == 413

    small = SimpleUploadedFile("small.bin", b"x" * 10)
    response = client.post("/login/", {"username": "a", "password": "b", "file": small})
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_declared_length_above_the_cap_is_refused_without_reading_the_body():
    client = Client()
    response = client.generic("POST", "/login/", b"username=a", CONTENT_TYPE="application/x-www-form-urlencoded",
                              CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert response.status_code == 413
    response = client.generic("POST", "/login/", b"username=a", CONTENT_TYPE="application/x-www-form-urlencoded",
                              CONTENT_LENGTH="x")
    assert response.status_code == 400
