"""The lock-out page django-axes shows after too many failed logins (``AXES_LOCKOUT_CALLABLE``)."""

from __future__ import annotations

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from fulfillment.login_limits import is_address_lock

LOCKED_OUT_STATUS = 429


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """Too many failed logins for this username from this address: say until when, and who can help.

    The cool-off runs from the latest failed attempt (this one), so "now + cool-off" is when logging in works again.
    """
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    retry_at = timezone.now() + cool_off if cool_off else None
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": get_failure_limit(request, credentials),
        "address_lock": is_address_lock(request, credentials),
        "minutes": minutes,
        "retry_at": retry_at,
    }
    response = render(request, "registration/locked_out.html", context, status=LOCKED_OUT_STATUS)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
