"""Routing writes: open a router over locked inventory, record its decisions, count the day's load."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F

from inventory.bulk import bulk_insert_rows
from inventory.services import InventoryBook

from .engine import Demand, Plan, Router, facility_local_date
from .locks import lock_daily_loads
from .models import FacilityDailyLoad, RoutingDecision
from .selectors import facilities_for_routing, group_members_for, rules_active

__all__ = ["Demand", "Plan", "RoutingSession", "routing_session_open", "decisions_record"]


@dataclass
class RoutingSession:
    """A router plus what it must write when the transaction's routing is done."""

    router: Router
    loads: dict[int, FacilityDailyLoad]

    def route(self, demand: Demand) -> Plan:
        return self.router.route(demand)

    def close(self) -> None:
        """Write the day's load counters of limited facilities (one UPDATE per facility that received lines)."""
        for facility_id, lines in self.router.routed_today.items():
            row = self.loads.get(facility_id)
            if row is not None and lines:
                FacilityDailyLoad.objects.filter(pk=row.pk).update(routed_lines=F("routed_lines") + lines)
        self.router.routed_today.clear()


def routing_session_open(*, book: InventoryBook) -> RoutingSession:
    """A router over the locked levels of `book`. Costs a constant number of queries, whatever the facility count."""
    facilities = facilities_for_routing()
    rules = rules_active()
    limited = {f.pk: facility_local_date(f) for f in facilities if f.daily_order_limit is not None}
    loads = lock_daily_loads(facility_days=limited)
    router = Router(
        facilities=facilities,
        rules=rules,
        group_members=group_members_for(rules),
        book=book,
        daily_loads={fid: row.routed_lines for fid, row in loads.items()},
    )
    return RoutingSession(router=router, loads=loads)


def decisions_record(*, session: RoutingSession, plans: Iterable[tuple[int, Plan]], trigger: str) -> list[RoutingDecision]:
    """One RoutingDecision per (order item id, plan), written in one INSERT batch."""
    decisions = []
    for item_id, plan in plans:
        decisions.append(
            RoutingDecision(
                order_item_id=item_id,
                outcome=plan.outcome,
                trigger=trigger,
                chosen_facility_id=plan.facility_id,
                rule=plan.rule,
                rule_name=plan.rule.name if plan.rule else "",
                summary=plan.summary,
                allocations=[
                    {"facility": session.router.facility_by_id[f].code, "quantity": q} for f, q in plan.allocations
                ],
                candidates=plan.candidates,
            )
        )
    return bulk_insert_rows(RoutingDecision, decisions)  # bulk_create, minus most of its cost for 10 KB JSON values
