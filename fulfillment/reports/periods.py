"""Periods in the stores' local time: a date range becomes, per time zone, a half-open UTC interval."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q


@lru_cache(maxsize=256)
def zone_of(name: str) -> ZoneInfo:
    """The facility's zone; an unknown name falls back to UTC (as routing does) rather than failing a page."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def facilities_by_zone(facilities) -> dict[str, list[int]]:
    """{zone name: [facility ids]} for the facilities, zone names sorted (deterministic SQL)."""
    zones: dict[str, list[int]] = defaultdict(list)
    for facility in facilities:
        zones[zone_of(facility.timezone).key].append(facility.pk)
    return dict(sorted(zones.items()))


def period_q(facilities, date_from: date, date_to: date, *, facility_field: str, time_field: str) -> Q:
    """Rows of these facilities whose ``time_field`` falls on a local day from ``date_from`` to ``date_to`` inclusive."""
    condition = Q(pk__in=[])
    for name, ids in facilities_by_zone(facilities).items():
        zone = zone_of(name)
        condition |= Q(
            **{
                f"{facility_field}__in": ids,
                f"{time_field}__gte": local_midnight(date_from, zone),
                f"{time_field}__lt": local_midnight(date_to + timedelta(days=1), zone),
            }
        )
    return condition
