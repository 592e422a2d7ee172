"""Rejecting items (fulfillment/services/rejections.py): the reason table, the ledger, re-routing, parking,
conflicts, partial lines, policies."""

import pytest

from fulfillment.errors import InvalidRequest, ItemConflict
from fulfillment.models import OrderItem, Rejection, RejectionPolicy, RejectionReason
from fulfillment.services import (
    facility_reject_all,
    item_reject,
    items_route,
    order_complete,
    order_create,
    orders_start_picking,
    stock_receive,
)
from inventory.models import InventoryLevel
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.factories import ProductFactory
from tests.fulfillment.services.world import BROOKLYN, MANHATTAN, place
from tests.support import assert_inventory_invariant, qoh_atp

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "code, expected",
    [
        ("NOT_IN_STOCK", (0, 0)),
        ("MISMATCH", (9, 9)),
        ("DAMAGED", (10, 9)),
        ("WORN_DISPLAY", (10, 9)),
        ("INACTIVE_STORE", (10, 10)),
    ],
)
def test_reason_table_worked_example(stores, code, expected):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=10)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    item = place(product)
    assert item.facility == brooklyn and qoh_atp(brooklyn, product) == (10, 9)

    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code=code)

    assert qoh_atp(brooklyn, product) == expected
    assert result.routed_to == manhattan
    assert qoh_atp(manhattan, product) == (5, 4)
    item.refresh_from_db()
    assert (item.facility, item.status) == (manhattan, OrderItem.Status.OPEN)
    assert Rejection.objects.get(order_item=item).routed_to == manhattan
    assert "Re-routed to" in result.message and manhattan.name in result.message
    assert_inventory_invariant()


def test_mismatch_when_qoh_below_quantity_stops_at_zero(stores):
    brooklyn, _, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=3)
    item = place(product, qty=3)
    InventoryLevel.objects.filter(facility=brooklyn, product=product).update(quantity_on_hand=3, available_to_promise=0)
    # a count takes 2 units away while the reservation still holds 3: QOH 1, ATP 0
    from inventory.services import inventory_count_set

    inventory_count_set(facility=brooklyn, product=product, quantity_on_hand=1)
    item_reject(facility=brooklyn, item_id=item.pk, reason_code="MISMATCH")
    assert qoh_atp(brooklyn, product) == (0, 0)


def test_damaged_when_atp_already_zero(stores):
    brooklyn, _, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=1)
    item = place(product)
    assert qoh_atp(brooklyn, product) == (1, 0)
    item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")
    assert qoh_atp(brooklyn, product) == (1, 0)
    item.refresh_from_db()
    assert item.status == OrderItem.Status.UNROUTED and item.facility is None
    assert "Parked" in item.parked_reason
    assert_inventory_invariant()


def test_not_in_stock_while_other_items_hold_reservations(stores):
    brooklyn, _, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    first, second = place(product, 2), place(product, 2)
    assert qoh_atp(brooklyn, product) == (5, 1)
    item_reject(facility=brooklyn, item_id=first.pk, reason_code="NOT_IN_STOCK")
    assert qoh_atp(brooklyn, product) == (0, 0)
    # the other item's reservation can no longer give anything back: the release is capped at QOH 0
    item_reject(facility=brooklyn, item_id=second.pk, reason_code="DAMAGED")
    assert qoh_atp(brooklyn, product) == (0, 0)
    assert_inventory_invariant()


def test_never_back_to_a_facility_that_rejected_it(stores):
    brooklyn, manhattan, stamford = stores
    product = ProductFactory()
    for store in stores:
        inventory_receive(facility=store, product=product, quantity=5)
    item = place(product)
    assert item.facility == brooklyn
    assert item_reject(facility=brooklyn, item_id=item.pk, reason_code="INACTIVE_STORE").routed_to == manhattan
    assert item_reject(facility=manhattan, item_id=item.pk, reason_code="INACTIVE_STORE").routed_to == stamford
    result = item_reject(facility=stamford, item_id=item.pk, reason_code="INACTIVE_STORE")
    assert result.routed_to is None and "parked" in result.message
    # routing again later still never returns it to any of them
    assert items_route().routed == 0
    decision = RoutingDecision.objects.filter(order_item=item).latest("pk")
    reasons = {c["facility"]: c["reason"] for c in decision.candidate_rows}
    assert reasons["BROOKLYN"].startswith("rejected this item on")
    assert_inventory_invariant()


