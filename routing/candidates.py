"""The database chooses the candidates (PostgreSQL): per rule, one query for the items of a batch.

For each item the query scans the product's levels once (an index-only scan of `inventory_level_routing_idx`), gives
each level the engine's reason code, and returns one row per reason: how many levels, their distance range, their
largest routable ATP, the nearest of them, and for the eligible ones the best in the rule's order (and, for split
rules, the best with the whole line). The facilities the item names (its pickup store, the store that just rejected
it, stores that rejected it before) come back on rows of their own. A product with at most RETURN_ALL_UP_TO levels
comes back whole, and the engine decides on every level as it would on a snapshot.

Facilities are not joined: their positions (unit vectors), priorities, codes' order and safety stock are passed as
arrays indexed by facility id, kept per process with the routing configuration (its version stamp), and the rule's
facility filters (active, accepting routed orders, kind, group) as one array of reason codes per rule. Distances are
compared as chord lengths between unit vectors (the order of great-circle distance, without trigonometry per level).

So the rows read per item are bounded by the number of reasons, whatever the chain's size, and nothing reads every level
of a product into Python. The engine (routing/engine.py: Router) decides on these rows, lowering ATP in memory as the
batch's items take units; when they cannot prove a decision (a batch-mate took the best one's units), it reads every
level of that one product (`Undecidable`). SQLite has no such query: there the engine reads every level of the batch's
products (inventory/selectors.py: stock_snapshot_read); tests/routing/test_candidates.py proves both decide the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from inventory.models import Facility
from inventory.stock import LevelRow, StockSnapshot

from . import explain
from .engine import EARTH_RADIUS_KM, CandidateSet, Demand, Router
from .models import RoutingRule, ShippingMethod

RETURN_ALL_UP_TO = 24  # a product with at most this many levels comes back whole
LARGEST_FACILITY_ID = 1_000_000  # facility attributes travel as arrays indexed by id; past this, every level is read

# Reason codes as small integers in SQL (0 = eligible), in the engine's order of checks.
CODES = [
    explain.ELIGIBLE, explain.JUST_REJECTED, explain.NOT_PICKUP_STORE, explain.REJECTED_BEFORE, explain.INACTIVE,
    explain.NOT_ROUTING, explain.WRONG_KIND, explain.NOT_IN_GROUP, explain.TOO_FAR, explain.OVER_DAILY_LIMIT,
    explain.NO_ATP, explain.TOO_FEW,
]
_CODE = {code: n for n, code in enumerate(CODES)}

# The rule's order as an array key (smaller first); the facility's code order breaks ties (its rank by code).
_KEY = {
    RoutingRule.Sort.PROXIMITY: "ARRAY[chord2, prio, code_rank",
    RoutingRule.Sort.INVENTORY_BALANCE: "ARRAY[-routable, chord2, prio, code_rank",
    RoutingRule.Sort.PRIORITY: "ARRAY[prio, chord2, code_rank",
}
_ROW = "level_id, fid, atp, safety]"  # what the engine needs of a level, after the key

_QUERY = """
SELECT d.key, g.reason, g.named, g.n, g.whole_n, g.min_chord2, g.max_chord2, g.max_routable, g.nearest, g.best,
       g.best_whole, g.members
