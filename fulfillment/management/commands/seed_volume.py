"""`manage.py seed_volume [--facilities 100] [--products 10000] [--orders 200000] [--reset | --delete]`

Store-chain volume data for benchmarks and load tests, written set-based (PostgreSQL COPY; batched INSERTs on SQLite):
facilities `V001`.., products `VSKU-000001`.., orders `#V0000001`.. — it lives beside `seed_demo`'s data and never
touches it. The whole data set is generated in memory first (a fixed random seed: the same data on every run), then
written table by table:

- facilities spread over 20 US metro areas (every 10th one a warehouse); `V001` is a flagship store that stocks
  every product and carries the heavy workload the benchmarks need (2,000 in-progress orders, 10,000 open items);
- inventory levels (warehouses stock every product, stores ~40% of them) with ledger rows that satisfy the ledger
  invariant: one RECEIPT row per level equal to its quantity on hand, one RESERVE row per open / in-progress item;
- orders placed over the last 120 days, most of them completed, the last three days open, in progress, parked or
  cancelled; every shipping method (store pickup items sit at their pickup store).

- a rejection history for the reports (``--rejections``, default 100,000, over the last ``--rejection-days``, default
  90): items of completed orders first routed to another store of their metro, rejected there (every reason, ~8 %
  parked and routed again later), each with its two routing decisions (comment ``seed_volume``);
- the ``RoutedUnitsDaily`` roll-up of every routed unit (the rejection rate's denominator).

Seeded history has no other routing decisions and no ledger rows of completed shipments or rejections: the levels are
what is left on the shelves now (the RECEIPT row equals it).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from fulfillment.management.base import BaseCommand, whole_number
from fulfillment.models import (
    BulkRejection,
    FacilityMembership,
    Notification,
    Order,
    OrderItem,
    PickupChoice,
    Rejection,
    RejectionPolicy,
    RejectionReason,
    RoutedUnitsDaily,
)
from fulfillment.policies import ReasonCode
from fulfillment.reports.periods import zone_of
from inventory.models import Facility, InventoryAdjustment, InventoryLevel, Product
from routing.models import FacilityDailyLoad, ParkedKind, RoutingDecision

FACILITY_NAME_PREFIX = "Volume "
PRODUCT_SKU_PREFIX = "VSKU-"
ORDER_NAME_PREFIX = "#V"
LEDGER_REFERENCE = "seed_volume"
FLAGSHIP_CODE = "V001"

# metro, latitude, longitude, time zone
METROS = [
    ("New York", 40.7128, -74.0060, "America/New_York"),
    ("Los Angeles", 34.0522, -118.2437, "America/Los_Angeles"),
    ("Chicago", 41.8781, -87.6298, "America/Chicago"),
    ("Houston", 29.7604, -95.3698, "America/Chicago"),
    ("Phoenix", 33.4484, -112.0740, "America/Phoenix"),
    ("Philadelphia", 39.9526, -75.1652, "America/New_York"),
    ("San Antonio", 29.4241, -98.4936, "America/Chicago"),
    ("San Diego", 32.7157, -117.1611, "America/Los_Angeles"),
    ("Dallas", 32.7767, -96.7970, "America/Chicago"),
    ("San Jose", 37.3382, -121.8863, "America/Los_Angeles"),
    ("Austin", 30.2672, -97.7431, "America/Chicago"),
    ("Jacksonville", 30.3322, -81.6557, "America/New_York"),
    ("Columbus", 39.9612, -82.9988, "America/New_York"),
    ("Charlotte", 35.2271, -80.8431, "America/New_York"),
    ("Seattle", 47.6062, -122.3321, "America/Los_Angeles"),
    ("Denver", 39.7392, -104.9903, "America/Denver"),
    ("Boston", 42.3601, -71.0589, "America/New_York"),
    ("Atlanta", 33.7490, -84.3880, "America/New_York"),
    ("Miami", 25.7617, -80.1918, "America/New_York"),
    ("Minneapolis", 44.9778, -93.2650, "America/Chicago"),
]
ADJECTIVES = ["Classic", "Everyday", "Relaxed", "Slim", "Organic", "Vintage", "Performance", "Cozy", "Essential", "Heritage",
              "Summer", "Winter", "Lightweight", "Premium", "Recycled", "Soft", "Stretch", "Waterproof", "Quilted", "Linen"]
MATERIALS = ["Cotton", "Wool", "Denim", "Fleece", "Leather", "Silk", "Cashmere", "Canvas", "Jersey", "Corduroy"]
NOUNS = ["T-Shirt", "Hoodie", "Jeans", "Jacket", "Sweater", "Dress", "Shorts", "Sneakers", "Scarf", "Beanie", "Tote Bag",
         "Chinos", "Parka", "Polo", "Cardigan", "Skirt", "Boots", "Socks", "Cap", "Blazer"]
COLOURS = ["Black", "White", "Navy", "Olive", "Grey", "Red", "Sand", "Blue", "Green", "Rust"]
SIZES = ["XS", "S", "M", "L", "XL"]
FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger", "Radia", "Tim",
               "Katherine", "John", "Hedy", "Guido", "Anita", "Donald", "Shafi", "Leslie", "Mary", "James", "Sofia", "Omar",
               "Priya", "Chen", "Lucia", "Mateo", "Amara", "Yuki"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Dijkstra",
              "Perlman", "Berners-Lee", "Johnson", "Backus", "Lamarr", "van Rossum", "Borg", "Knuth", "Goldwasser", "Lamport",
              "Garcia", "Smith", "Nguyen", "Patel", "Kim", "Rossi", "Okafor", "Müller", "Tanaka", "Silva"]
STREETS = ["Main St", "Oak Ave", "Maple Dr", "Park Blvd", "Cedar Ln", "Elm St", "Lake Rd", "Hill St", "River Rd", "2nd Ave"]
SHIPPING = [("STANDARD", 60), ("EXPRESS", 15), ("SAME_DAY", 10), ("STORE_PICKUP", 15)]
# item status of orders placed in the last three days (older ones are completed or cancelled)
RECENT_STATUS = [("OPEN", 45), ("IN_PROGRESS", 25), ("COMPLETED", 20), ("UNROUTED", 7), ("CANCELLED", 3)]
RECENT_DAYS = 3
HISTORY_DAYS = 120
REJECTION_REASONS = [(ReasonCode.NOT_IN_STOCK, 40), ("DAMAGED", 20), ("MISMATCH", 15), ("WORN_DISPLAY", 10),
                     ("INACTIVE_STORE", 10), (ReasonCode.AVOID_ORDER_SPLIT, 5)]
PARKED_SHARE = 0.08


# -- what exists -------------------------------------------------------------------------------------------------
def volume_facilities():
    return Facility.objects.filter(code__startswith="V", name__startswith=FACILITY_NAME_PREFIX)


def volume_products():
    return Product.objects.filter(sku__startswith=PRODUCT_SKU_PREFIX)


def volume_orders():
    return Order.objects.filter(name__startswith=ORDER_NAME_PREFIX)


def volume_data_exists() -> bool:
    return volume_facilities().exists() or volume_products().exists() or volume_orders().exists()


def _sql(queryset) -> tuple[str, tuple]:
    """`SELECT id FROM ... WHERE ...` of a queryset, for raw set-based statements."""
    return queryset.values("pk").query.sql_with_params()


def volume_delete(stdout=None) -> dict[str, int]:
    """Delete the volume data (and everything that refers to it: decisions, rejections, ledger, loads) in one
    transaction of set-based DELETEs. Data of seed_demo or real data is never touched."""
    facilities_sql, f_params = _sql(volume_facilities())
    products_sql, p_params = _sql(volume_products())
    orders_sql, o_params = _sql(volume_orders())
    t = {m.__name__: m._meta.db_table for m in (
        RoutingDecision, Rejection, BulkRejection, InventoryAdjustment, InventoryLevel, OrderItem, Order,
        FacilityDailyLoad, FacilityMembership, RejectionPolicy, Product, Facility, RoutedUnitsDaily, PickupChoice,
        Notification,
    )}
    group_table = Facility.groups.through._meta.db_table
    items = f"SELECT id FROM {t['OrderItem']} WHERE order_id IN ({orders_sql})"
    levels = f"SELECT id FROM {t['InventoryLevel']} WHERE facility_id IN ({facilities_sql}) OR product_id IN ({products_sql})"
    rejections = (f"SELECT id FROM {t['Rejection']} WHERE order_item_id IN ({items}) OR facility_id IN ({facilities_sql}) "
                  f"OR routed_to_id IN ({facilities_sql})")
    rejections_params = o_params + f_params + f_params
    statements = [
        # what refers to the items and rejections first (a customer's pickup choice, the emails about them)
        ("pickup choices", f"DELETE FROM {t['PickupChoice']} WHERE order_item_id IN ({items}) "
                           f"OR chosen_facility_id IN ({facilities_sql})", o_params + f_params),
        ("", f"UPDATE {t['PickupChoice']} SET rejection_id = NULL WHERE rejection_id IN ({rejections})", rejections_params),
        ("notifications", f"DELETE FROM {t['Notification']} WHERE order_id IN ({orders_sql}) OR order_item_id IN ({items})",
         o_params + o_params),
        ("routing decisions", f"DELETE FROM {t['RoutingDecision']} WHERE order_item_id IN ({items}) "
                              f"OR chosen_facility_id IN ({facilities_sql})", o_params + f_params),
        ("rejections", f"DELETE FROM {t['Rejection']} WHERE id IN ({rejections})", rejections_params),
        ("bulk rejections", f"DELETE FROM {t['BulkRejection']} WHERE facility_id IN ({facilities_sql})", f_params),
        ("ledger rows", f"DELETE FROM {t['InventoryAdjustment']} WHERE level_id IN ({levels})", f_params + p_params),
        ("inventory levels", f"DELETE FROM {t['InventoryLevel']} WHERE id IN ({levels})", f_params + p_params),
        ("order items", f"DELETE FROM {t['OrderItem']} WHERE order_id IN ({orders_sql})", o_params),
        ("orders", f"DELETE FROM {t['Order']} WHERE id IN ({orders_sql})", o_params),
        ("daily loads", f"DELETE FROM {t['FacilityDailyLoad']} WHERE facility_id IN ({facilities_sql})", f_params),
        ("routed units", f"DELETE FROM {t['RoutedUnitsDaily']} WHERE facility_id IN ({facilities_sql}) "
                         f"OR product_id IN ({products_sql})", f_params + p_params),
        ("memberships", f"DELETE FROM {t['FacilityMembership']} WHERE facility_id IN ({facilities_sql})", f_params),
        ("policies", f"DELETE FROM {t['RejectionPolicy']} WHERE facility_id IN ({facilities_sql})", f_params),
        ("group members", f"DELETE FROM {group_table} WHERE facility_id IN ({facilities_sql})", f_params),
        ("products", f"DELETE FROM {t['Product']} WHERE id IN ({products_sql})", p_params),
        ("facilities", f"DELETE FROM {t['Facility']} WHERE id IN ({facilities_sql})", f_params),
    ]
    deleted = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for label, sql, params in statements:
            cursor.execute(sql, params)
            if label:
                deleted[label] = cursor.rowcount
    return deleted


# -- writing rows fast -------------------------------------------------------------------------------------------
def rows_write(model, rows: list[dict], *, batch: int = 5000) -> int:
    """Insert plain rows (dicts keyed by column; missing columns take the field default). PostgreSQL: COPY."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults = {}
    for f in fields:
        if f.has_default():
            defaults[f.column] = f.get_db_prep_save(f.get_default(), connection)
        elif not f.null and f.empty_strings_allowed:  # a text field without a default: Django saves ""
            defaults[f.column] = ""
        else:
            defaults[f.column] = None
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] if c in row else defaults[c] for c in columns])
        else:
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"
            for start in range(0, len(rows), batch):
                cursor.executemany(
                    sql, [[row[c] if c in row else defaults[c] for c in columns] for row in rows[start : start + batch]]
                )
    return len(rows)


