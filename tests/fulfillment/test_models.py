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


@pytest.mark.parametrize(
    "postgresql, sqlite",
    [
        ("0001-01-01T00:00:00+14:00", "0000-12-31 10:00:00"),  # 1 BC in UTC
        ("1999-12-31T23:59:59+00:00", "1999-12-31 23:59:59"),
        ("2100-01-01T00:00:00+00:00", "2100-01-01 00:00:00"),
    ],
)
def test_the_database_refuses_an_order_date_python_cannot_read_back(postgresql, sqlite):
    """PostgreSQL stored 1 BC (UTC) from an import; every page of the store then answered 500 until it was edited by
    hand. Whatever writes the row (the ORM, raw SQL), the database keeps placed_at in [2000-01-01, 2100-01-01)."""
    from django.db import IntegrityError, connection, transaction

    order = order_placed(lines=[(ProductFactory(), 1)])
    pg = connection.vendor == "postgresql"
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(  # a literal the database reads itself: Python cannot even hold 1 BC in UTC
            f"UPDATE fulfillment_order SET placed_at = %s{'::timestamptz' if pg else ''} WHERE id = %s",
            [postgresql if pg else sqlite, order.pk],
        )
    order.refresh_from_db()
    assert order.placed_at.year >= 2000


def test_order_create_refuses_a_date_outside_the_sane_window():
    from datetime import datetime, UTC

    from fulfillment.errors import InvalidRequest
    from fulfillment.services import order_create

    product = ProductFactory()
    for placed_at in (datetime(1999, 12, 31, tzinfo=UTC), timezone.now() + timedelta(days=400)):
        with pytest.raises(InvalidRequest, match="2000-01-01"):
            order_create(name=f"#W{placed_at.year}", customer_name="Ann", shipping_method="STANDARD", ship_to_latitude=40.7,
                         ship_to_longitude=-74.0, lines=[(product, 1)], placed_at=placed_at)
    assert not Order.objects.exists()
