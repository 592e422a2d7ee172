"""Row locks of the routing app (taken after inventory levels, in primary-key order)."""

from datetime import date

from .models import FacilityDailyLoad


def lock_daily_loads(*, facility_days: dict[int, date]) -> dict[int, FacilityDailyLoad]:
    """Lock today's load rows of these facilities (created when missing), pk order; keyed by facility id."""
    if not facility_days:
        return {}
    FacilityDailyLoad.objects.bulk_create(
        [FacilityDailyLoad(facility_id=f, day=d) for f, d in sorted(facility_days.items())], ignore_conflicts=True
    )
    from django.db.models import Q

    condition = Q()
    for facility_id, day in facility_days.items():
        condition |= Q(facility_id=facility_id, day=day)
    rows = FacilityDailyLoad.objects.select_for_update().filter(condition).order_by("pk")
    return {row.facility_id: row for row in rows}