# -- generating the data -------------------------------------------------------------------------------------------
@dataclass
class Plan:
    facilities: list[dict] = field(default_factory=list)
    facility_metro: list[int] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    stocked: list[list[int]] = field(default_factory=list)  # facility index -> product indexes
    qoh: list[list[int]] = field(default_factory=list)  # facility index -> product index -> QOH (-1: no level)
    atp: list[list[int]] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    items: list[tuple] = field(default_factory=list)  # (order index, product index, qty, facility index | None, status)
    # (item index, rejecting facility index, reason code, minutes from routing to rejection, parked first)
    rejections: list[tuple] = field(default_factory=list)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return lambda: rng.choices(values, weights)[0]


def plan_build(*, n_facilities: int, n_products: int, n_orders: int, flagship_in_progress: int, flagship_open: int,
               seed: int = 42) -> Plan:
    rng = random.Random(seed)
    plan = Plan()
    now = timezone.now()
    # facilities: every 10th a warehouse; V001 the flagship store in New York
    warehouses = []
    for i in range(n_facilities):
        metro = 0 if i == 0 else i % len(METROS)
        city, lat, lng, tz = METROS[metro]
        is_warehouse = (i + 1) % 10 == 0
        code = f"V{i + 1:03d}"
        kind = "WAREHOUSE" if is_warehouse else "STORE"
        plan.facilities.append({
            "code": code,
            "name": f"{FACILITY_NAME_PREFIX}{city} {'Warehouse' if is_warehouse else 'Store'} {code}"
            + (" (flagship)" if i == 0 else ""),
            "kind": kind, "latitude": round(lat + (0 if i == 0 else rng.uniform(-0.25, 0.25)), 5),
            "longitude": round(lng + (0 if i == 0 else rng.uniform(-0.3, 0.3)), 5), "timezone": tz,
            "is_active": True, "allows_routing": True, "allows_pickup": not is_warehouse,
            "priority": 50 if is_warehouse else 100, "safety_stock": 0, "daily_order_limit": None,
        })
        plan.facility_metro.append(metro)
        if is_warehouse:
            warehouses.append(i)
    stores = [i for i in range(n_facilities) if i not in set(warehouses)]
    # products
    for p in range(n_products):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(NOUNS)} {rng.choice(COLOURS)} {rng.choice(SIZES)}"
        plan.products.append({"sku": f"{PRODUCT_SKU_PREFIX}{p + 1:06d}", "name": name, "upc": f"8{p + 1:011d}"})
    # inventory: warehouses and the flagship stock everything, stores ~40% of the catalogue
    for i in range(n_facilities):
        qoh = [-1] * n_products
        if i in warehouses or i == 0:
            stocked = list(range(n_products))
        else:
            stocked = sorted(rng.sample(range(n_products), int(n_products * 0.4)))
        for p in stocked:
            qoh[p] = rng.randint(20, 200) if i in warehouses else (rng.randint(8, 30) if i == 0 else rng.choice((0, 1, 2, 3, 5, 8, 12, 20)))
        plan.stocked.append(stocked)
        plan.qoh.append(qoh)
        plan.atp.append(list(qoh))
    by_metro: dict[int, list[int]] = {}
    for i in stores:
        by_metro.setdefault(plan.facility_metro[i], []).append(i)

    shipping = _weighted(rng, SHIPPING)
    recent_status = _weighted(rng, RECENT_STATUS)
    quantity = _weighted(rng, [(1, 80), (2, 15), (3, 5)])
    lines = _weighted(rng, [(1, 70), (2, 20), (3, 10)])

    def take(f: int, qty: int, reserve: bool) -> int:
        """A product stocked at facility f with ATP for qty (receiving more when the shelf is short)."""
        stocked = plan.stocked[f]
        for _ in range(4):
            p = stocked[rng.randrange(len(stocked))]
            if not reserve or plan.atp[f][p] >= qty:
                break
        if reserve:
            if plan.atp[f][p] < qty:
                extra = qty - plan.atp[f][p] + rng.randint(0, 5)
                plan.qoh[f][p] += extra
                plan.atp[f][p] += extra
            plan.atp[f][p] -= qty
        return p

    flagship_orders_ip = flagship_in_progress
    flagship_open_items = flagship_open
    order_no = 0

    def add_order(*, age_hours: float, metro: int, method: str, home: int | None):
        nonlocal order_no
        order_no += 1
        _, lat, lng, _tz = METROS[metro]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        pickup = home if method == "STORE_PICKUP" else None
        plan.orders.append({
            "name": f"{ORDER_NAME_PREFIX}{order_no:07d}",
            "customer_name": f"{first} {last}",
            "customer_email": f"{first.lower()}.{last.lower().replace(' ', '').replace('ü', 'u')}{order_no}@example.com",
            "shipping_method": method,
            "ship_to_address": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
            "ship_to_city": METROS[metro][0],
            "ship_to_postal_code": f"{rng.randint(10000, 99999)}",
            "ship_to_latitude": round(lat + rng.uniform(-0.3, 0.3), 5),
            "ship_to_longitude": round(lng + rng.uniform(-0.3, 0.3), 5),
            "pickup_facility_id": pickup,  # an index until written
            "placed_at": now - timedelta(hours=age_hours),
        })
        return len(plan.orders) - 1

    # the flagship's workload: in-progress orders, then open orders up to the open item count
    n_regular = max(0, n_orders - flagship_orders_ip - int(flagship_open_items / 1.4))
    if n_facilities and n_orders:
        for k in range(min(flagship_orders_ip, n_orders)):
            method = rng.choice(("STANDARD", "EXPRESS", "STORE_PICKUP"))
            o = add_order(age_hours=rng.uniform(1, 72), metro=0, method=method, home=0)
            for _ in range(lines()):
                qty = quantity()
                plan.items.append((o, take(0, qty, True), qty, 0, "IN_PROGRESS"))
        open_items = 0
        while open_items < flagship_open_items and len(plan.orders) < n_orders:
            method = rng.choice(("STANDARD", "EXPRESS", "SAME_DAY", "STORE_PICKUP"))
            o = add_order(age_hours=rng.uniform(0.1, 72), metro=0, method=method, home=0)
            for _ in range(min(lines(), flagship_open_items - open_items)):
                qty = quantity()
                plan.items.append((o, take(0, qty, True), qty, 0, "OPEN"))
                open_items += 1
        n_regular = n_orders - len(plan.orders)
    # everyone else: 20% placed in the last three days, the rest over 120 days
    for _ in range(n_regular):
        recent = rng.random() < 0.2
        age_hours = rng.uniform(0.1, RECENT_DAYS * 24) if recent else rng.uniform(RECENT_DAYS * 24, HISTORY_DAYS * 24)
        method = shipping()
        metro = rng.randrange(len(METROS))
        candidates = by_metro.get(metro) or stores or list(range(n_facilities))
        home = candidates[rng.randrange(len(candidates))]
        if home == 0 and len(candidates) > 1:
            home = candidates[1]  # the flagship's workload is fixed above
        o = add_order(age_hours=age_hours, metro=metro, method=method, home=home)
        status = recent_status() if recent else ("COMPLETED" if rng.random() < 0.96 else "CANCELLED")
        if method != "STORE_PICKUP" and status != "UNROUTED" and warehouses and rng.random() < 0.25:
            facility = warehouses[rng.randrange(len(warehouses))]
        else:
            facility = home
        for _ in range(lines()):
            qty = quantity()
            if status == "UNROUTED":
                plan.items.append((o, rng.randrange(n_products), qty, None, status))
            else:
                plan.items.append((o, take(facility, qty, status in ("OPEN", "IN_PROGRESS")), qty, facility, status))
    return plan


