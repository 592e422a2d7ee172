"""The routing engine: pure Python over a stock view (no queries of its own).

It takes plain demands (never fulfillment's models), tries the active rules in sequence, and returns a plan per demand:
the allocations, the rule that placed it, and every candidate facility with the reason it won or lost.
"""

import math
import re
from functools import lru_cache
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from datetime import date

from inventory import effects
from inventory.models import Facility

from .models import ParkedKind, RoutingDecision, RoutingRule, ShippingMethod

EARTH_RADIUS_KM = 6371.0088
# The sentences a parked item's reason begins with (OrderItem.parked_reason); its kind is Plan.parked_kind.
PARKED_PICKUP_REJECTED = "Parked for the operations team: the customer's pickup store rejected it; a person must decide."
PARKED_NO_FACILITY = "Parked: no facility can take the whole line"
PARKED_NO_RULE = "Parked: no active routing rule applies"
LISTED_CANDIDATES = 12  # candidates explained one by one per decision; farther ordinary ones are counted by reason
_REASON_SHAPE = re.compile(r"\d[\d.,]*")
LISTED_WITHOUT_STOCK_RECORD = 12  # facilities with no stock record of the product are listed up to this many, then counted


@dataclass(frozen=True)
class Demand:
    """One item to place: what, how much, how it ships, where to, and where it must not go."""

    key: int
    product_id: int
    quantity: int
    shipping_method: str
    latitude: float
    longitude: float
    pickup_facility_id: int | None = None
    rejected_on: Mapping[int, date] = field(default_factory=dict)  # facility id -> day it rejected this item
    just_rejected_facility_id: int | None = None
    reference: str = ""


class Stock(Protocol):
    """What the engine decides on: a StockSnapshot (read without locks) or a locked InventoryBook."""

    def level(self, facility_id: int, product_id: int): ...
    def levels_of_product(self, product_id: int) -> list: ...
    def reserve(self, facility_id: int, product_id: int, quantity: int, *, held_back: int = 0, reference: str = "") -> bool: ...


@dataclass
class Plan:
    demand: Demand
    allocations: list[tuple[int, int]]  # (facility id, quantity)
    rule: RoutingRule | None
    summary: str
    candidates: list[dict]
    parked_kind: str = ""  # a ParkedKind when nothing could take it, else empty
    facility_by_id: Mapping[int, Facility] = field(default_factory=dict, repr=False)  # the facilities it was decided among

    @property
    def outcome(self) -> str:
        if not self.allocations:
            return RoutingDecision.Outcome.UNROUTED
        return RoutingDecision.Outcome.SPLIT if len(self.allocations) > 1 else RoutingDecision.Outcome.ROUTED

    @property
    def facility_id(self) -> int | None:
        return self.allocations[0][0] if self.allocations else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def day_month(day: date) -> str:
    """'27 Nov' (portable: no platform-specific strftime flags)."""
    return f"{day.day} {day:%b}"


def km_beyond(distance: float, limit: int) -> str:
    """The distance as shown next to a limit it exceeds: whole km, with decimals only when rounding would hide the excess
    (50.3 km over a 50 km limit reads "50.3 km > 50 km", never "50 km > 50 km")."""
    for decimals in (0, 1, 2):
        shown = f"{distance:.{decimals}f}"
        if float(shown) > limit:
            return shown
    return f"{distance:.3f}"


@dataclass
class _Evaluation:
    facility: Facility
    distance: float
    routable: int
    reason: str | None  # None = eligible


