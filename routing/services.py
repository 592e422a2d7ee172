"""Routing writes: open a router over a stock view, record its decisions, count the day's load."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import connection

from inventory.bulk import Writes
from inventory.stock import StockSnapshot

from .candidates import BatchCandidates
from .engine import Demand, Plan, Router
from .models import FacilityDailyLoad, RoutingDecision
from .selectors import daily_loads_read, routing_config

__all__ = ["Demand", "Plan", "RoutingSession", "routing_session_open", "decisions_record"]


@dataclass
class RoutingSession:
    """A router over a stock view, plus what it must write when the transaction's routing is done."""

    router: Router
    limited_days: dict[int, date]  # facility id -> its local day, for facilities with a daily order limit

    def route(self, demand: Demand) -> Plan:
        return self.router.route(demand)

    def route_all(self, demands: list[Demand]) -> list[Plan]:
        """Decide the demands in order, each on the stock as the earlier ones left it. On PostgreSQL, over a stock that
        is filled as routing goes (`StockSnapshot(loader=...)`), the database chooses each demand's candidates
        (routing/candidates.py), one query per rule tried; elsewhere the router reads every level of their products."""
        stock = self.router.stock
        if isinstance(stock, StockSnapshot) and not stock.holds_every_product:
            if connection.vendor == "postgresql":
                self.router.candidates = BatchCandidates(router=self.router, stock=stock, demands=demands)
            else:
                stock.load({demand.product_id for demand in demands})
        try:
            return [self.router.route(demand) for demand in demands]
        finally:
            self.router.candidates = None

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
    """A router over `stock` (a StockSnapshot read without locks, or a locked InventoryBook). One query when the routing
    configuration is unchanged (routing_config) and one more when facilities have daily limits; nothing is locked."""
    config = routing_config()
    limited = {f.pk: f.local_date() for f in config.facilities if f.daily_order_limit is not None}
    router = Router(
        facilities=config.facilities,
        facility_by_id=config.facility_by_id,
        rules=config.rules,
        group_members=config.group_members,
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
