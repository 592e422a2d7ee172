"""Orders and picking (fulfillment/services/orders.py): completing ships the units off the shelf."""

import pytest

from fulfillment.models import OrderItem
from fulfillment.services import (
    order_complete,
    orders_start_picking,
)
from inventory.services import inventory_receive
from tests.factories import ProductFactory
from tests.fulfillment.services.world import place
from tests.support import assert_inventory_invariant, qoh_atp

pytestmark = pytest.mark.django_db


def test_complete_ships_units_off_the_shelf(stores):
    brooklyn, _, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=4)
    item = place(product, qty=3)
    assert orders_start_picking(facility=brooklyn, order_ids=[item.order_id]) == 1
    order_complete(facility=brooklyn, order_id=item.order_id)
    item.refresh_from_db()
    assert item.status == OrderItem.Status.COMPLETED
    assert qoh_atp(brooklyn, product) == (1, 1)
    assert_inventory_invariant()
