"""The database chooses the candidates (PostgreSQL): per rule, one query for the items of a batch.

For each item it returns the rows the engine needs and counts the rest:
- every level of the product, when the product has at most RETURN_ALL_UP_TO levels (the engine then decides on all of
  them, exactly as on a snapshot);
- else the best TOP_K eligible levels in the rule's order (for split rules also the best TOP_K with the whole line),
  the LISTED_NEAREST nearest levels whatever their reason, and the levels of the facilities the item names (its pickup
  store, the store that just rejected it, stores that rejected it before); every other level is counted by reason
  code with its distance range and its largest routable ATP.
Eligibility (active, accepting routed orders, kind, group, distance limit, daily limit, rejected-by, pickup, routable
ATP above safety stock) is applied in SQL with the engine's reason codes; distances are compared as chord lengths
between unit vectors (the same order as great-circle distance, without trigonometry per level), and the engine computes
the great-circle distance of the rows it reads. Nothing reads every level of a product into Python: the rows read per
item are bounded by constants, whatever the chain's size.

The engine (routing/engine.py: Router) decides on these rows, lowering ATP in memory as the batch's items take units;
when the rows cannot prove a decision it reads every level of that one product (`Undecidable`). SQLite has no such
query: there the engine reads every level of the batch's products (inventory/selectors.py: stock_snapshot_read) and
decides the same way; tests/routing/test_candidates.py proves both give the same decisions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from inventory.stock import LevelRow, StockSnapshot

from .engine import EARTH_RADIUS_KM, CandidateSet, Demand, Router
from .models import RoutingRule, ShippingMethod

TOP_K = 4  # best eligible levels returned per item and ranked set
LISTED_NEAREST = 12  # nearest levels returned per item, whatever their reason (the Why-here table lists them)
RETURN_ALL_UP_TO = 24  # a product with at most this many levels is returned whole

_SORT = {
    RoutingRule.Sort.PROXIMITY: "chord2, priority, code",
    RoutingRule.Sort.INVENTORY_BALANCE: "routable DESC, chord2, priority, code",
    RoutingRule.Sort.PRIORITY: "priority, chord2, code",
}

_UNIT = ("cos(radians({lat})) * cos(radians({lon})) AS x, cos(radians({lat})) * sin(radians({lon})) AS y, "
         "sin(radians({lat})) AS z")  # the position as a unit vector

_QUERY = """
WITH d AS (
    SELECT d.key, d.product_id, d.qty, d.pickup_id, d.just_rejected_id, d.pickup_only, {demand_unit}
    FROM unnest(%(keys)s::bigint[], %(products)s::bigint[], %(quantities)s::int[], %(lats)s::float8[],
                %(lons)s::float8[], %(pickups)s::bigint[], %(just_rejected)s::bigint[], %(pickup_only)s::bool[])
         AS d(key, product_id, qty, lat, lon, pickup_id, just_rejected_id, pickup_only)
), f AS (
    SELECT f.id, f.code COLLATE "C" AS code, f.priority, f.safety_stock, {facility_unit},
           CASE WHEN NOT f.is_active THEN 'INACTIVE'
                WHEN NOT f.allows_routing THEN 'NOT_ROUTING'
                WHEN %(kind)s <> '' AND f.kind <> %(kind)s THEN 'WRONG_KIND'
                WHEN %(in_group)s AND NOT (f.id = ANY(%(members)s::bigint[])) THEN 'NOT_IN_GROUP'
           END AS static_code,
           f.id = ANY(%(full)s::bigint[]) AS full_today
    FROM inventory_facility f
), rb AS (
    SELECT * FROM unnest(%(rb_keys)s::bigint[], %(rb_facilities)s::bigint[]) AS rb(key, facility_id)
), lv AS (
    SELECT d.key, d.qty, l.id AS level_id, l.facility_id, l.product_id, l.available_to_promise AS atp, l.safety_stock,
           GREATEST(0, l.available_to_promise - COALESCE(l.safety_stock, f.safety_stock)) AS routable,
           (f.x - d.x) * (f.x - d.x) + (f.y - d.y) * (f.y - d.y) + (f.z - d.z) * (f.z - d.z) AS chord2,
           f.priority, f.code, f.static_code, f.full_today,
           l.facility_id IS NOT DISTINCT FROM d.just_rejected_id AS just_rejected,
           d.pickup_only AND l.facility_id IS DISTINCT FROM d.pickup_id AS not_pickup,
           rb.key IS NOT NULL AS rejected_before,
           l.facility_id IS NOT DISTINCT FROM d.pickup_id OR l.facility_id IS NOT DISTINCT FROM d.just_rejected_id
           OR rb.key IS NOT NULL AS named
    FROM d
    JOIN inventory_inventorylevel l ON l.product_id = d.product_id
    JOIN f ON f.id = l.facility_id
    LEFT JOIN rb ON rb.key = d.key AND rb.facility_id = l.facility_id
), ev AS (
    SELECT lv.*,
           CASE WHEN just_rejected THEN 'JUST_REJECTED'
                WHEN not_pickup THEN 'NOT_PICKUP_STORE'
                WHEN rejected_before THEN 'REJECTED_BEFORE'
                WHEN static_code IS NOT NULL THEN static_code
                WHEN chord2 > %(max_chord2)s THEN 'TOO_FAR'
                WHEN full_today THEN 'OVER_DAILY_LIMIT'
                WHEN routable <= 0 THEN 'NO_ATP'
                WHEN NOT %(split)s AND routable < qty THEN 'TOO_FEW'
                ELSE 'ELIGIBLE'
           END AS reason
    FROM lv
), ranked AS (
    SELECT ev.*,
           count(*) OVER per_item AS total,
           CASE WHEN reason = 'ELIGIBLE' THEN row_number() OVER eligible_order END AS erank,
           count(*) FILTER (WHERE reason = 'ELIGIBLE') OVER per_item AS etotal,
           CASE WHEN reason = 'ELIGIBLE' AND routable >= qty THEN row_number() OVER whole_order END AS wrank,
           count(*) FILTER (WHERE reason = 'ELIGIBLE' AND routable >= qty) OVER per_item AS wtotal,
           row_number() OVER (PARTITION BY key ORDER BY chord2, code) AS nrank
    FROM ev
    WINDOW per_item AS (PARTITION BY key),
           eligible_order AS (PARTITION BY key, reason = 'ELIGIBLE' ORDER BY {sort}),
           whole_order AS (PARTITION BY key, reason = 'ELIGIBLE' AND routable >= qty ORDER BY {sort})
), picked AS (
    SELECT ranked.*,
           (total <= %(return_all)s OR erank <= %(k)s OR wrank <= %(k)s OR nrank <= %(listed)s OR named) IS TRUE
           AS returned
    FROM ranked
)
SELECT key, true, level_id, facility_id, product_id, atp, safety_stock, reason, erank, wrank, etotal, wtotal, total,
       routable, NULL::float8, NULL::float8, NULL::bigint
