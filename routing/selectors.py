"""Reads of routing configuration."""

from django.db.models import Q

from inventory.models import Facility, FacilityGroup

from .models import FacilityDailyLoad, RoutingRule


def facilities_for_routing() -> list[Facility]:
    return list(Facility.objects.order_by("pk"))


def rules_active() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(is_active=True).select_related("facility_group").order_by("sequence", "pk"))


def group_members_for(rules: list[RoutingRule]) -> dict[int, set[int]]:
    group_ids = {r.facility_group_id for r in rules if r.facility_group_id}
    if not group_ids:
        return {}
    members: dict[int, set[int]] = {gid: set() for gid in group_ids}
    through = FacilityGroup.facilities.through
    for gid, fid in through.objects.filter(facilitygroup_id__in=group_ids).values_list("facilitygroup_id", "facility_id"):
        members[gid].add(fid)
    return members



def daily_loads_read(*, facility_days: dict) -> dict[int, int]:
    """{facility id: lines routed there on its day} for these facilities (no lock; one query, none when empty)."""
    if not facility_days:
        return {}
    condition = Q()
    for facility_id, day in facility_days.items():
        condition |= Q(facility_id=facility_id, day=day)
    return dict(FacilityDailyLoad.objects.filter(condition).values_list("facility_id", "routed_lines"))
