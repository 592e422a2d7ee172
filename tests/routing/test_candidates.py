"""The database chooses the candidates (routing/candidates.py), Python allocates: the same decisions as the engine
deciding on every level of every product.

A chain of 90 facilities (warehouses stock every product, stores about 40 %, as the volume data), every rule shape
(nearest, most routable ATP, priority; kind, group and distance filters; split lines; rejected-by kept or not), safety
stock, daily limits, inactive and closed facilities, pickup orders and items rejected before. 2,400 demands, decided in
batches of 300 (each batch lowering ATP in memory as its items take units), once on every level (the reference, as
SQLite decides) and once on the candidates the database returns; the digests of (item, facility, quantity) must match.
Run again with no product returned whole, so that every item is decided on the rows the query chose (the batch's
earlier items often take the best one's units: those items are decided again on every level of their product).
"""

from __future__ import annotations

import hashlib
import random
from datetime import date

import pytest
from django.db import connection

from inventory.models import Facility, FacilityGroup, InventoryLevel, Product
from inventory.selectors import level_rows_read, stock_snapshot_read
from inventory.stock import StockSnapshot
from routing import candidates as candidate_query
from routing import explain
from routing.engine import Demand, Router
from routing.models import RoutingRule
from routing.selectors import routing_config

pytestmark = pytest.mark.django_db
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the candidate query is PostgreSQL's; SQLite decides on every level"
)

FACILITIES, PRODUCTS, DEMANDS, BATCH = 90, 30, 2400, 300
METHODS = ["STANDARD", "STANDARD", "EXPRESS", "SAME_DAY", "STORE_PICKUP"]


def build_chain(rng: random.Random) -> tuple[list[Facility], list[Product]]:
    RoutingRule.objects.all().delete()
    facilities = []
    for n in range(FACILITIES):
        warehouse = n % 9 == 0
        facilities.append(Facility(
            code=f"C{n:03d}", name=f"Chain {n:03d}", kind="WAREHOUSE" if warehouse else "STORE",
            latitude=rng.uniform(33, 45), longitude=rng.uniform(-95, -72),
            is_active=rng.random() > 0.04, allows_routing=rng.random() > 0.05, allows_pickup=not warehouse,
            priority=rng.choice([10, 50, 100, 100, 200]), safety_stock=rng.choice([0, 0, 0, 1, 2]),
            daily_order_limit=rng.choice([None] * 8 + [3, 20]),
        ))
    Facility.objects.bulk_create(facilities)
    facilities = list(Facility.objects.filter(code__startswith="C").order_by("pk"))
    hubs = FacilityGroup.objects.create(name="Express hubs")
    hubs.facilities.set([f for f in facilities if rng.random() < 0.5])
    products = Product.objects.bulk_create([Product(sku=f"EQ-{n:03d}", name=f"Equivalence {n}") for n in range(PRODUCTS)])
    levels = []
    for product in products:
        for f in facilities:
            if f.kind == "WAREHOUSE" or rng.random() < 0.4:
                qoh = rng.choice([0, 0, 1, 2, 3, 5, 8, 20])
                levels.append(InventoryLevel(
                    facility=f, product=product, quantity_on_hand=qoh, available_to_promise=qoh,
                    safety_stock=rng.choice([None] * 6 + [0, 1, 3]),
                ))
    InventoryLevel.objects.bulk_create(levels)
    rule = RoutingRule.objects.create
    rule(name="Same day: stores within 60 km", sequence=10, shipping_methods=["SAME_DAY"], facility_kind="STORE",
         max_distance_km=60)
    rule(name="Same day: anything within 250 km, split", sequence=15, shipping_methods=["SAME_DAY"],
         max_distance_km=250, allow_split=True)
    rule(name="Express: hubs with the most stock", sequence=20, shipping_methods=["EXPRESS"], facility_group=hubs,
         sort=RoutingRule.Sort.INVENTORY_BALANCE)
    rule(name="Express: by priority, split", sequence=25, shipping_methods=["EXPRESS"], sort=RoutingRule.Sort.PRIORITY,
         allow_split=True)
    rule(name="Pickup store", sequence=30, shipping_methods=["STORE_PICKUP"])
    rule(name="Standard: warehouses first", sequence=40, shipping_methods=["STANDARD"], facility_kind="WAREHOUSE",
         exclude_rejecting_facilities=False)
    rule(name="Standard: nearest within 900 km", sequence=45, shipping_methods=["STANDARD"], max_distance_km=900)
    rule(name="Anything, split, most stock", sequence=90, sort=RoutingRule.Sort.INVENTORY_BALANCE, allow_split=True)
    return facilities, products