FROM picked WHERE returned
UNION ALL
SELECT key, false, NULL, NULL, NULL, NULL, NULL, reason, NULL, NULL, NULL, NULL, NULL,
       max(routable), min(chord2), max(chord2), count(*)
FROM picked WHERE NOT returned GROUP BY key, reason
"""


def chord_km(chord2: float) -> float:
    """Great-circle distance (km) of a squared chord between unit vectors."""
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(max(0.0, chord2)) / 2))


def _max_chord2(km: int | None) -> float:
    if km is None:
        return float("inf")
    return (2 * math.sin(min(math.pi / 2, km / (2 * EARTH_RADIUS_KM)))) ** 2


class BatchCandidates:
    """The candidate sets of a batch's demands, read per rule when a demand first needs that rule (one query per rule
    for the demands from that one on), decided in the batch's order by the router (routing/services.py)."""

    def __init__(self, *, router: Router, stock: StockSnapshot, demands: Sequence[Demand]):
        self.router = router
        self.stock = stock
        self.demands = list(demands)
        self._position = {d.key: i for i, d in enumerate(self.demands)}
        self._sets: dict[int, dict[int, CandidateSet | None]] = {}  # rule pk -> demand key -> its set
        self.queries = 0
        self.rows_read = 0  # rows the queries returned
        self.asked = 0  # demands the queries were asked about (a demand once per rule it needed)

    def get(self, rule: RoutingRule, demand: Demand) -> CandidateSet | None:
        if self.stock.holds_product(demand.product_id):
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

    def _read(self, rule: RoutingRule, demands: list[Demand]) -> dict[int, CandidateSet | None]:
        rb_keys, rb_facilities = [], []
        if rule.exclude_rejecting_facilities:
            for d in demands:
                for facility_id in d.rejected_on:
                    rb_keys.append(d.key)
                    rb_facilities.append(facility_id)
        members = sorted(self.router.group_members.get(rule.facility_group_id, set())) if rule.facility_group_id else []
        params = {
            "keys": [d.key for d in demands],
            "products": [d.product_id for d in demands],
            "quantities": [d.quantity for d in demands],
            "lats": [d.latitude for d in demands],
            "lons": [d.longitude for d in demands],
            "pickups": [d.pickup_facility_id for d in demands],
            "just_rejected": [d.just_rejected_facility_id for d in demands],
            "pickup_only": [d.shipping_method == ShippingMethod.STORE_PICKUP for d in demands],
            "kind": rule.facility_kind or "",
            "in_group": bool(rule.facility_group_id),
            "members": members,
            "full": sorted(self.router.over_daily_limit()),
            "rb_keys": rb_keys,
            "rb_facilities": rb_facilities,
            "max_chord2": _max_chord2(rule.max_distance_km),
            "split": bool(rule.allow_split),
            "return_all": RETURN_ALL_UP_TO,
            "k": TOP_K,
            "listed": LISTED_NEAREST,
        }
        sql = _QUERY.format(
            sort=_SORT.get(rule.sort, _SORT[RoutingRule.Sort.PROXIMITY]),
            demand_unit=_UNIT.format(lat="d.lat", lon="d.lon"),
            facility_unit=_UNIT.format(lat="f.latitude", lon="f.longitude"),
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        self.queries += 1
        self.rows_read += len(rows)
        self.asked += len(demands)
        return self._sets_from(rule, demands, rows)

    def _sets_from(self, rule: RoutingRule, demands: list[Demand], rows) -> dict[int, CandidateSet | None]:
        returned: dict[int, list] = {d.key: [] for d in demands}
        groups: dict[int, list[dict]] = {d.key: [] for d in demands}
        for (key, is_row, level_id, facility_id, product_id, atp, safety_stock, reason, erank, wrank, etotal, wtotal,
             total, routable, min_chord2, max_chord2, count) in rows:
            if is_row:
                returned[key].append(_Returned(LevelRow(level_id, facility_id, product_id, atp, safety_stock), erank,
                                               wrank, etotal, wtotal, total, routable))
            else:
                groups[key].append({"code": reason, "count": count, "min_km": chord_km(min_chord2),
                                    "max_km": chord_km(max_chord2), "routable_atp": routable})
        sets: dict[int, CandidateSet | None] = {}
        for d in demands:
            rows_of = returned[d.key]
            self.stock.add(r.level for r in rows_of)
            if not groups[d.key]:  # every level returned (or none exists): the engine decides on them all
                self.stock.add((), complete_products=[d.product_id])
                sets[d.key] = None
                continue
            first = rows_of[0] if rows_of else None
            cut: dict[str, list[tuple[int, int]] | None] = {"eligible": None, "whole": None}
            if first is not None and first.etotal > TOP_K:
                cut["eligible"] = [(r.level.facility_id, r.routable) for r in rows_of if r.erank is not None and r.erank <= TOP_K]
            if rule.allow_split and first is not None and first.wtotal > TOP_K:
                cut["whole"] = [(r.level.facility_id, r.routable) for r in rows_of if r.wrank is not None and r.wrank <= TOP_K]
            total = first.total if first is not None else sum(g["count"] for g in groups[d.key])
            sets[d.key] = CandidateSet(
                facility_ids=[r.level.facility_id for r in rows_of], cut=cut, groups=groups[d.key], level_count=total
            )
        return sets


@dataclass
class _Returned:
    level: LevelRow
    erank: int | None
    wrank: int | None
    etotal: int
    wtotal: int
    total: int
    routable: int