class Router:
    def __init__(
        self,
        *,
        facilities: list[Facility],
        rules: list[RoutingRule],
        group_members: Mapping[int, set[int]],
        stock: "Stock",
        daily_loads: dict[int, int],
    ):
        self.facilities = facilities
        self.facility_by_id = {f.id: f for f in facilities}
        self.rules = [r for r in rules if r.is_active]
        self.group_members = group_members
        self.stock = stock
        self.daily_loads = daily_loads  # facility id -> lines routed today (only facilities with a daily limit)
        self.routed_today: dict[int, int] = {}
        self._distances: dict[tuple[float, float, int], float] = {}

    # -- helpers -------------------------------------------------------------------------------------------------
    def _distance(self, demand: Demand, facility: Facility) -> float:
        key = (demand.latitude, demand.longitude, facility.id)
        d = self._distances.get(key)
        if d is None:
            d = self._distances[key] = distance_km(demand.latitude, demand.longitude, facility.latitude, facility.longitude)
        return d

    def held_back(self, facility: Facility, product_id: int) -> int:
        level = self.stock.level(facility.id, product_id)
        return effects.held_back(
            level_safety_stock=level.safety_stock if level is not None else None, facility_safety_stock=facility.safety_stock
        )

    def routable_atp(self, facility: Facility, product_id: int) -> int:
        """Units the facility may still promise of the product: ATP above what its safety stock holds back."""
        level = self.stock.level(facility.id, product_id)
        return 0 if level is None else self._routable(level, facility)

    @staticmethod
    def _routable(level, facility: Facility) -> int:
        return effects.routable(
            available_to_promise=level.available_to_promise,
            held_back=effects.held_back(level_safety_stock=level.safety_stock, facility_safety_stock=facility.safety_stock),
        )

    def _load_today(self, facility: Facility) -> int:
        return self.daily_loads.get(facility.id, 0) + self.routed_today.get(facility.id, 0)

    def _candidate_facilities(self, demand: Demand) -> tuple[list[Facility], int]:
        """Facilities to evaluate and explain: those stocking the product, the pickup store, the rejecting one.

        Facilities with no stock record of the product are listed too while they are few; past that they are counted.
        """
        stocked = {lvl.facility_id for lvl in self.stock.levels_of_product(demand.product_id)}
        special = {demand.pickup_facility_id, demand.just_rejected_facility_id} - {None}
        listed, unlisted = [], 0
        unstocked = [f for f in self.facilities if f.id not in stocked and f.id not in special]
        show_unstocked = len(unstocked) <= LISTED_WITHOUT_STOCK_RECORD
        for f in self.facilities:
            if f.id in stocked or f.id in special or show_unstocked:
                listed.append(f)
            else:
                unlisted += 1
        return listed, unlisted

    def _evaluate(self, demand: Demand, facility: Facility, rule: RoutingRule) -> _Evaluation:
        distance = self._distance(demand, facility)
        level = self.stock.level(facility.id, demand.product_id)
        routable = 0 if level is None else self._routable(level, facility)
        ev = _Evaluation(facility, distance, routable, None)
        if facility.id == demand.just_rejected_facility_id:
            ev.reason = "rejected this item just now"
        elif demand.shipping_method == ShippingMethod.STORE_PICKUP and facility.id != demand.pickup_facility_id:
            ev.reason = "not the customer's pickup store"
        elif rule.exclude_rejecting_facilities and facility.id in demand.rejected_on:
            ev.reason = f"rejected this item on {day_month(demand.rejected_on[facility.id])}"
        elif not facility.is_active:
            ev.reason = "facility inactive"
        elif not facility.allows_routing:
            ev.reason = "not accepting routed orders"
        elif rule.facility_kind and facility.kind != rule.facility_kind:
            ev.reason = f"{facility.get_kind_display().lower()}; rule takes {rule.get_facility_kind_display().lower()}s only"
        elif rule.facility_group_id and facility.id not in self.group_members.get(rule.facility_group_id, set()):
            ev.reason = f"not in group {rule.facility_group.name}"
        elif rule.max_distance_km is not None and distance > rule.max_distance_km:
            ev.reason = f"{km_beyond(distance, rule.max_distance_km)} km > {rule.max_distance_km} km"
        elif facility.daily_order_limit is not None and self._load_today(facility) >= facility.daily_order_limit:
            ev.reason = f"over daily limit ({self._load_today(facility)}/{facility.daily_order_limit} lines today)"
        elif getattr(level, "busy", False):
            ev.reason = "busy: another order was taking its units at that moment"
        elif routable <= 0:
            atp = level.available_to_promise if level else 0
            held_back = self.held_back(facility, demand.product_id)
            ev.reason = f"ATP {atp}, all held as safety stock ({held_back})" if held_back and atp else f"ATP {atp}"
        elif routable < demand.quantity and not rule.allow_split:
            ev.reason = f"routable ATP {routable} < {demand.quantity} needed"
        return ev

    @staticmethod
    def _sort_key(rule: RoutingRule):
        if rule.sort == RoutingRule.Sort.INVENTORY_BALANCE:
            return lambda ev: (-ev.routable, ev.distance, ev.facility.priority, ev.facility.code)
        if rule.sort == RoutingRule.Sort.PRIORITY:
            return lambda ev: (ev.facility.priority, ev.distance, ev.facility.code)
        return lambda ev: (round(ev.distance, 3), ev.facility.priority, ev.facility.code)

    @staticmethod
    def _lost_to(rule: RoutingRule, ev: _Evaluation, winner: _Evaluation, whole_line: int | None = None) -> str:
        if whole_line is not None and ev.routable < whole_line:  # a split rule passed over it for a whole-line facility
            return f"routable ATP {ev.routable} < {whole_line} needed; {winner.facility.code} has the whole line"
        if rule.sort == RoutingRule.Sort.INVENTORY_BALANCE and ev.routable != winner.routable:
            return f"less routable ATP than {winner.facility.code} ({ev.routable} vs {winner.routable})"
        if rule.sort == RoutingRule.Sort.PRIORITY and ev.facility.priority != winner.facility.priority:
            return f"lower priority than {winner.facility.code} ({ev.facility.priority} vs {winner.facility.priority})"
        if round(ev.distance, 3) != round(winner.distance, 3):
            return f"farther than {winner.facility.code} ({ev.distance:.1f} km vs {winner.distance:.1f} km)"
        return f"tie broken in favour of {winner.facility.code} (priority, then code)"

    def _explain(self, evaluations: list[_Evaluation], rule: RoutingRule | None, chosen: dict[int, int], winner, unlisted: int):
        """One row per candidate. Past LISTED_CANDIDATES, the farther ordinary candidates are counted, grouped by reason.

        Always listed one by one: the chosen facilities, facilities that rejected the item, and the nearest others up to
        LISTED_CANDIDATES. The rest (large chains) become one row per kind of reason ("34 facilities, 57-1,650 km:
        farther than BROOKLYN ..."), so every facility is still accounted for while a decision stays small.
        """
        whole_line = next(iter(chosen.values())) if len(chosen) == 1 else None
        rule_name = rule.name if rule else ""
        listed, rest = [], []
        for ev in sorted(evaluations, key=lambda e: e.distance) if len(evaluations) > LISTED_CANDIDATES else evaluations:
            fid = ev.facility.id
            if fid in chosen:
                reason = f"chosen: {chosen[fid]} unit(s)"
            elif ev.reason is not None:
                reason = ev.reason
            elif winner is not None and len(chosen) > 1:  # a split: the parts before it covered the line
                covered = ", ".join(self.facility_by_id[f].code for f in chosen)
                reason = f"not needed: {covered} covered the line"
            elif winner is not None:
                reason = self._lost_to(rule, ev, winner, whole_line)
            else:
                reason = "eligible, but no rule placed the whole line"
            row = {
                "facility": ev.facility.code,
                "name": ev.facility.name,
                "distance_km": round(ev.distance, 1),
                "routable_atp": ev.routable,
                "chosen": fid in chosen,
                "reason": reason,
                "rule": rule_name,
            }
            special = fid in chosen or reason.startswith("rejected this item")
            (listed if special or len(listed) < LISTED_CANDIDATES else rest).append(row)
        groups: dict[str, list[dict]] = {}
        for row in rest:
            groups.setdefault(_reason_shape(row["reason"].split(" (")[0]), []).append(row)
        for members in groups.values():
            nearest, farthest = members[0], members[-1]
            listed.append(
                {
                    "facility": "",
                    "name": f"{len(members)} more facilit{'y' if len(members) == 1 else 'ies'} "
                    f"({nearest['distance_km']:,.0f}-{farthest['distance_km']:,.0f} km)",
                    "distance_km": nearest["distance_km"],
                    "routable_atp": max(m["routable_atp"] for m in members),
                    "chosen": False,
                    "reason": _group_reason(members),
                    "rule": rule_name,
                }
            )
        if unlisted:
            listed.append(
                {"facility": "", "name": f"{unlisted} other facilities", "distance_km": None, "routable_atp": 0,
                 "chosen": False, "reason": "no stock record of this product", "rule": rule_name}
            )
        return listed

    # -- routing -------------------------------------------------------------------------------------------------
    def route(self, demand: Demand) -> Plan:
        plan = self._route(demand)
        plan.facility_by_id = self.facility_by_id
        return plan

    def _route(self, demand: Demand) -> Plan:
        rules = [r for r in self.rules if not r.shipping_methods or demand.shipping_method in r.shipping_methods]
        if not rules:
            return Plan(demand, [], None, f"{PARKED_NO_RULE} to {demand.shipping_method} orders.", [], ParkedKind.NO_RULE)
        listed, unlisted = self._candidate_facilities(demand)
        last_evaluations: list[_Evaluation] = []
        last_rule = None
        for rule in rules:
            evaluations = [self._evaluate(demand, f, rule) for f in listed]
            eligible = sorted((ev for ev in evaluations if ev.reason is None), key=self._sort_key(rule))
            allocations = self._allocate(demand, rule, eligible)
            if allocations:
                for facility_id, qty in allocations:
                    facility = self.facility_by_id[facility_id]
                    reserved = self.stock.reserve(
                        facility_id, demand.product_id, qty,
                        held_back=self.held_back(facility, demand.product_id), reference=demand.reference,
                    )
                    assert reserved, "eligibility guarantees the reservation"
                    self.routed_today[facility_id] = self.routed_today.get(facility_id, 0) + 1
                chosen = dict(allocations)
                winner = next(ev for ev in eligible if ev.facility.id == allocations[0][0])
                names = ", ".join(f"{self.facility_by_id[f].name} ({q})" for f, q in allocations) if len(allocations) > 1 \
                    else self.facility_by_id[allocations[0][0]].name
                summary = (
                    f"{'Split across' if len(allocations) > 1 else 'Routed to'} {names} by rule “{rule.name}”: "
                    f"{self._why(rule, winner, split=len(allocations) > 1)}."
                )
                return Plan(demand, allocations, rule, summary[:300], self._explain(evaluations, rule, chosen, winner, unlisted))
            last_evaluations, last_rule = evaluations, rule
        kind, summary = self._parked_summary(demand, rules)
        return Plan(demand, [], None, summary[:300], self._explain(last_evaluations, last_rule, {}, None, unlisted), kind)

    @staticmethod
    def _allocate(demand: Demand, rule: RoutingRule, eligible: list[_Evaluation]) -> list[tuple[int, int]]:
        if not eligible:
            return []
        whole = [ev for ev in eligible if ev.routable >= demand.quantity]
        if whole:  # one facility for the whole line beats a split, even when the rule allows splitting
            return [(whole[0].facility.id, demand.quantity)]
        if not rule.allow_split:
            return []
        remaining, allocations = demand.quantity, []
        for ev in eligible:
            take = min(ev.routable, remaining)
            allocations.append((ev.facility.id, take))
            remaining -= take
            if remaining == 0:
                return allocations
        return []

    @staticmethod
    def _why(rule: RoutingRule, winner: _Evaluation, *, split: bool = False) -> str:
        if rule.sort == RoutingRule.Sort.INVENTORY_BALANCE:
            return f"most routable ATP ({winner.routable}), {winner.distance:.1f} km away"
        if rule.sort == RoutingRule.Sort.PRIORITY:
            return f"highest priority ({winner.facility.priority}), {winner.distance:.1f} km away"
        if split:
            return f"nearest with stock first, {winner.distance:.1f} km away"
        return f"nearest with the whole line, {winner.distance:.1f} km away"

    @staticmethod
    def _parked_summary(demand: Demand, rules: list[RoutingRule]) -> tuple[str, str]:
        """(ParkedKind, the sentence shown with the parked item)."""
        rejected_here = set(demand.rejected_on) | {demand.just_rejected_facility_id}
        if demand.shipping_method == ShippingMethod.STORE_PICKUP and demand.pickup_facility_id in rejected_here:
            return ParkedKind.PICKUP_REJECTED, PARKED_PICKUP_REJECTED
        tried = "; ".join(f"“{r.name}”" for r in rules)
        return ParkedKind.NO_FACILITY, f"{PARKED_NO_FACILITY} under the rules tried ({tried})."


@lru_cache(maxsize=4096)
def _reason_shape(reason: str) -> str:
    """What counted candidates are grouped by: the reason with its numbers blanked ("ATP #", "farther than V#")."""
    return _REASON_SHAPE.sub("#", reason)


def _group_reason(members: list[dict]) -> str:
    """The reason a group of counted candidates shares: plainly when it is the same for all, else the nearest one's."""
    bases = {m["reason"].split(" (")[0] for m in members}
    if len(bases) == 1:
        return bases.pop()
    return f"{members[0]['reason']} (the nearest of them)"

