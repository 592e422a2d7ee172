"""Routing writes: open a router over a stock view, record its decisions, count the day's load."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from inventory.bulk import Writes

from .engine import Demand, Plan, Router
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

    def close(self, plans: Iterable[Plan], writes: Writes) -> None:
        """Count the lines placed at limited facilities on their day's load rows: one upsert, sent with the other
        writes (after the levels were locked; its rows are taken in (facility, day) order).

        The limit was checked on the load as read when deciding: routings of the same facility that commit at the same
        moment can together pass it by a few lines (the counter itself stays exact)."""
        lines: dict[int, int] = {}
        for plan in plans:
            for facility_id, _ in plan.allocations:
                if facility_id in self.limited_days:
                    lines[facility_id] = lines.get(facility_id, 0) + 1
        if lines:
            daily_loads_add(writes, {(f, self.limited_days[f]): n for f, n in lines.items()})


def routing_session_open(*, stock) -> RoutingSession:
    """A router over `stock` (a StockSnapshot read without locks, or a locked InventoryBook). A constant number of
    queries, whatever the facility count; nothing is locked."""
    facilities = facilities_for_routing()
    rules = rules_active()
    limited = {f.pk: f.local_date() for f in facilities if f.daily_order_limit is not None}
    router = Router(
        facilities=facilities,
        rules=rules,
        group_members=group_members_for(rules),
        stock=stock,
        daily_loads=daily_loads_read(facility_days=limited),
    )
    return RoutingSession(router=router, limited_days=limited)


def decisions_record(
    *, session: RoutingSession, plans: Iterable[tuple[int, Plan]], trigger: str, writes: Writes
) -> list[RoutingDecision]:
    """One RoutingDecision per (order item id, plan), inserted with the transaction's other writes (no primary keys)."""
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
    writes.insert_rows(RoutingDecision, decisions)  # values prepared directly: 10 KB of JSON each
    return decisions


def daily_loads_add(writes: Writes, lines: dict[tuple[int, date], int]) -> None:
    """Add lines to the (facility, day) load rows, created when missing: one upsert, keys sorted."""
    writes.counters_add(FacilityDailyLoad, keys=["facility", "day"], counter="routed_lines", rows=lines)
