"""Dates people and files give us: a moment must lie in a sane window, in UTC, before it is stored.

PostgreSQL stores 1 BC and year 10000 UTC happily, but Python cannot read them back: one such `placed_at` made every
page of its store answer 500. Imports, the admin and forms refuse a moment outside [EARLIEST, now + AHEAD]; the database
refuses one outside [EARLIEST, STORED_LATEST) (a constraint on `Order.placed_at`).
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=365)
STORED_LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # the database's bound (a constraint cannot read the clock)


def moment_problem(moment: datetime, *, now: datetime | None = None) -> str | None:
    """Why ``moment`` (timezone-aware) is outside the sane window, or None."""
    now = now or timezone.now()
    if moment < EARLIEST:
        return f"is before {EARLIEST:%Y-%m-%d} (UTC)"
    if moment > now + AHEAD:
        return "is more than a year in the future"
    return None


def validate_sane_moment(value) -> None:
    """A model/form field validator for date-times: refuse moments outside the sane window."""
    if value is None:
        return
    if isinstance(value, datetime) and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    problem = moment_problem(value)
    if problem:
        raise ValidationError(f"This date {problem}; enter one between 2000-01-01 and a year from now.", code="out_of_window")
