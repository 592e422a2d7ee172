"""The data migration of issue #9 (inventory 0004): reservations as data for an existing database."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from inventory.models import InventoryAdjustment, InventoryLevel
from tests.support import assert_inventory_invariant

# Before: inventory just before the data migration, fulfillment before its first migration that needs a later inventory.
BEFORE = [("inventory", "0003_level_reserved_unsellable"), ("fulfillment", "0006_bulk_rejection_heartbeat_attempts")]
AFTER = [("inventory", "0005_level_quantity_constraints")]


def _migrate(pinned):
    """Migrate the apps in `pinned` to those migrations, every other app to its latest one; the apps of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    apps_pinned = {app for app, _ in pinned}
    targets = pinned + [leaf for leaf in executor.loader.graph.leaf_nodes() if leaf[0] not in apps_pinned]
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_data_migration_sets_reserved_and_unsellable_and_corrects_the_levels_that_were_off():
    old = _migrate(BEFORE)
    Facility, Product = old.get_model("inventory", "Facility"), old.get_model("inventory", "Product")
    Level, Adjustment = old.get_model("inventory", "InventoryLevel"), old.get_model("inventory", "InventoryAdjustment")
    Order, OrderItem = old.get_model("fulfillment", "Order"), old.get_model("fulfillment", "OrderItem")
    store = Facility.objects.create(code="HOBOKEN", name="Hoboken", latitude=40.74, longitude=-74.03)
    boot, mug = Product.objects.create(sku="BOOT", name="Boot"), Product.objects.create(sku="MUG", name="Mug")

    # The drift, as the old code wrote it: A and B reserve one each, A is rejected as NOT_IN_STOCK (which
    # zeroed ATP, erasing B's reservation), the shelf is counted at 10: QOH 10, ATP 10, B still open here.
    drifted = Level.objects.create(facility=store, product=boot, quantity_on_hand=10, available_to_promise=10)
    for kind, qoh, atp, reason in [
        ("RECEIPT", 10, 10, ""), ("RESERVE", 0, -1, ""), ("RESERVE", 0, -1, ""), ("RELEASE", 0, 1, "NOT_IN_STOCK"),
        ("REJECTION", -10, -9, "NOT_IN_STOCK"), ("COUNT", 10, 10, ""),
    ]:
        Adjustment.objects.create(level=drifted, kind=kind, qoh_delta=qoh, atp_delta=atp, reason=reason)
    order = Order.objects.create(name="#B", customer_name="B", ship_to_latitude=40.74, ship_to_longitude=-74.03, placed_at="2026-11-01T10:00Z")
    OrderItem.objects.create(order=order, product=boot, quantity=1, facility=store, status="OPEN")
    # A consistent level with a damaged unit: QOH 5, ATP 4 and no active item.
    damaged = Level.objects.create(facility=store, product=mug, quantity_on_hand=5, available_to_promise=4)
    for kind, qoh, atp, reason in [("RECEIPT", 5, 5, ""), ("RESERVE", 0, -1, ""), ("RELEASE", 0, 1, "DAMAGED"), ("REJECTION", 0, -1, "DAMAGED")]:
        Adjustment.objects.create(level=damaged, kind=kind, qoh_delta=qoh, atp_delta=atp, reason=reason)

    _migrate(AFTER)

    boot_level = InventoryLevel.objects.get(pk=drifted.pk)
    assert (boot_level.quantity_on_hand, boot_level.reserved, boot_level.unsellable, boot_level.available_to_promise) == (10, 1, 0, 9)
    mug_level = InventoryLevel.objects.get(pk=damaged.pk)
    assert (mug_level.quantity_on_hand, mug_level.reserved, mug_level.unsellable, mug_level.available_to_promise) == (5, 0, 1, 4)
    (correction,) = InventoryAdjustment.objects.filter(kind="CORRECTION")  # only the level that was off
    assert correction.level_id == drifted.pk
    assert (correction.qoh_delta, correction.reserved_delta, correction.unsellable_delta, correction.atp_delta) == (0, 1, 0, -1)
    # the old rows now carry the reservations they implied
    assert list(
        InventoryAdjustment.objects.filter(level_id=drifted.pk).exclude(kind="CORRECTION").order_by("pk").values_list("reserved_delta", flat=True)
    ) == [0, 1, 1, -1, -1, 0]
    assert_inventory_invariant()
