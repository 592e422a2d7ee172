"""Property-based (hypothesis stateful) test of the inventory invariant, issue #9.

Hypothesis drives random sequences of what stores and operators do: orders (shipped and store pickup), picks,
completions, partial and whole rejections with every reason, Reject All, receipts, counts, `route_orders`, and the
rejection policies switched on and off. After every step the whole invariant must hold (tests.support): `reserved` =
the active items' quantities, every quantity = the sum of its ledger deltas, ATP = max(0, QOH - reserved - unsellable).

Each example runs inside a savepoint that is rolled back at the end, so examples never see each other's rows. The
number of examples and steps is bounded so that the test runs in `make test` (SQLite) in well under 30 s; it runs on
PostgreSQL the same way (DATABASE_URL).
"""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fulfillment.errors import FulfillmentError
from fulfillment.models import OrderItem, Rejection, RejectionPolicy
from fulfillment.services import (
    facility_reject_all,
    item_reject,
    items_route,
    order_complete,
    order_create,
    orders_start_picking,
    stock_counts_set,
    stock_receive,
)
from inventory.models import InventoryAdjustment
from tests.factories import FacilityFactory, ProductFactory
from tests.support import assert_inventory_invariant

REASONS = ["NOT_IN_STOCK", "MISMATCH", "DAMAGED", "WORN_DISPLAY", "INACTIVE_STORE"]
# Brooklyn, Manhattan (~8 km), Stamford (~55 km): ship-to positions near each
PLACES = [(40.6782, -73.9442), (40.7549, -73.9840), (41.0534, -73.5387)]
ACTIVE = (OrderItem.Status.OPEN, OrderItem.Status.IN_PROGRESS)

store_index = st.integers(0, len(PLACES) - 1)
product_index = st.integers(0, 1)
pick_any = st.integers(0, 10_000)  # which of the current items (modulo their number)


class InventoryWalk(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.orders = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    @initialize(stock=st.lists(st.integers(0, 6), min_size=6, max_size=6))
    def stores_and_stock(self, stock):
        self.stores = [
            FacilityFactory(code=code, latitude=lat, longitude=lon, allows_pickup=True)
            for code, (lat, lon) in zip(["BROOKLYN", "MANHATTAN", "STAMFORD"], PLACES)
        ]
        self.products = [ProductFactory(sku=f"WALK-{n}") for n in range(2)]
        counts = [
            (store, product, stock[2 * s + p])
            for s, store in enumerate(self.stores)
            for p, product in enumerate(self.products)
        ]
        stock_counts_set(counts=counts)

    # -- helpers -----------------------------------------------------------------------------------------------------
    def _active_item(self, n: int, statuses=ACTIVE) -> OrderItem | None:
        items = list(OrderItem.objects.filter(status__in=statuses).select_related("facility", "product").order_by("pk"))
        return items[n % len(items)] if items else None

    # -- what stores and operators do -----------------------------------------------------------------------------------
    @rule(product=product_index, quantity=st.integers(1, 3), near=store_index, pickup=st.booleans())
    def place_order(self, product, quantity, near, pickup):
        self.orders += 1
        lat, lon = PLACES[near]
        order_create(
            name=f"#W{self.orders}", customer_name="Walker", shipping_method="STORE_PICKUP" if pickup else "STANDARD",
            ship_to_latitude=lat, ship_to_longitude=lon, lines=[(self.products[product], quantity)],
            pickup_facility=self.stores[near] if pickup else None,
        )

    @rule(which=pick_any, reason=st.sampled_from(REASONS), part=st.integers(1, 3))
    def reject(self, which, reason, part):
        item = self._active_item(which)
        if item is None:
            return
        try:
            item_reject(facility=item.facility, item_id=item.pk, reason_code=reason, quantity=min(part, item.quantity))
        except FulfillmentError:
            pass  # a policy or a conflict refused it: nothing may change, the invariant below still holds

    @rule(store=store_index, status=st.sampled_from(["open", "in_progress"]), reason=st.sampled_from(REASONS))
    def reject_all(self, store, status, reason):
        facility_reject_all(facility=self.stores[store], from_status=status, reason_code=reason)

    @rule(which=pick_any)
    def start_picking(self, which):
        item = self._active_item(which, [OrderItem.Status.OPEN])
        if item is not None:
            orders_start_picking(facility=item.facility, order_ids=[item.order_id])

    @rule(which=pick_any)
    def pick_and_complete(self, which):
        """Pick (when still open) and complete an item's order at its facility: its units leave the shelf."""
        item = self._active_item(which)
        if item is None:
            return
        if item.status == OrderItem.Status.OPEN:
            orders_start_picking(facility=item.facility, order_ids=[item.order_id])
        order_complete(facility=item.facility, order_id=item.order_id)

    @rule(store=store_index, product=product_index, quantity=st.integers(1, 4))
    def receive(self, store, product, quantity):
        stock_receive(facility=self.stores[store], product=self.products[product], quantity=quantity)

    @rule(store=store_index, product=product_index, quantity=st.integers(0, 8))
    def count(self, store, product, quantity):
        stock_counts_set(counts=[(self.stores[store], self.products[product], quantity)])

    @rule(which=pick_any, quantity=st.integers(0, 2))
    def count_where_items_wait(self, which, quantity):
        """A (often wrong) count at a level that active items hold reservations at: it may leave the level short."""
        item = self._active_item(which)
        if item is not None:
            stock_counts_set(counts=[(item.facility, item.product, quantity)])

    @rule()
    def route_orders(self):
        items_route()

    @rule(cascade=st.booleans(), partial=st.booleans())
    def set_policy(self, cascade, partial):
        RejectionPolicy.objects.update_or_create(
            facility=None, defaults={"cascade_not_in_stock": cascade, "allow_partial_order_rejection": partial}
        )

    # -- after every step ----------------------------------------------------------------------------------------------
    @precondition(lambda self: hasattr(self, "stores"))
    @invariant()
    def inventory_invariant_holds(self):
        assert_inventory_invariant()
        assert Rejection.objects.count() <= InventoryAdjustment.objects.filter(kind="REJECTION").count()


InventoryWalk.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.mark.django_db
def test_no_sequence_of_operations_breaks_the_inventory_invariant():
    InventoryWalk.TestCase("runTest").runTest()
