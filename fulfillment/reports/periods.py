"""Periods in the stores' local time: a date range becomes, per time zone, a half-open UTC interval."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from inventory.models import time_zone


zone_of = time_zone  # a facility's zone by name (Facility.zone): UTC when the name is unknown


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def facilities_by_zone(facilities) -> dict[str, list[int]]:
    """{zone name: [facility ids]} for the facilities, zone names sorted (deterministic SQL)."""
    zones: dict[str, list[int]] = defaultdict(list)
    for facility in facilities:
        zones[zone_of(facility.timezone).key].append(facility.pk)
    return dict(sorted(zones.items()))


def period_q(facilities, date_from: date, date_to: date, *, facility_field: str, time_field: str) -> Q:
    """Rows of these facilities whose ``time_field`` falls on a local day from ``date_from`` to ``date_to`` inclusive.

    Stores in several time zones: the rows inside every zone's interval (almost all of them) pass the first, cheap
    test; only the few hours at either end are checked zone by zone."""
    zones = facilities_by_zone(facilities)
    if not zones:
        return Q(pk__in=[])
    bounds = {
        name: (local_midnight(date_from, zone_of(name)), local_midnight(date_to + timedelta(days=1), zone_of(name)))
        for name in zones
    }
    per_zone = Q(pk__in=[])
    for name, ids in zones.items():
        start, end = bounds[name]
        per_zone |= Q(**{f"{facility_field}__in": ids, f"{time_field}__gte": start, f"{time_field}__lt": end})
    if len(zones) == 1:
        return per_zone
    starts, ends = [b[0] for b in bounds.values()], [b[1] for b in bounds.values()]
    every_zone = Q(**{f"{time_field}__gte": max(starts), f"{time_field}__lt": min(ends)})
    return Q(**{
        f"{facility_field}__in": [pk for ids in zones.values() for pk in ids],
        f"{time_field}__gte": min(starts), f"{time_field}__lt": max(ends),
    }) & (every_zone | per_zone)
