"""Logins: throttling (django-axes) with the lock-out page, unlocking, password rules, one-shift sessions."""

import datetime as dt
import html
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import FacilityFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass12345"
LOGIN = reverse("login")


@pytest.fixture
def associate():
    user = UserFactory(username="bk_associate")
    MembershipFactory(user=user, facility=FacilityFactory(code="BROOKLYN", name="Brooklyn"))
    return user


def text(response) -> str:
    """What a reader sees: tags dropped, whitespace collapsed, entities decoded."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode())))


def log_in(client, password, username="bk_associate", address="10.0.0.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_four_wrong_passwords_then_the_right_one_logs_in(client, associate):
    for _ in range(4):
        response = log_in(client, "wrong-password")
        assert response.status_code == 200 and "Please enter a correct username and password" in text(response)
    response = log_in(client, PASSWORD)
    assert response.status_code == 302 and is_logged_in(client)


def test_twelve_wrong_passwords_lock_the_login_and_the_page_says_until_when(client, associate):
    statuses = [log_in(client, f"guess-{n}").status_code for n in range(12)]
    assert statuses[:4] == [200] * 4  # the login form again, with its error
    assert set(statuses[4:]) == {429}  # the fifth failure locks
    before = timezone.now()
    response = log_in(client, "guess-13")
    page = text(response)
    assert response.status_code == 429
    assert "Too many failed logins" in page and "bk_associate" in page and "after 5 wrong passwords" in page
    assert "Try again in 15 minutes" in page
    retry_at = before + dt.timedelta(minutes=15)
    assert f"after {retry_at:%H:%M} UTC" in page or f"after {retry_at + dt.timedelta(minutes=1):%H:%M} UTC" in page
    assert response["Retry-After"] == "900"
    assert "Content-Security-Policy" in response  # a normal page of the app (a template), not axes' plain text

    response = log_in(client, PASSWORD)  # the right password is refused while locked
    assert response.status_code == 429 and "Too many failed logins" in text(response)
    assert not is_logged_in(client)


def test_the_lock_is_per_username_and_address(client, associate):
    UserFactory(username="mh_associate")
    for n in range(5):
        log_in(client, f"guess-{n}")
    assert log_in(client, PASSWORD).status_code == 429
    other_device = Client()
    assert log_in(other_device, PASSWORD, address="10.0.0.8").status_code == 302  # same login, another address
    colleague = Client()
    assert log_in(colleague, PASSWORD, username="mh_associate").status_code == 302  # same address, another login


def test_a_spoofed_forwarded_for_header_does_not_escape_the_lock(client, associate):
    for n in range(5):
        client.post(LOGIN, {"username": "bk_associate", "password": f"g{n}"}, REMOTE_ADDR="10.0.0.7",
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = client.post(LOGIN, {"username": "bk_associate", "password": PASSWORD}, REMOTE_ADDR="10.0.0.7",
                           HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


def test_the_lock_ends_after_the_cool_off(client, associate):
    for n in range(5):
        log_in(client, f"guess-{n}")
    assert log_in(client, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1))
    response = log_in(client, PASSWORD)
    assert response.status_code == 302 and is_logged_in(client)


def test_a_command_unlocks_a_login(client, associate):
    for n in range(6):
        log_in(client, f"guess-{n}")
    call_command("axes_reset_username", "bk_associate", stdout=None)
    response = log_in(client, PASSWORD)
    assert response.status_code == 302 and is_logged_in(client)


def test_an_admin_unlocks_a_login_in_the_admin(client, associate):
    for n in range(5):
        log_in(client, f"guess-{n}")
    attempt = AccessAttempt.objects.get(username="bk_associate")
    admin = Client()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "bk_associate" in text(admin.get(changelist))
    response = admin.post(changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert log_in(client, PASSWORD).status_code == 302


@pytest.mark.parametrize("password", ["12345678", "123456789012", "password", "password123", "qwertyuiop"])
def test_common_and_numeric_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_uncommon_password_is_accepted():
    validate_password("shelf-ladder-orbit-42")


def test_a_login_lasts_one_shift_and_ends_when_the_browser_closes(client, associate):
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    log_in(client, PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"] and not cookie["expires"]  # a browser-session cookie
    assert client.session.get_expiry_age() <= 12 * 3600


@pytest.mark.parametrize("url", [LOGIN, "/admin/login/"])
@pytest.mark.parametrize(
    "username, error",
    [("x" * 3000, "Ensure this value has at most 150 characters"), ("bk_\x00associate", "Null characters are not allowed")],
)
def test_an_overlong_or_nul_username_is_a_form_error_not_a_server_error(client, associate, url, username, error):
    response = client.post(url, {"username": username, "password": "whatever"}, REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 200
    assert error in text(response)
    assert not AccessAttempt.objects.exists()


# -- per-address limit across usernames ------------------------------------------------------------------------------
def test_one_password_guessed_across_many_logins_from_one_address_is_limited(client, associate):
    """44 guesses over 11 users from one address were never refused: the lock was per username and address only.
    Now an address is also locked after LOGIN_ADDRESS_FAILURE_LIMIT failures whatever the usernames."""
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    users = [UserFactory(username=f"user{n:02d}") for n in range(11)]
    statuses = [log_in(client, "Summer2026!", username=user.username).status_code for _ in range(4) for user in users]
    assert statuses[:limit - 1] == [200] * (limit - 1) and set(statuses[limit - 1:]) == {429}, statuses
    response = log_in(Client(), PASSWORD)  # the right password of a login with no failures: refused from there
    assert response.status_code == 429 and "from this address" in text(response)
    assert log_in(Client(), PASSWORD, address="10.0.0.8").status_code == 302  # another address is not affected


def test_a_few_typos_by_colleagues_sharing_an_address_lock_nobody_else(client, associate):
    for n in range(4):  # four colleagues, four typos each: 16 failures, under the address limit
        UserFactory(username=f"colleague{n}")
        for k in range(4):
            log_in(Client(), f"typo-{k}", username=f"colleague{n}")
    assert log_in(client, PASSWORD).status_code == 302
