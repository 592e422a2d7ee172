"""Reject All (fulfillment/services/reject_all.py): every item re-routed or parked, with its records; dry runs."""

import pytest

from fulfillment.models import OrderItem, Rejection
from fulfillment.services import (
    facility_reject_all,
    orders_start_picking,
)
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.factories import ProductFactory
from tests.fulfillment.services.world import place
from tests.support import assert_inventory_invariant, qoh_atp

pytestmark = pytest.mark.django_db


def test_reject_all_reroutes_and_parks_with_records(stores):
    brooklyn, manhattan, _ = stores
    routable, stuck = ProductFactory(), ProductFactory()
    inventory_receive(facility=brooklyn, product=routable, quantity=3)
    inventory_receive(facility=brooklyn, product=stuck, quantity=2)
    inventory_receive(facility=manhattan, product=routable, quantity=10)
    items = [place(routable) for _ in range(3)] + [place(stuck) for _ in range(2)]
    orders_start_picking(facility=brooklyn, order_ids=[i.order_id for i in items])
    summary = facility_reject_all(facility=brooklyn, from_status="in_progress", reason_code="INACTIVE_STORE")
    assert (summary.orders, summary.rejected, summary.parked, summary.rerouted) == (5, 5, 2, {"MANHATTAN": 3})
    assert Rejection.objects.count() == 5
    assert RoutingDecision.objects.filter(trigger="REJECTION").count() == 5
    assert not OrderItem.objects.filter(facility=brooklyn).exists()
    assert_inventory_invariant()


def test_reject_all_dry_run_changes_nothing(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=3)
    inventory_receive(facility=manhattan, product=product, quantity=1)
    for _ in range(3):
        place(product)
    summary = facility_reject_all(facility=brooklyn, from_status="open", reason_code="DAMAGED", dry_run=True, stop_routing=True)
    assert (summary.rejected, summary.parked, summary.rerouted) == (3, 2, {"MANHATTAN": 1})
    assert OrderItem.objects.filter(facility=brooklyn, status="OPEN").count() == 3
    assert not Rejection.objects.exists()
    brooklyn.refresh_from_db()
    assert brooklyn.allows_routing is True
    assert qoh_atp(brooklyn, product) == (3, 0)