def test_store_pickup_stays_at_pickup_store_and_parks_when_it_rejects(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    inventory_receive(facility=manhattan, product=product, quantity=50)
    item = place(product, method="STORE_PICKUP", pickup=brooklyn, at=MANHATTAN)
    assert item.facility == brooklyn
    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")
    assert result.routed_to is None
    item.refresh_from_db()
    assert item.status == OrderItem.Status.UNROUTED
    assert "pickup store rejected it" in item.parked_reason
    assert qoh_atp(manhattan, product) == (50, 50)


@pytest.mark.parametrize("status", [OrderItem.Status.COMPLETED, OrderItem.Status.UNROUTED])
def test_conflicts_change_nothing(stores, status):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    item = place(product)
    if status == OrderItem.Status.COMPLETED:
        orders_start_picking(facility=brooklyn, order_ids=[item.order_id])
        order_complete(facility=brooklyn, order_id=item.order_id)
    else:
        item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")
    before = (qoh_atp(brooklyn, product), Rejection.objects.count(), RoutingDecision.objects.count())
    with pytest.raises(ItemConflict) as exc:
        item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")
    assert item.order.name in exc.value.message
    assert (qoh_atp(brooklyn, product), Rejection.objects.count(), RoutingDecision.objects.count()) == before


def test_item_at_another_facility_is_a_conflict(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    item = place(product)
    with pytest.raises(ItemConflict, match="no longer at"):
        item_reject(facility=manhattan, item_id=item.pk, reason_code="DAMAGED")


def test_unknown_reason_and_bad_quantity_are_invalid(stores):
    brooklyn, _, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    item = place(product, qty=2)
    with pytest.raises(InvalidRequest, match="NOT_IN_STOCK"):
        item_reject(facility=brooklyn, item_id=item.pk, reason_code="NOPE")
    with pytest.raises(InvalidRequest, match="between 1 and 2"):
        item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED", quantity=3)
    with pytest.raises(InvalidRequest):
        item_reject(facility=brooklyn, item_id=item.pk, reason_code="REJ_AVOID_ORD_SPLIT")
    system = RejectionReason.objects.get(code="REJ_AVOID_ORD_SPLIT")  # passed as read: still not one an associate may use
    with pytest.raises(InvalidRequest, match="Unknown rejection reason"):
        item_reject(facility=brooklyn, item_id=item.pk, reason=system)
    assert qoh_atp(brooklyn, product) == (5, 3)
    assert not Rejection.objects.exists()
    assert_inventory_invariant()


def test_partial_quantity_splits_the_line(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    item = place(product, qty=3)
    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED", quantity=1)
    item.refresh_from_db()
    assert (item.quantity, item.facility, item.status) == (2, brooklyn, OrderItem.Status.OPEN)
    part = result.item
    assert (part.quantity, part.facility_id, part.split_from_id) == (1, manhattan.pk, item.pk)
    # Brooklyn: QOH 5; 2 still reserved; 1 damaged -> ATP 5 - 2 - 1 = 2
    assert qoh_atp(brooklyn, product) == (5, 2)
    assert qoh_atp(manhattan, product) == (5, 4)
    assert_inventory_invariant()


def test_policy_no_partial_order_rejects_the_rest_of_the_order_here(stores):
    brooklyn, manhattan, _ = stores
    RejectionPolicy.objects.create(facility=brooklyn, allow_partial_order_rejection=False)
    shirt, hat = ProductFactory(), ProductFactory()
    for p in (shirt, hat):
        inventory_receive(facility=brooklyn, product=p, quantity=5)
        inventory_receive(facility=manhattan, product=p, quantity=5)
    order = order_create(name="#P1", customer_name="Bo", shipping_method="STANDARD", ship_to_latitude=BROOKLYN[0],
                         ship_to_longitude=BROOKLYN[1], lines=[(shirt, 1), (hat, 1)])
    first = order.items.get(product=shirt)
    result = item_reject(facility=brooklyn, item_id=first.pk, reason_code="DAMAGED")
    assert len(result.collateral) == 1
    assert set(order.items.values_list("facility__code", flat=True)) == {"MANHATTAN"}
    collateral = Rejection.objects.get(order_item__product=hat)
    assert collateral.reason.code == "REJ_AVOID_ORD_SPLIT" and collateral.caused_by == result.rejection
    assert qoh_atp(brooklyn, hat) == (5, 5)  # no-variance: only the release


def test_policy_cascade_not_in_stock(stores):
    brooklyn, manhattan, _ = stores
    RejectionPolicy.objects.filter(facility__isnull=True).update(cascade_not_in_stock=True)
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    items = [place(product) for _ in range(3)]
    result = item_reject(facility=brooklyn, item_id=items[0].pk, reason_code="NOT_IN_STOCK")
    assert len(result.collateral) == 2
    assert {r.reason.code for r in Rejection.objects.exclude(pk=result.rejection.pk)} == {"REJ_CASCADE_BY_PROD"}
    assert OrderItem.objects.filter(facility=manhattan).count() == 3
    assert_inventory_invariant()


def test_ledger_invariant_holds_after_a_random_sequence_of_operations(stores):
    """200 seeded random operations of every kind; after each, levels equal their ledger and 0 <= ATP <= QOH."""
    import random

    from fulfillment.errors import FulfillmentError
    from inventory.services import inventory_count_set

    rng = random.Random(20261127)
    products = [ProductFactory() for _ in range(4)]
    reasons = ["NOT_IN_STOCK", "MISMATCH", "DAMAGED", "WORN_DISPLAY", "INACTIVE_STORE"]
    for store in stores:
        for product in products:
            inventory_receive(facility=store, product=product, quantity=rng.randint(0, 6) or 1)
    for step in range(200):
        op = rng.choice(["order", "order", "reject", "reject", "reject_all", "pick", "complete", "receive", "count", "route"])
        store = rng.choice(stores)
        product = rng.choice(products)
        live = list(OrderItem.objects.filter(status__in=["OPEN", "IN_PROGRESS"]).select_related("facility"))
        try:
            if op == "order":
                place(product, qty=rng.randint(1, 3), name=f"#R{step}")
            elif op == "reject" and live:
                item = rng.choice(live)
                item_reject(facility=item.facility, item_id=item.pk, reason_code=rng.choice(reasons),
                            quantity=rng.randint(1, item.quantity))
            elif op == "reject_all":
                facility_reject_all(facility=store, from_status=rng.choice(["open", "in_progress"]), reason_code=rng.choice(reasons))
            elif op == "pick" and live:
                item = rng.choice(live)
                orders_start_picking(facility=item.facility, order_ids=[item.order_id])
            elif op == "complete" and live:
                item = rng.choice(live)
                order_complete(facility=item.facility, order_id=item.order_id)
            elif op == "receive":
                stock_receive(facility=store, product=product, quantity=rng.randint(1, 4))
            elif op == "count":
                inventory_count_set(facility=store, product=product, quantity_on_hand=rng.randint(0, 8))
            elif op == "route":
                items_route()
        except FulfillmentError:
            pass  # a conflict (nothing to pick/complete) changes nothing; the invariant below still has to hold
        assert_inventory_invariant()
    # the walk really rejected, split and parked things, and every rejection kept its records
    assert Rejection.objects.count() >= 20
    assert OrderItem.objects.filter(split_from__isnull=False).exists()
    assert Rejection.objects.count() == RoutingDecision.objects.filter(trigger="REJECTION").count()


# -- rejection policies (issue #4) --------------------------------------------------------------------------------------
def _order(name, lines, at=BROOKLYN):
    return order_create(name=name, customer_name="Bo", shipping_method="STANDARD", ship_to_latitude=at[0],
                        ship_to_longitude=at[1], lines=lines)


def test_policy_facility_override_beats_the_global_policy(stores):
    brooklyn, manhattan, _ = stores
    RejectionPolicy.objects.filter(facility__isnull=True).update(allow_partial_order_rejection=False)
    RejectionPolicy.objects.create(facility=brooklyn, allow_partial_order_rejection=True)
    shirt, hat = ProductFactory(), ProductFactory()
    for p in (shirt, hat):
        inventory_receive(facility=brooklyn, product=p, quantity=5)
        inventory_receive(facility=manhattan, product=p, quantity=5)
    order = _order("#P2", [(shirt, 1), (hat, 1)])
    result = item_reject(facility=brooklyn, item_id=order.items.get(product=shirt).pk, reason_code="DAMAGED")
    assert result.collateral == []
    assert order.items.get(product=hat).facility == brooklyn  # Brooklyn allows a partial order rejection


def test_policy_no_partial_order_leaves_other_facilities_items_and_finished_items_alone(stores):
    brooklyn, manhattan, stamford = stores
    RejectionPolicy.objects.filter(facility__isnull=True).update(allow_partial_order_rejection=False)
    shirt, hat, sock = ProductFactory(), ProductFactory(), ProductFactory()
    for p in (shirt, hat):
        inventory_receive(facility=brooklyn, product=p, quantity=5)
        inventory_receive(facility=stamford, product=p, quantity=5)
    inventory_receive(facility=manhattan, product=sock, quantity=5)
    order = _order("#P3", [(shirt, 1), (hat, 1), (sock, 1)])
    hat_item = order.items.get(product=hat)
    orders_start_picking(facility=brooklyn, order_ids=[order.pk])  # in progress items are rejected with it too
    result = item_reject(facility=brooklyn, item_id=order.items.get(product=shirt).pk, reason_code="DAMAGED")
    assert [c.item.pk for c in result.collateral] == [hat_item.pk]
    assert "1 other item(s) here were rejected with it by the store's policy." in result.message
    assert order.items.get(product=sock).facility == manhattan  # at another facility: untouched
    assert set(order.items.filter(product__in=[shirt, hat]).values_list("facility__code", flat=True)) == {"STAMFORD"}
    assert_inventory_invariant()


def test_policy_no_partial_order_also_moves_the_rest_of_a_partially_rejected_line(stores):
    """Bug fix: rejecting 1 of 3 units left 2 units here, so the order shipped split despite the policy."""
    brooklyn, manhattan, _ = stores
    RejectionPolicy.objects.filter(facility__isnull=True).update(allow_partial_order_rejection=False)
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    item = place(product, qty=3)
    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED", quantity=1)
    assert not OrderItem.objects.filter(order=item.order, facility=brooklyn).exists()
    assert sorted(OrderItem.objects.filter(order=item.order).values_list("facility__code", "quantity")) == [
        ("MANHATTAN", 1), ("MANHATTAN", 2)
    ]
    rest = Rejection.objects.get(order_item=item)
    assert (rest.reason.code, rest.quantity, rest.caused_by) == ("REJ_AVOID_ORD_SPLIT", 2, result.rejection)
    assert (result.rejection.reason.code, result.rejection.quantity) == ("DAMAGED", 1)
    assert qoh_atp(brooklyn, product) == (5, 4)  # one unit unsellable; the other two only released
    assert qoh_atp(manhattan, product) == (5, 2)
    assert_inventory_invariant()


def test_policy_cascade_only_for_not_in_stock_and_only_open_items(stores):
    brooklyn, manhattan, _ = stores
    RejectionPolicy.objects.filter(facility__isnull=True).update(cascade_not_in_stock=True)
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=9)
    inventory_receive(facility=manhattan, product=product, quantity=9)
    first, second, picking, other_store = place(product), place(product), place(product), place(product, at=MANHATTAN)
    orders_start_picking(facility=brooklyn, order_ids=[picking.order_id])
    assert item_reject(facility=brooklyn, item_id=first.pk, reason_code="DAMAGED").collateral == []
    result = item_reject(facility=brooklyn, item_id=second.pk, reason_code="NOT_IN_STOCK")
    assert result.collateral == []  # the only other item here is in progress, not open
    assert OrderItem.objects.get(pk=picking.pk).facility == brooklyn
    assert OrderItem.objects.get(pk=other_store.pk).facility == manhattan


def test_policy_cascade_also_moves_the_rest_of_a_partially_rejected_open_line(stores):
    """Bug fix: NOT_IN_STOCK for 1 of 3 units zeroed the store's stock but left the other 2 units there."""
    brooklyn, manhattan, _ = stores
    RejectionPolicy.objects.filter(facility__isnull=True).update(cascade_not_in_stock=True)
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    item = place(product, qty=3)
    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="NOT_IN_STOCK", quantity=1)
    assert not OrderItem.objects.filter(order=item.order, facility=brooklyn).exists()
    rest = Rejection.objects.get(order_item=item)
    assert (rest.reason.code, rest.quantity, rest.caused_by) == ("REJ_CASCADE_BY_PROD", 2, result.rejection)
    assert qoh_atp(brooklyn, product) == (0, 0)
    assert_inventory_invariant()


def test_partial_rejection_without_policies_keeps_the_rest_here(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=5)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    item = place(product, qty=3)
    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="NOT_IN_STOCK", quantity=1)
    assert result.collateral == []
    item.refresh_from_db()
    assert (item.facility, item.quantity) == (brooklyn, 2)


def test_policy_collateral_never_returns_to_the_rejecting_store_and_parks_when_nowhere(stores):
    brooklyn, _, _ = stores
    RejectionPolicy.objects.filter(facility__isnull=True).update(allow_partial_order_rejection=False)
    shirt, hat = ProductFactory(), ProductFactory()
    for p in (shirt, hat):
        inventory_receive(facility=brooklyn, product=p, quantity=5)
    order = _order("#P4", [(shirt, 1), (hat, 1)])
    result = item_reject(facility=brooklyn, item_id=order.items.get(product=shirt).pk, reason_code="DAMAGED")
    assert [c.routed_to for c in result.collateral] == [None]
    hat_item = order.items.get(product=hat)
    assert hat_item.status == OrderItem.Status.UNROUTED
    decision = RoutingDecision.objects.filter(order_item=hat_item).latest("pk")
    assert {c["facility"]: c["reason"] for c in decision.candidate_rows}["BROOKLYN"] == "rejected this item just now"
    assert qoh_atp(brooklyn, hat) == (5, 5)