def history_build(plan: Plan, *, n_rejections: int, days: int, seed: int = 42) -> None:
    """A rejection history: items of completed orders placed in the last `days` days, each first routed to another
    store of its metro and rejected there (at most one rejection per item)."""
    if not n_rejections:
        return
    rng = random.Random(seed + 1)
    now = timezone.now()
    stores_by_metro: dict[int, list[int]] = {}
    for i, f in enumerate(plan.facilities):
        if f["kind"] == "STORE":
            stores_by_metro.setdefault(plan.facility_metro[i], []).append(i)
    all_stores = [i for stores in stores_by_metro.values() for i in stores]
    eligible = [
        k for k, (o, _p, _q, f, status) in enumerate(plan.items)
        if status == "COMPLETED" and f is not None and now - plan.orders[o]["placed_at"] < timedelta(days=days, hours=-6)
    ]
    if len(eligible) < n_rejections:
        raise CommandError(
            f"Only {len(eligible)} completed items in the last {days} days for {n_rejections} rejections: "
            "seed more --orders or fewer --rejections."
        )
    reason = _weighted(rng, REJECTION_REASONS)
    for k in sorted(rng.sample(eligible, n_rejections)):
        f = plan.items[k][3]
        others = [s for s in stores_by_metro.get(plan.facility_metro[f], []) if s != f] or [s for s in all_stores if s != f]
        if not others:
            continue
        plan.rejections.append((k, others[rng.randrange(len(others))], reason(), rng.uniform(5, 6 * 60), rng.random() < PARKED_SHARE))


