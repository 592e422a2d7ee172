"""The routing engine: pure Python over a stock view (no queries of its own).

It takes plain demands (never fulfillment's models), tries the active rules in sequence, and returns a plan per demand:
the allocations, the rule that placed it, and every candidate facility with the reason it won or lost.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from datetime import date

from inventory import effects
from inventory.models import Facility

from . import explain
from .explain import day_month, km_beyond  # noqa: F401  (the engine's words, re-exported for its callers)
from .models import ParkedKind, RoutingDecision, RoutingRule, ShippingMethod

EARTH_RADIUS_KM = 6371.0088
# The sentences a parked item's reason begins with (OrderItem.parked_reason); its kind is Plan.parked_kind.
PARKED_PICKUP_REJECTED = "Parked for the operations team: the customer's pickup store rejected it; a person must decide."
PARKED_NO_FACILITY = "Parked: no facility can take the whole line"
PARKED_NO_RULE = "Parked: no active routing rule applies"
LISTED_CANDIDATES = 12  # candidates explained one by one per decision; farther ordinary ones are counted by reason
ALWAYS_LISTED = {explain.CHOSEN, explain.REJECTED_BEFORE, explain.JUST_REJECTED}  # listed however far
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


class Undecidable(Exception):
    """The candidates the database returned cannot prove this decision (the batch's earlier items took units from the
    best of them, and a facility it did not return might now rank first): decide the item on every level of its product."""


@dataclass
class CandidateSet:
    """What the candidate query (routing/candidates.py) returned for one demand under one rule, when it did not return
    every level of the product.

    `facility_ids`: the facilities whose levels it returned (their rows are in the router's stock): the best K of each
    ranked set, the nearest LISTED_CANDIDATES, and those the item names (pickup store, rejecting stores).
    `cut`: per ranked set ("eligible"; for split rules also "whole", the facilities with the whole line) that had more
    than K members, its returned members as (facility id, routable ATP when read); None when all were returned.
    `groups`: the levels it did not return, counted by reason code: {"code", "count", "min_km", "max_km", "routable_atp"}.
    `level_count`: the product's levels in all.
    """

    facility_ids: list[int]
    cut: dict[str, list[tuple[int, int]] | None]
    groups: list[dict]
    level_count: int


class CandidateSource(Protocol):
    def get(self, rule: RoutingRule, demand: Demand) -> CandidateSet | None:
        """The rule's candidates for the demand; None when the router's stock holds every level of its product."""


@dataclass
class _Evaluation:
    facility: Facility
    distance: float
    routable: int
    code: str | None  # None = eligible; else an explain code
    n: dict = field(default_factory=dict)  # the numbers its reason needs


class Router:
    def __init__(
        self,
        *,
        facilities: list[Facility],
        rules: list[RoutingRule],
        group_members: Mapping[int, set[int]],
        stock: "Stock",
        daily_loads: dict[int, int],
        candidates: CandidateSource | None = None,
        facility_by_id: Mapping[int, Facility] | None = None,
    ):
        self.facilities = facilities
        self.facility_by_id = facility_by_id if facility_by_id is not None else {f.id: f for f in facilities}
        self.rules = [r for r in rules if r.is_active]
        self.group_members = group_members
        self.stock = stock
        self.candidates = candidates
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

    def load_today(self, facility: Facility) -> int:
        return self.daily_loads.get(facility.id, 0) + self.routed_today.get(facility.id, 0)

    def over_daily_limit(self) -> list[int]:
        """Facilities whose day's load has reached their daily order limit (as this router counts it now)."""
        return [
            fid for fid in self.daily_loads.keys() | self.routed_today.keys()
            if (f := self.facility_by_id.get(fid)) is not None and f.daily_order_limit is not None
            and self.load_today(f) >= f.daily_order_limit
        ]

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

    def _returned_facilities(self, demand: Demand, candidates: CandidateSet) -> tuple[list[Facility], int]:
        """Facilities to evaluate when the database chose the candidates: those it returned and the item's special
        ones; the facilities with no stock record are counted."""
        ids = dict.fromkeys(candidates.facility_ids)
        without_level = 0
        for fid in (demand.pickup_facility_id, demand.just_rejected_facility_id):
            if fid is not None and fid not in ids and fid in self.facility_by_id:
                ids[fid] = None
                without_level += self.stock.level(fid, demand.product_id) is None
        listed = [self.facility_by_id[fid] for fid in ids if fid in self.facility_by_id]
        return listed, max(0, len(self.facilities) - candidates.level_count - without_level)

    def _evaluate(self, demand: Demand, facility: Facility, rule: RoutingRule) -> _Evaluation:
        distance = self._distance(demand, facility)
        level = self.stock.level(facility.id, demand.product_id)
        routable = 0 if level is None else self._routable(level, facility)
        ev = _Evaluation(facility, distance, routable, None)
        if facility.id == demand.just_rejected_facility_id:
            ev.code = explain.JUST_REJECTED
        elif demand.shipping_method == ShippingMethod.STORE_PICKUP and facility.id != demand.pickup_facility_id:
            ev.code = explain.NOT_PICKUP_STORE
        elif rule.exclude_rejecting_facilities and facility.id in demand.rejected_on:
            ev.code, ev.n = explain.REJECTED_BEFORE, {"day": demand.rejected_on[facility.id].isoformat()}
        elif not facility.is_active:
            ev.code = explain.INACTIVE
        elif not facility.allows_routing:
            ev.code = explain.NOT_ROUTING
        elif rule.facility_kind and facility.kind != rule.facility_kind:
            ev.code, ev.n = explain.WRONG_KIND, {"kind": facility.kind, "wanted": rule.facility_kind}
        elif rule.facility_group_id and facility.id not in self.group_members.get(rule.facility_group_id, set()):
            ev.code, ev.n = explain.NOT_IN_GROUP, {"group": rule.facility_group.name}
        elif rule.max_distance_km is not None and distance > rule.max_distance_km:
            ev.code, ev.n = explain.TOO_FAR, {"km": distance, "limit": rule.max_distance_km}
        elif facility.daily_order_limit is not None and self.load_today(facility) >= facility.daily_order_limit:
            ev.code, ev.n = explain.OVER_DAILY_LIMIT, {"load": self.load_today(facility), "limit": facility.daily_order_limit}
        elif getattr(level, "busy", False):
            ev.code = explain.BUSY
        elif routable <= 0:
            ev.code = explain.NO_ATP
            ev.n = {"atp": level.available_to_promise if level else 0, "held_back": self.held_back(facility, demand.product_id)}
        elif routable < demand.quantity and not rule.allow_split:
            ev.code, ev.n = explain.TOO_FEW, {"routable": routable, "needed": demand.quantity}
        return ev

    @staticmethod
    def _sort_key(rule: RoutingRule):
        if rule.sort == RoutingRule.Sort.INVENTORY_BALANCE:
            return lambda ev: (-ev.routable, ev.distance, ev.facility.priority, ev.facility.code)
        if rule.sort == RoutingRule.Sort.PRIORITY:
            return lambda ev: (ev.facility.priority, ev.distance, ev.facility.code)
        return lambda ev: (round(ev.distance, 3), ev.facility.priority, ev.facility.code)

    @staticmethod
    def _lost_to(rule: RoutingRule, ev: _Evaluation, winner: _Evaluation, whole_line: int | None = None) -> tuple[str, dict]:
        w = winner.facility.code
        if whole_line is not None and ev.routable < whole_line:  # a split rule passed over it for a whole-line facility
            return explain.LOST_WHOLE_LINE, {"routable": ev.routable, "needed": whole_line, "winner": w}
        if rule.sort == RoutingRule.Sort.INVENTORY_BALANCE and ev.routable != winner.routable:
            return explain.LOST_BALANCE, {"routable": ev.routable, "winner": w, "winner_routable": winner.routable}
        if rule.sort == RoutingRule.Sort.PRIORITY and ev.facility.priority != winner.facility.priority:
            return explain.LOST_PRIORITY, {"priority": ev.facility.priority, "winner": w,
                                           "winner_priority": winner.facility.priority}
        if round(ev.distance, 3) != round(winner.distance, 3):
            return explain.LOST_DISTANCE, {"km": round(ev.distance, 1), "winner": w, "winner_km": round(winner.distance, 1)}
        return explain.LOST_TIE, {"winner": w}

    def _final_code(self, ev: _Evaluation, rule, chosen: dict[int, int], winner, whole_line) -> tuple[str, dict]:
        fid = ev.facility.id
        if fid in chosen:
            return explain.CHOSEN, {"quantity": chosen[fid]}
        if ev.code is not None:
            return ev.code, ev.n
        if winner is not None and len(chosen) > 1:  # a split: the parts before it covered the line
            return explain.NOT_NEEDED, {"covered": [self.facility_by_id[f].code for f in chosen]}
        if winner is not None:
            return self._lost_to(rule, ev, winner, whole_line)
        return explain.NOT_PLACED, {}

    @staticmethod
    def _group_numbers(code: str, rule: RoutingRule | None, demand: Demand, winner) -> dict:
        """The numbers a group's reason shows (explain.group_text): the same for every member."""
        if code == explain.TOO_FAR and rule is not None:
            return {"limit": rule.max_distance_km}
        if code == explain.TOO_FEW:
            return {"needed": demand.quantity}
        if code == explain.WRONG_KIND and rule is not None:
            return {"wanted": rule.facility_kind}
        if code == explain.NOT_IN_GROUP and rule is not None and rule.facility_group_id:
            return {"group": rule.facility_group.name}
        if code.startswith("LOST_") and winner is not None:
            return {"winner": winner.facility.code}
        if code == explain.NOT_NEEDED and winner is not None:
            return {"covered": []}
        return {}

    def _eligible_group_code(self, rule, chosen, winner) -> str:
        """What the eligible facilities the database counted (not returned) lost to, once the winner is known."""
        if winner is None:
            return explain.NOT_PLACED
        if len(chosen) > 1:
            return explain.NOT_NEEDED
        return {RoutingRule.Sort.INVENTORY_BALANCE: explain.LOST_BALANCE,
                RoutingRule.Sort.PRIORITY: explain.LOST_PRIORITY}.get(rule.sort, explain.LOST_DISTANCE)

    def _explain(self, demand: Demand, evaluations: list[_Evaluation], rule: RoutingRule | None, chosen: dict[int, int],
                 winner, unlisted: int, counted: list[dict]) -> list[dict]:
        """Facts, one row per listed candidate; past LISTED_CANDIDATES the farther ordinary ones are counted by reason.

        Always listed one by one: the chosen facilities, facilities that rejected the item, and the nearest others up to
        LISTED_CANDIDATES. The rest (large chains) become one row per reason code with its count and distance range,
        merged with the levels the database counted without returning them (`counted`), so every facility is still
        accounted for while a decision stays small. Sentences are made when shown (routing/explain.py).
        """
        whole_line = next(iter(chosen.values())) if len(chosen) == 1 else None
        rule_name = rule.name if rule else ""
        listed, groups = [], {}
        ordered = sorted(evaluations, key=lambda e: e.distance) if len(evaluations) > LISTED_CANDIDATES or counted \
            else evaluations
        for ev in ordered:
            code, n = self._final_code(ev, rule, chosen, winner, whole_line)
            distance = round(ev.distance, 1)
            if code in ALWAYS_LISTED or len(listed) < LISTED_CANDIDATES:
                listed.append({
                    "facility": ev.facility.code, "name": ev.facility.name, "distance_km": distance,
                    "routable_atp": ev.routable, "chosen": code == explain.CHOSEN, "code": code, "n": n, "rule": rule_name,
                })
            else:
                _group_add(groups, code, 1, distance, distance, ev.routable)
        for group in counted:
            code = group["code"]
            if code == explain.ELIGIBLE:
                code = self._eligible_group_code(rule, chosen, winner)
            _group_add(groups, code, group["count"], group["min_km"], group["max_km"], group["routable_atp"])
        for code, g in sorted(groups.items(), key=lambda kv: kv[1]["min_km"]):
            n = self._group_numbers(code, rule, demand, winner)
            if code == explain.NOT_NEEDED:
                n = {"covered": [self.facility_by_id[f].code for f in chosen]}
            listed.append({"group": code, "count": g["count"], "min_km": round(g["min_km"], 1),
                           "max_km": round(g["max_km"], 1), "routable_atp": g["routable_atp"], "n": n, "rule": rule_name})
        if unlisted:
            listed.append({"group": explain.NO_STOCK_RECORD, "count": unlisted, "min_km": None, "max_km": None,
                           "routable_atp": 0, "n": {}, "rule": rule_name})
        return listed

    # -- routing -------------------------------------------------------------------------------------------------
    def route(self, demand: Demand) -> Plan:
        """Decide one demand. With a candidate source, on the candidates the database chose; when they cannot prove
        the decision, on every level of the product (the stock reads them)."""
        try:
            plan = self._route(demand, bounded=self.candidates is not None)
        except Undecidable:
            plan = self._route(demand, bounded=False)
        plan.facility_by_id = self.facility_by_id
        return plan

    def _route(self, demand: Demand, *, bounded: bool) -> Plan:
        rules = [r for r in self.rules if not r.shipping_methods or demand.shipping_method in r.shipping_methods]
        if not rules:
            return Plan(demand, [], None, f"{PARKED_NO_RULE} to {demand.shipping_method} orders.", [], ParkedKind.NO_RULE)
        last = ([], None, 0, [])
        for rule in rules:
            candidates = self.candidates.get(rule, demand) if bounded else None
            if candidates is None:
                listed, unlisted = self._candidate_facilities(demand)
                counted = []
            else:
                listed, unlisted = self._returned_facilities(demand, candidates)
                counted = candidates.groups
            evaluations = [self._evaluate(demand, f, rule) for f in listed]
            eligible = sorted((ev for ev in evaluations if ev.code is None), key=self._sort_key(rule))
            allocations = self._allocate(demand, rule, eligible)
            if candidates is not None and not self._proven(demand, rule, candidates, eligible, allocations):
                raise Undecidable
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
                return Plan(demand, allocations, rule, summary[:300],
                            self._explain(demand, evaluations, rule, chosen, winner, unlisted, counted))
            last = (evaluations, rule, unlisted, counted)
        kind, summary = self._parked_summary(demand, rules)
        evaluations, rule, unlisted, counted = last
        return Plan(demand, [], None, summary[:300], self._explain(demand, evaluations, rule, {}, None, unlisted, counted), kind)

    def _proven(self, demand: Demand, rule: RoutingRule, candidates: CandidateSet, eligible: list[_Evaluation],
                allocations: list[tuple[int, int]]) -> bool:
        """Whether a decision made on the returned candidates is the one every level would give.

        A facility not returned ranked after the last returned member of its set (the cut) when read; the batch's
        earlier items only take units, so it can only have fallen since. A choice that ranks no later than the cut
        is therefore the first of all; a set returned whole (no cut) holds every facility that could be chosen."""
        key = self._sort_key(rule)

        def cut_key(name):
            rows = candidates.cut.get(name)
            if rows is None:
                return None
            return max(key(_Evaluation(self.facility_by_id[f], self._distance(demand, self.facility_by_id[f]), r, None))
                       for f, r in rows)

        if not rule.allow_split:
            cut = cut_key("eligible")
            return cut is None or (bool(allocations) and key(eligible[0]) <= cut)
        whole = [ev for ev in eligible if ev.routable >= demand.quantity]
        whole_cut = cut_key("whole")
        if whole:
            return whole_cut is None or key(whole[0]) <= whole_cut
        if whole_cut is not None:
            return False
        cut = cut_key("eligible")
        if cut is None:
            return True
        used = {f for f, _ in allocations}
        return bool(allocations) and all(key(ev) <= cut for ev in eligible if ev.facility.id in used)

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


def _group_add(groups: dict, code: str, count: int, min_km: float, max_km: float, routable: int) -> None:
    g = groups.get(code)
    if g is None:
        groups[code] = {"count": count, "min_km": min_km, "max_km": max_km, "routable_atp": routable}
    else:
        g["count"] += count
        g["min_km"], g["max_km"] = min(g["min_km"], min_km), max(g["max_km"], max_km)
        g["routable_atp"] = max(g["routable_atp"], routable)

