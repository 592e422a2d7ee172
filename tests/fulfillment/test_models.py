"""Model-level guarantees the database keeps: an item's copy of its order's placed_at (the Today panel's oldest wait)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.models import Order, OrderItem
from fulfillment.services import item_reject
from inventory.services import inventory_receive
from tests.factories import FacilityFactory, ProductFactory, order_placed
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db


def placed_at_of_items(order) -> set:
    return set(OrderItem.objects.filter(order=order).values_list("order_placed_at", flat=True))


def test_every_item_carries_its_orders_placed_at_however_it_was_written():
    near, far = FacilityFactory(latitude=40.70, longitude=-74.00), FacilityFactory(latitude=40.90, longitude=-73.80)
    tee = ProductFactory()
    for store in (near, far):
        inventory_receive(facility=store, product=tee, quantity=5)
    placed = timezone.now() - timedelta(hours=3)
    order = order_placed(lines=[(tee, 3)], near=near, placed_at=placed)  # bulk-created by the order service
    item = order.items.get()
    item_reject(facility=item.facility, item_id=item.pk, reason_code="DAMAGED", quantity=1)  # a split part, created
    assert OrderItem.objects.filter(order=order).count() == 2
    assert placed_at_of_items(order) == {placed}

    later = placed + timedelta(minutes=20)
    Order.objects.filter(pk=order.pk).update(placed_at=later)  # the order's time corrected: its items follow
    assert placed_at_of_items(order) == {later}

    other = order_placed(lines=[(tee, 1)], near=far, placed_at=placed - timedelta(days=1))
    moved = OrderItem.objects.filter(order=order).first()
    moved.order = other
    moved.save()  # an item moved to another order (admin) takes that order's time
    moved.refresh_from_db()
    assert moved.order_placed_at == other.placed_at
    assert_inventory_invariant()
