"""Login throttling: two limits with django-axes' hooks.

`AXES_LOCKOUT_PARAMETERS` counts failures per (username, address) and per address across usernames; axes compares the
larger count with one limit, which `failure_limit` (`AXES_FAILURE_LIMIT`) makes depend on which count is at stake:
`LOGIN_FAILURE_LIMIT` (5) wrong passwords for one login from one address, or `LOGIN_ADDRESS_FAILURE_LIMIT` (20) from
one address whatever the logins (one password guessed across many accounts). Colleagues sharing a store's address can
make a few typos each without locking each other out.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.db.models import Sum


def _failures(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


def pair_failures(request, credentials) -> int:
    """Failures (within the cool-off) for this username from this address: the first lockout parameter."""
    attempts = AxesProxyHandler.get_implementation().get_user_attempts(request, credentials)  # the database handler
    return _failures(attempts[0]) if attempts else 0


def failure_limit(request, credentials=None) -> int:
    """The limit axes compares max(pair failures, address failures) with: locked exactly when the pair reached
    LOGIN_FAILURE_LIMIT or the address reached LOGIN_ADDRESS_FAILURE_LIMIT."""
    if pair_failures(request, credentials) >= settings.LOGIN_FAILURE_LIMIT:
        return settings.LOGIN_FAILURE_LIMIT
    return settings.LOGIN_ADDRESS_FAILURE_LIMIT


def is_address_lock(request, credentials=None) -> bool:
    """Locked because of the address's failures across logins (not this login's own)."""
    return pair_failures(request, credentials) < settings.LOGIN_FAILURE_LIMIT