def corpus(rng: random.Random, facilities, products) -> list[Demand]:
    stores = [f for f in facilities if f.kind == "STORE"]
    demands = []
    for key in range(1, DEMANDS + 1):
        method = rng.choice(METHODS)
        rejected = rng.sample(facilities, rng.choice([0, 0, 0, 1, 2, 5]))
        demands.append(Demand(
            key=key, product_id=rng.choice(products).pk, quantity=rng.choice([1, 1, 1, 2, 3, 6]), shipping_method=method,
            latitude=rng.uniform(33, 45), longitude=rng.uniform(-95, -72),
            pickup_facility_id=rng.choice(stores).pk if method == "STORE_PICKUP" else None,
            rejected_on={f.pk: date(2026, 11, rng.randint(1, 30)) for f in rejected},
            just_rejected_facility_id=rejected[0].pk if rejected and rng.random() < 0.5 else None,
        ))
    return demands


def decide(demands: list[Demand], *, bounded: bool) -> tuple[list, list[BatchStats]]:
    """Every demand's plan, in batches; each batch on a fresh router (as items_place), stock as read at its start."""
    config = routing_config()
    plans, stats = [], []
    for start in range(0, len(demands), BATCH):
        batch = demands[start:start + BATCH]
        if bounded:
            stock = StockSnapshot(loader=level_rows_read)
        else:
            stock = stock_snapshot_read(product_ids={d.product_id for d in batch})
        router = Router(facilities=config.facilities, facility_by_id=config.facility_by_id, rules=config.rules,
                        group_members=config.group_members, stock=stock, daily_loads={})
        source = None
        if bounded:
            source = router.candidates = candidate_query.BatchCandidates(router=router, stock=stock, demands=batch)
        plans += [router.route(d) for d in batch]
        stats.append(BatchStats(source, stock))
    return plans, stats


class BatchStats:
    def __init__(self, source, stock):
        self.queries = source.queries if source else 0
        self.rows_read = source.rows_read if source else 0
        self.asked = source.asked if source else 0
        self.whole_products = len(stock._complete) if source else 0


def digest(plans) -> str:
    text = "\n".join(f"{p.demand.key}:{p.allocations}:{p.parked_kind}" for p in plans)
    return hashlib.sha256(text.encode()).hexdigest()


def accounted(plan) -> int:
    """Facilities the Why-here table accounts for: each listed row, and each group's count."""
    return sum(c.get("count", 1) for c in plan.candidates)


@needs_postgres
@pytest.mark.parametrize("return_all", [candidate_query.RETURN_ALL_UP_TO, 0], ids=["as configured", "never whole"])
def test_the_candidates_the_database_chooses_give_the_same_decisions(monkeypatch, return_all):
    rng = random.Random(20261203)
    facilities, products = build_chain(rng)
    demands = corpus(rng, facilities, products)
    reference, _ = decide(demands, bounded=False)

    monkeypatch.setattr(candidate_query, "RETURN_ALL_UP_TO", return_all)
    chosen_by_database, stats = decide(demands, bounded=True)

    assert digest(chosen_by_database) == digest(reference)
    placed = sum(1 for p in reference if p.allocations)
    assert 0.3 * DEMANDS < placed < DEMANDS  # the corpus places most items and parks some: both paths are exercised
    assert any(len(p.allocations) > 1 for p in reference)  # and splits lines
    everyone = len(Facility.objects.all())
    for plan in chosen_by_database:
        if plan.candidates:
            assert accounted(plan) == everyone, plan.candidates  # every facility accounted for, listed or counted
            assert all(row["reason"] for row in explain.candidate_rows(plan.candidates))
    for s in stats:  # one query per rule tried, whatever the batch's size
        assert s.queries <= len(RoutingRule.objects.all())


@needs_postgres
def test_the_candidate_query_returns_few_rows_per_item_whatever_the_chain(monkeypatch):
    """At 90 facilities a product is stocked at ~41: the query returns one row per reason (with the nearest level of
    that reason, and for the eligible ones the best) and the facilities the item names, and counts the rest."""
    rng = random.Random(7)
    facilities, products = build_chain(rng)
    demands = [d for d in corpus(rng, facilities, products) if d.shipping_method == "STANDARD"][:200]
    monkeypatch.setattr(candidate_query, "RETURN_ALL_UP_TO", 0)
    plans, stats = decide(demands, bounded=True)
    rows_per_item = stats[0].rows_read / stats[0].asked
    named = max(len(d.rejected_on) for d in demands) + 2
    assert rows_per_item <= len(candidate_query.CODES) + named, rows_per_item
    grouped = [c for p in plans for c in p.candidates if "group" in c and c["group"] != explain.NO_STOCK_RECORD]
    assert grouped and all(0 <= c["min_km"] <= c["max_km"] for c in grouped)


def test_sqlite_and_a_snapshot_decide_on_every_level():
    """Without PostgreSQL (or over a snapshot of every level) the router decides on every level of the batch's
    products, read in one query: the reference the candidate query is compared with."""
    rng = random.Random(3)
    facilities, products = build_chain(rng)
    demands = corpus(rng, facilities, products)[:100]
    from routing.services import routing_session_open

    stock = stock_snapshot_read(product_ids={d.product_id for d in demands})
    session = routing_session_open(stock=stock)
    plans = session.route_all(demands)
    reference, _ = decide(demands, bounded=False)
    assert digest(plans) == digest(reference)
    assert session.router.candidates is None
