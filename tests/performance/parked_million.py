"""1,000,000 parked items for the peak-memory benchmark, seeded into the benchmark database once (set-based SQL, ~1 min).

1,000 orders named ``#MEM-0001`` … ``#MEM-1000`` of 1,000 lines each, every line parked (UNROUTED, no facility), of the
1,000 products ``MEMSKU-0001`` … that no facility stocks: routing one parks it again at once. The first 100 orders are
store pickups at ``PICKUP_FACILITY`` (100,000 items, for the same command over a tenth of them:
``route_orders --facility``); the others ship. Nothing else refers to them: no inventory, rejections or decisions, so
the other benchmarks (the flagship's open and in-progress items, the recent ``#V`` items, the volume checks) do not
see them; only the chain's order count in the search row's text grows by 1,000. The bench fixture deletes them before
it seeds the volume data again (their pickup store is one of its facilities); by hand: `delete()` first.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from fulfillment.models import Order, OrderItem
from inventory.models import Facility, Product

ORDERS = 1_000
LINES = 1_000
ITEMS = ORDERS * LINES
PICKUP_ORDERS = 100  # their items: the 100,000 of `route_orders --facility PICKUP_FACILITY`
ORDER_PREFIX = "#MEM-"
SKU_PREFIX = "MEMSKU-"
PICKUP_FACILITY = "V100"
PARKED_REASON = "Parked: seeded for the peak-memory benchmark (no facility stocks its product)."


def million_orders():
    return Order.objects.filter(name__startswith=ORDER_PREFIX)


def million_items():
    return OrderItem.objects.filter(order__name__startswith=ORDER_PREFIX)


def delete() -> None:
    """Remove them (their orders' pickup store is a volume facility: before the volume data is seeded again)."""
    items, orders = OrderItem._meta.db_table, Order._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {items} WHERE order_id IN (SELECT id FROM {orders} WHERE name LIKE %s)", [ORDER_PREFIX + "%"])
        cursor.execute(f"DELETE FROM {orders} WHERE name LIKE %s", [ORDER_PREFIX + "%"])


def seeded() -> bool:
    return million_items().filter(status="UNROUTED").count() == ITEMS and million_orders().count() == ORDERS


def seed() -> bool:
    """Seed them unless they are there (idempotent); returns True when it seeded."""
    if seeded():
        return False
    pickup = Facility.objects.get(code=PICKUP_FACILITY)
    items, orders, products = OrderItem._meta.db_table, Order._meta.db_table, Product._meta.db_table
    since = timezone.now() - timezone.timedelta(days=1)
    delete()  # a partial seed (an interrupted run)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {products} (sku, name, upc) SELECT %s || lpad(g::text, 4, '0'), 'Memory bench product ' || g, '' "
            f"FROM generate_series(1, %s) g ON CONFLICT (sku) DO NOTHING",
            [SKU_PREFIX, LINES],
        )
        cursor.execute(
            f"INSERT INTO {orders} (name, customer_name, customer_email, shipping_method, ship_to_address, ship_to_city, "
            f"ship_to_postal_code, ship_to_latitude, ship_to_longitude, pickup_facility_id, placed_at) "
            f"SELECT %s || lpad(g::text, 4, '0'), 'Memory Bench', '', "
            f"CASE WHEN g <= %s THEN 'STORE_PICKUP' ELSE 'STANDARD' END, '', '', '', %s, %s, "
            f"CASE WHEN g <= %s THEN %s::bigint END, %s FROM generate_series(1, %s) g",
            [ORDER_PREFIX, PICKUP_ORDERS, pickup.latitude, pickup.longitude, PICKUP_ORDERS, pickup.pk, since, ORDERS],
        )
        cursor.execute(
            f"INSERT INTO {items} (order_id, product_id, quantity, facility_id, status, parked_reason, parked_kind, "
            f"split_from_id, status_changed_at, parked_since, shipping_method, pickup_facility_id) "
            f"SELECT o.id, p.id, 1, NULL, 'UNROUTED', %s, 'NO_FACILITY', NULL, %s, %s, '', NULL "
            f"FROM {orders} o CROSS JOIN {products} p WHERE o.name LIKE %s AND p.sku LIKE %s ORDER BY o.id, p.id",
            [PARKED_REASON, since, since, ORDER_PREFIX + "%", SKU_PREFIX + "%"],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {items}")
        cursor.execute(f"VACUUM ANALYZE {orders}")
    assert seeded()
    return True
