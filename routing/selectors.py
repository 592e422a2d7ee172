"""Reads of routing configuration."""

from dataclasses import dataclass

from django.db.models import Q

from inventory.models import Facility, FacilityGroup

from .models import FacilityDailyLoad, RoutingConfigVersion, RoutingRule


@dataclass(frozen=True)
class RoutingConfig:
    """What routing decides by: every facility, the active rules, the members of the rules' facility groups."""

    facilities: list[Facility]
    facility_by_id: dict[int, Facility]
    rules: list[RoutingRule]
    group_members: dict[int, set[int]]


_cached: tuple[str, RoutingConfig] | None = None  # (version, configuration) of this process


def routing_config() -> RoutingConfig:
    """The routing configuration, kept in this process while its version stamp is current: one query (the stamp)
    when nothing changed, three more when something did. Treat it as read-only: every routing shares it."""
    global _cached
    version = RoutingConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    cached = _cached
    if version is not None and cached is not None and cached[0] == version:
        return cached[1]
    facilities = facilities_for_routing()
    rules = rules_active()
    config = RoutingConfig(
        facilities=facilities, facility_by_id={f.id: f for f in facilities}, rules=rules,
        group_members=group_members_for(rules),
    )
    if version is not None:  # no stamp row (a test database emptied by a flush): read every time
        _cached = (version, config)
    return config


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