# -- the command -----------------------------------------------------------------------------------------------------
class Command(BaseCommand):
    help = (
        "Seed store-chain volume data set-based (facilities V001.., products VSKU-.., orders #V0000001..) beside the "
        "demo data: levels with matching ledger rows (RECEIPT = level, RESERVE per open/in-progress item), orders over "
        "120 days spread over statuses, shipping methods and facilities; V001 is a flagship store with 2,000 "
        "in-progress orders and 10,000 open items. Seeded history has no routing decisions or rejections. "
        "Refuses when volume data exists: --reset wipes the volume data (only) and seeds again, --delete only wipes it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--facilities", type=whole_number(1, 9999), default=100, help="1 to 9,999 (codes V001..V9999).")
        parser.add_argument("--products", type=whole_number(1, 1_000_000), default=10000)
        parser.add_argument("--orders", type=whole_number(0, 10_000_000), default=200000)
        parser.add_argument(
            "--flagship-in-progress", type=whole_number(0, 1_000_000), default=2000, help="In-progress orders at V001."
        )
        parser.add_argument("--flagship-open", type=whole_number(0, 1_000_000), default=10000, help="Open items at V001.")
        parser.add_argument(
            "--rejections", type=whole_number(0, 10_000_000), default=100000, help="Rejections in the history (reports)."
        )
        parser.add_argument("--rejection-days", type=whole_number(1, 3650), default=90, help="Days the rejection history spans.")
        parser.add_argument("--seed", type=whole_number(), default=42, help="Random seed (the same data on every run).")
        parser.add_argument("--reset", action="store_true", help="Delete existing volume data first, then seed.")
        parser.add_argument("--delete", action="store_true", help="Only delete the volume data.")

    def handle(self, *args, **opts):
        for name in ("facilities", "products", "orders"):
            if opts[name] < (1 if name != "orders" else 0):
                raise CommandError(f"--{name} must be at least {1 if name != 'orders' else 0}.")
        if opts["facilities"] > 9999:
            raise CommandError("--facilities can be at most 9,999 (codes V001..V9999).")
        started = time.monotonic()
        if opts["reset"] or opts["delete"]:
            deleted = volume_delete()
            self.stdout.write("Deleted volume data: " + ", ".join(f"{n} {label}" for label, n in deleted.items() if n) or "nothing")
            if opts["delete"]:
                return
        elif volume_data_exists():
            raise CommandError(
                f"Volume data already exists ({volume_facilities().count()} facilities V001.., "
                f"{volume_orders().count()} orders {ORDER_NAME_PREFIX}...). Nothing was changed. "
                "Use --reset to wipe the volume data and seed it again (demo data is kept), or --delete to wipe it."
            )
        step = time.monotonic()

        def done(label: str):
            nonlocal step
            now = time.monotonic()
            self.stdout.write(f"  {label} ({now - step:.1f} s)")
            step = now

        plan = plan_build(
            n_facilities=opts["facilities"], n_products=opts["products"], n_orders=opts["orders"],
            flagship_in_progress=opts["flagship_in_progress"], flagship_open=opts["flagship_open"], seed=opts["seed"],
        )
        history_build(plan, n_rejections=opts["rejections"], days=opts["rejection_days"], seed=opts["seed"])
        done(f"generated {len(plan.orders)} orders with {len(plan.items)} items and {len(plan.rejections)} rejections")
        with transaction.atomic():
            self._write(plan, done)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (Facility, Product, InventoryLevel, InventoryAdjustment, Order, OrderItem, Rejection,
                              RoutingDecision, RoutedUnitsDaily):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            done("analyzed")
        counts = Counter(item[4] for item in plan.items)
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {len(plan.facilities)} facilities, {len(plan.products)} products, {self._levels} inventory levels, "
            f"{len(plan.orders)} orders, {len(plan.items)} items, {len(plan.rejections)} rejections ("
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f") in {time.monotonic() - started:.1f} s."
        ))

    def _write(self, plan: Plan, done):
        now = timezone.now()
        rows_write(Facility, plan.facilities)
        fac_ids = dict(volume_facilities().values_list("code", "pk"))
        fid = [fac_ids[f["code"]] for f in plan.facilities]
        rows_write(Product, plan.products)
        prod_ids = dict(volume_products().values_list("sku", "pk"))
        pid = [prod_ids[p["sku"]] for p in plan.products]
        done(f"wrote {len(fid)} facilities and {len(pid)} products")

        level_rows = []
        for f, stocked in enumerate(plan.stocked):
            qoh, atp = plan.qoh[f], plan.atp[f]
            for p in stocked:
                level_rows.append({"facility_id": fid[f], "product_id": pid[p], "quantity_on_hand": qoh[p],
                                   "reserved": qoh[p] - atp[p], "unsellable": 0,
                                   "available_to_promise": atp[p], "safety_stock": None, "updated_at": now})
        self._levels = rows_write(InventoryLevel, level_rows)
        del level_rows
        done(f"wrote {self._levels} inventory levels")

        for order in plan.orders:
            if order["pickup_facility_id"] is not None:
                order["pickup_facility_id"] = fid[order["pickup_facility_id"]]
        rows_write(Order, plan.orders)
        order_ids = list(volume_orders().order_by("name").values_list("pk", flat=True))
        done(f"wrote {len(order_ids)} orders")
        item_rows = []
        for o, p, qty, f, status in plan.items:
            placed = plan.orders[o]["placed_at"]
            item_rows.append({
                "order_id": order_ids[o], "product_id": pid[p], "quantity": qty, "facility_id": None if f is None else fid[f],
                "status": status, "split_from_id": None, "status_changed_at": placed,
                "parked_reason": "Parked: no facility had stock when the order arrived (seeded)." if status == "UNROUTED" else "",
                "parked_kind": ParkedKind.NO_FACILITY if status == "UNROUTED" else "",
                "parked_since": placed if status == "UNROUTED" else None,
            })
        rows_write(OrderItem, item_rows)
        del item_rows
        done(f"wrote {len(plan.items)} order items")

        # ledger: one RECEIPT per level equal to its QOH, one RESERVE per open / in-progress item
        adj, lvl, item, order = (InventoryAdjustment._meta.db_table, InventoryLevel._meta.db_table,
                                 OrderItem._meta.db_table, Order._meta.db_table)
        fac_sql, f_params = _sql(volume_facilities())
        ord_sql, o_params = _sql(volume_orders())
        concat = "o.name || ' item ' || CAST(i.id AS TEXT)"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {adj} (level_id, atp_delta, qoh_delta, reserved_delta, unsellable_delta, kind, reason, "
                f"reference, created_by_id, created_at) "
                f"SELECT l.id, l.quantity_on_hand, l.quantity_on_hand, 0, 0, 'RECEIPT', '', %s, NULL, %s FROM {lvl} l "
                f"WHERE l.facility_id IN ({fac_sql})",
                [LEDGER_REFERENCE, now - timedelta(days=HISTORY_DAYS + 1), *f_params],
            )
            receipts = cursor.rowcount
            cursor.execute(
                f"INSERT INTO {adj} (level_id, atp_delta, qoh_delta, reserved_delta, unsellable_delta, kind, reason, "
                f"reference, created_by_id, created_at) "
                f"SELECT l.id, -i.quantity, 0, i.quantity, 0, 'RESERVE', '', {concat}, NULL, i.status_changed_at "
                f"FROM {item} i JOIN {order} o ON o.id = i.order_id "
                f"JOIN {lvl} l ON l.facility_id = i.facility_id AND l.product_id = i.product_id "
                f"WHERE i.status IN ('OPEN', 'IN_PROGRESS') AND i.order_id IN ({ord_sql})",
                o_params,
            )
            reserves = cursor.rowcount
        done(f"wrote {receipts} RECEIPT and {reserves} RESERVE ledger rows")
        self._write_history(plan, fid, pid, done)

    def _write_history(self, plan: Plan, fid: list[int], pid: list[int], done):
        """The rejections with their two routing decisions each, and the roll-up of every routed unit."""
        item_ids = list(OrderItem.objects.filter(order__name__startswith=ORDER_NAME_PREFIX).order_by("pk").values_list("pk", flat=True))
        reasons = dict(RejectionReason.objects.values_list("code", "pk"))
        codes = [f["code"] for f in plan.facilities]
        zones = [zone_of(f["timezone"]) for f in plan.facilities]
        routed: Counter[tuple] = Counter()
        rejected_at: dict[int, int] = {}
        decisions, rejections = [], []
        for k, f_rej, code, minutes, parked in plan.rejections:
            o, p, qty, f, _status = plan.items[k]
            order = plan.orders[o]
            placed = order["placed_at"]
            when = placed + timedelta(minutes=minutes)
            rejected_at[k] = f_rej
            decisions.append({
                "order_item_id": item_ids[k], "outcome": "ROUTED", "trigger": "ORDER_CREATED", "chosen_facility_id": fid[f_rej],
                "rule_name": "Nearest store with stock", "summary": f"Routed to {codes[f_rej]} (seeded).",
                "allocations": json.dumps([{"facility": codes[f_rej], "quantity": qty}]), "candidates": "[]", "created_at": placed,
            })
            decisions.append({
                "order_item_id": item_ids[k], "outcome": "UNROUTED" if parked else "ROUTED", "trigger": "REJECTION",
                "chosen_facility_id": None if parked else fid[f], "rule_name": "Nearest store with stock",
                "summary": "Parked: no facility could take it (seeded)." if parked else f"Re-routed to {codes[f]} (seeded).",
                "allocations": "[]" if parked else json.dumps([{"facility": codes[f], "quantity": qty}]),
                "candidates": "[]", "created_at": when,
            })
            rejections.append({
                "order_item_id": item_ids[k], "facility_id": fid[f_rej], "reason_id": reasons[code], "quantity": qty,
                "comment": LEDGER_REFERENCE, "rejected_by_id": None, "created_at": when,
                "routed_to_id": None if parked else fid[f], "bulk_rejection_id": None, "caused_by_id": None,
                "routed_at": placed,
            })
            routed[(fid[f_rej], placed.astimezone(zones[f_rej]).date(), pid[p], order["shipping_method"])] += qty
        rows_write(RoutingDecision, decisions)
        rows_write(Rejection, rejections)
        done(f"wrote {len(rejections)} rejections and {len(decisions)} routing decisions")
        del decisions, rejections
        for k, (o, p, qty, f, status) in enumerate(plan.items):
            if f is not None and status != "UNROUTED":
                order = plan.orders[o]
                routed[(fid[f], order["placed_at"].astimezone(zones[f]).date(), pid[p], order["shipping_method"])] += qty
        rows_write(RoutedUnitsDaily, [
            {"facility_id": f, "day": day, "product_id": p, "shipping_method": m, "units": n}
            for (f, day, p, m), n in routed.items()
        ])
        done(f"wrote {len(routed)} routed-units roll-up rows")
