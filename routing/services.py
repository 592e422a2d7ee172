"""Routing writes: open a router over a stock view, record its decisions, count the day's load."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import F

from inventory.bulk import bulk_insert_rows

from .engine import Demand, Plan, Router, facility_local_date
from .locks import lock_daily_loads
from .models import FacilityDailyLoad, RoutingDecision
from .selectors import daily_loads_read, facilities_for_routing, group_members_for, rules_active

__all__ = ["Demand", "Plan", "RoutingSession", "routing_session_open", "decisions_record"]


@dataclass
class RoutingSession:
    """A router over a stock view, plus what it must write when the transaction's routing is done."""

    router: Router
    limited_days: dict[int, date]  # facility id -> its local day, for facilities with a daily order limit

    def route(self, demand: Demand) -> Plan:
        return self.router.route(demand)

    def decide_again_on(self, stock) -> None:
        """Decide the next demands on fresh numbers (after a lost claim)."""
        self.router.stock = stock

    def close(self, plans: Iterable[Plan]) -> None:
        """Count the lines placed at limited facilities on their day's load rows (locked after the levels, pk order).

        The limit was checked on the load as read when deciding: routings of the same facility that commit at the same
        moment can together pass it by a few lines (the counter itself stays exact)."""
        lines: dict[int, int] = {}
        for plan in plans:
            for facility_id, _ in plan.allocations:
                if facility_id in self.limited_days:
                    lines[facility_id] = lines.get(facility_id, 0) + 1
        if not lines:
            return
        rows = lock_daily_loads(facility_days={f: self.limited_days[f] for f in lines})
        for facility_id, n in lines.items():
            FacilityDailyLoad.objects.filter(pk=rows[facility_id].pk).update(routed_lines=F("routed_lines") + n)


def routing_session_open(*, stock) -> RoutingSession:
    """A router over `stock` (a StockSnapshot read without locks, or a locked InventoryBook). A constant number of
    queries, whatever the facility count; nothing is locked."""
    facilities = facilities_for_routing()
    rules = rules_active()
    limited = {f.pk: facility_local_date(f) for f in facilities if f.daily_order_limit is not None}
    router = Router(
        facilities=facilities,
        rules=rules,
        group_members=group_members_for(rules),
        stock=stock,
        daily_loads=daily_loads_read(facility_days=limited),
    )
    return RoutingSession(router=router, limited_days=limited)


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