FROM (
    SELECT u.*, string_to_array(u.rejected_before_list, ',')::bigint[] AS rejected_before,
           (SELECT count(*) FROM inventory_inventorylevel c WHERE c.product_id = u.product_id) AS total
    FROM unnest(%(keys)s::bigint[], %(products)s::bigint[], %(quantities)s::int[], %(xs)s::float8[],
                %(ys)s::float8[], %(zs)s::float8[], %(pickups)s::bigint[], %(just_rejected)s::bigint[],
                %(pickup_only)s::bool[], %(rejected_before)s::text[])
         AS u(key, product_id, qty, x, y, z, pickup_id, just_rejected_id, pickup_only, rejected_before_list)
) d
CROSS JOIN LATERAL (
    SELECT reason, named, count(*) AS n, count(*) FILTER (WHERE routable >= d.qty) AS whole_n,
           min(chord2) AS min_chord2, max(chord2) AS max_chord2, max(routable) AS max_routable,
           min(ARRAY[chord2, prio, code_rank, {row}) AS nearest,
           {best} AS best,
           {best_whole} AS best_whole,
           array_agg(ARRAY[{row}) FILTER (WHERE d.total <= %(return_all)s) AS members
    FROM (
        SELECT c.*,
               CASE WHEN fid = d.just_rejected_id THEN 1
                    WHEN d.pickup_only AND fid IS DISTINCT FROM d.pickup_id THEN 2
                    WHEN fid = ANY(d.rejected_before) THEN 3
                    WHEN static_code > 0 THEN static_code
                    WHEN chord2 > %(max_chord2)s THEN 8
                    WHEN fid = ANY(%(full)s::bigint[]) THEN 9
                    WHEN routable <= 0 THEN 10
                    WHEN NOT %(split)s AND routable < d.qty THEN 11
                    ELSE 0
               END AS reason,
               CASE WHEN fid = d.pickup_id OR fid = d.just_rejected_id
                         OR fid = ANY(d.rejected_before) THEN fid END AS named
        FROM (
            SELECT l.id::float8 AS level_id, l.facility_id AS fid, l.available_to_promise::float8 AS atp,
                   COALESCE(l.safety_stock, -1)::float8 AS safety,
                   GREATEST(0, l.available_to_promise - COALESCE(l.safety_stock, (%(fsafety)s::int[])[l.facility_id]))
                       AS routable,
                   ((%(fx)s::float8[])[l.facility_id] - d.x) ^ 2 + ((%(fy)s::float8[])[l.facility_id] - d.y) ^ 2
                       + ((%(fz)s::float8[])[l.facility_id] - d.z) ^ 2 AS chord2,
                   (%(fprio)s::float8[])[l.facility_id] AS prio, (%(frank)s::float8[])[l.facility_id] AS code_rank,
                   (%(static)s::int[])[l.facility_id] AS static_code
            FROM inventory_inventorylevel l
            WHERE l.product_id = d.product_id
        ) c
    ) r
    GROUP BY reason, named
) g
"""


def chord_km(chord2: float) -> float:
    """Great-circle distance (km) of a squared chord between unit vectors."""
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(max(0.0, chord2)) / 2))


def unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    lat, lon = math.radians(latitude), math.radians(longitude)
    return (math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat))


def _max_chord2(km: int | None) -> float:
    if km is None:
        return 8.0  # farther than any two points of the sphere (the largest squared chord is 4)
    return (2 * math.sin(min(math.pi / 2, km / (2 * EARTH_RADIUS_KM)))) ** 2


def _array(values) -> str:
    """An array literal without NULLs: PostgreSQL finds an element of a fixed-width array without NULLs by its offset,
    and of one with NULLs by counting (per level, per access)."""
    return f"[0:{len(values) - 1}]={{" + ",".join("0" if v is None else repr(v) for v in values) + "}"  # index = id


@dataclass(frozen=True)
class FacilityArrays:
    """The facilities' attributes as PostgreSQL array literals indexed by facility id (made once per configuration)."""

    x: str
    y: str
    z: str
    priority: str
    code_rank: str
    safety_stock: str
    size: int


def _facility_arrays(facilities: list[Facility]) -> FacilityArrays:
    size = max((f.id for f in facilities), default=0) + 1
    x, y, z, priority, rank, safety = ([None] * size for _ in range(6))
    for n, f in enumerate(sorted(facilities, key=lambda f: f.code), start=1):
        x[f.id], y[f.id], z[f.id] = unit_vector(f.latitude, f.longitude)
        priority[f.id], rank[f.id], safety[f.id] = float(f.priority), float(n), f.safety_stock
    return FacilityArrays(_array(x), _array(y), _array(z), _array(priority), _array(rank), _array(safety), size)


@dataclass(frozen=True)
class _Kept:
    """The arrays of the routing configuration this process holds (routing_config keeps its facilities list while the
    version stamp holds), and the rules' facility-filter arrays made for it: made again only when a router comes with
    another list. Swapped whole (one assignment), so a thread never sees one configuration's list with another's arrays."""

    facilities: list
    arrays: FacilityArrays
    static: dict  # id(rule) -> (rule, array literal)


_kept: _Kept | None = None


def _kept_for(facilities: list[Facility]) -> _Kept:
    global _kept
    kept = _kept
    if kept is None or kept.facilities is not facilities:
        kept = _kept = _Kept(facilities, _facility_arrays(facilities), {})
    return kept


class BatchCandidates:
    """The candidate sets of a batch's demands, read per rule when a demand first needs that rule (one query per rule
    for the demands from that one on), decided in the batch's order by the router (routing/services.py)."""

    def __init__(self, *, router: Router, stock: StockSnapshot, demands: Sequence[Demand]):
        self.router = router
        self.stock = stock
        self.demands = list(demands)
        self._position = {d.key: i for i, d in enumerate(self.demands)}
        self._sets: dict[int, dict[int, CandidateSet | None]] = {}  # rule pk -> demand key -> its set
        self._kept = _kept_for(router.facilities)
        self._arrays = self._kept.arrays
        self.queries = 0
        self.rows_read = 0  # rows the queries returned
        self.asked = 0  # demands the queries were asked about (a demand once per rule it needed)

    def get(self, rule: RoutingRule, demand: Demand) -> CandidateSet | None:
        if self.stock.holds_product(demand.product_id):
            return None
        if self._arrays.size > LARGEST_FACILITY_ID:
            self.stock.load({d.product_id for d in self.demands})
            return None
        sets = self._sets.setdefault(rule.pk, {})
        if demand.key not in sets:
            start = self._position.get(demand.key)
            wanted = [demand] if start is None else [
                d for d in self.demands[start:]
                if d.key not in sets and not self.stock.holds_product(d.product_id)
                and (not rule.shipping_methods or d.shipping_method in rule.shipping_methods)
            ]
            sets.update(self._read(rule, wanted))
        found = sets.get(demand.key)
        return None if self.stock.holds_product(demand.product_id) else found

    def _static_codes(self, rule: RoutingRule) -> str:
        """Per facility id, the first of the rule's facility filters it fails (0: none); kept with the arrays."""
        kept = self._kept.static.get(id(rule))
        if kept is None or kept[0] is not rule:
            kept = self._kept.static[id(rule)] = (rule, self._static_codes_made(rule))
        return kept[1]

    def _static_codes_made(self, rule: RoutingRule) -> str:
        members = self.router.group_members.get(rule.facility_group_id, set()) if rule.facility_group_id else None
        codes = [0] * self._arrays.size
        for f in self.router.facilities:
            if not f.is_active:
                codes[f.id] = _CODE[explain.INACTIVE]
            elif not f.allows_routing:
                codes[f.id] = _CODE[explain.NOT_ROUTING]
            elif rule.facility_kind and f.kind != rule.facility_kind:
                codes[f.id] = _CODE[explain.WRONG_KIND]
            elif members is not None and f.id not in members:
                codes[f.id] = _CODE[explain.NOT_IN_GROUP]
        return _array(codes)

    def _read(self, rule: RoutingRule, demands: list[Demand]) -> dict[int, CandidateSet | None]:
        units = [unit_vector(d.latitude, d.longitude) for d in demands]
        arrays = self._arrays
        params = {
            "keys": [d.key for d in demands],
            "products": [d.product_id for d in demands],
            "quantities": [d.quantity for d in demands],
            "xs": [u[0] for u in units], "ys": [u[1] for u in units], "zs": [u[2] for u in units],
            "pickups": [d.pickup_facility_id for d in demands],
            "just_rejected": [d.just_rejected_facility_id for d in demands],
            "pickup_only": [d.shipping_method == ShippingMethod.STORE_PICKUP for d in demands],
            "rejected_before": [
                ",".join(map(str, d.rejected_on)) if rule.exclude_rejecting_facilities and d.rejected_on else ""
                for d in demands
            ],
            "fx": arrays.x, "fy": arrays.y, "fz": arrays.z, "fprio": arrays.priority, "frank": arrays.code_rank,
            "fsafety": arrays.safety_stock,
            "static": self._static_codes(rule),
            "full": sorted(self.router.over_daily_limit()),
            "max_chord2": _max_chord2(rule.max_distance_km),
            "split": bool(rule.allow_split),
            "return_all": RETURN_ALL_UP_TO,
        }
        key = _KEY.get(rule.sort, _KEY[RoutingRule.Sort.PROXIMITY])
        sql = _QUERY.format(
            row=_ROW,
            best="NULL::float8[]" if rule.sort == RoutingRule.Sort.PROXIMITY
            else f"min({key}, {_ROW}) FILTER (WHERE reason = 0)",
            best_whole=f"min({key}, {_ROW}) FILTER (WHERE reason = 0 AND routable >= d.qty)" if rule.allow_split
            else "NULL::float8[]",
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        self.queries += 1
        self.rows_read += len(rows)
        self.asked += len(demands)
        return self._sets_from(rule, demands, rows)

    def _sets_from(self, rule: RoutingRule, demands: list[Demand], rows) -> dict[int, CandidateSet | None]:
        by_key: dict[int, list] = {d.key: [] for d in demands}
        for row in rows:
            by_key[row[0]].append(row)
        sets: dict[int, CandidateSet | None] = {}
        for d in demands:
            groups = by_key[d.key]
            if not groups or any(g[11] is not None for g in groups):  # no level, or few: every level came back
                self.stock.add((_level(m, d.product_id) for g in groups for m in (g[11] or ())),
                               complete_products=[d.product_id])
                sets[d.key] = None
                continue
            sets[d.key] = self._candidate_set(rule, d, groups)
        return sets

    def _candidate_set(self, rule: RoutingRule, demand: Demand, groups: list) -> CandidateSet:
        returned: dict[int, LevelRow] = {}
        counted = []
        cut: dict[str, list[tuple[int, int]] | None] = {"eligible": None, "whole": None}
        level_count = 0
        for (_key, reason, named, n, whole_n, min_chord2, max_chord2, max_routable, nearest, best, best_whole,
             _members) in groups:
            level_count += n
            taken = {}
            for found in (nearest[-4:], (best or nearest)[-4:] if reason == 0 else None,
                          best_whole[-4:] if best_whole else None):
                if found is not None:
                    level = _level(found, demand.product_id)
                    taken[level.facility_id] = level
            returned.update(taken)
            if reason == 0 and named is None:
                best_row = _level((best or nearest)[-4:], demand.product_id)
                if n > 1:
                    cut["eligible"] = [(best_row.facility_id, self._routable(best_row))]
                if rule.allow_split and whole_n > 1:
                    whole_row = _level(best_whole[-4:], demand.product_id)
                    cut["whole"] = [(whole_row.facility_id, self._routable(whole_row))]
            rest = n - len(taken)
            if rest > 0:
                counted.append({"code": CODES[reason], "count": rest, "min_km": chord_km(min_chord2),
                                "max_km": chord_km(max_chord2), "routable_atp": max_routable})
        self.stock.add(returned.values())
        return CandidateSet(facility_ids=list(returned), cut=cut, groups=counted, level_count=level_count)

    def _routable(self, level: LevelRow) -> int:
        facility = self.router.facility_by_id[level.facility_id]
        return self.router._routable(level, facility)


def _level(values, product_id: int) -> LevelRow:
    level_id, facility_id, atp, safety = values[-4:]
    return LevelRow(int(level_id), int(facility_id), product_id, int(atp), None if safety < 0 else int(safety))
