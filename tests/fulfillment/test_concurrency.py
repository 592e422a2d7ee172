"""Real threads on PostgreSQL: row locks (items, then levels, pk order) make concurrent writers safe."""


import pytest

from fulfillment.errors import ItemConflict
from fulfillment.models import OrderItem, Rejection
from fulfillment.services import item_reject, order_create
from inventory.models import InventoryLevel
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.conftest import requires_postgres
from tests.factories import FacilityFactory, ProductFactory
from tests.support import assert_inventory_invariant, run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]




def test_two_concurrent_rejections_of_one_item_make_one_rejection():
    brooklyn = FacilityFactory(code="BROOKLYN", latitude=40.68, longitude=-73.94)
    manhattan = FacilityFactory(code="MANHATTAN", latitude=40.75, longitude=-73.98)
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=10)
    inventory_receive(facility=manhattan, product=product, quantity=10)
    order = order_create(name="#C1", customer_name="Ada", shipping_method="STANDARD", ship_to_latitude=40.68,
                         ship_to_longitude=-73.94, lines=[(product, 1)])
    item = order.items.get()
    assert item.facility == brooklyn

    results = run_together([
        lambda: item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED"),
        lambda: item_reject(facility=brooklyn, item_id=item.pk, reason_code="MISMATCH"),
    ])

    conflicts = [r for r in results if isinstance(r, ItemConflict)]
    successes = [r for r in results if not isinstance(r, Exception)]
    assert len(successes) == 1 and len(conflicts) == 1, results
    assert Rejection.objects.filter(order_item=item).count() == 1
    assert RoutingDecision.objects.filter(order_item=item, trigger="REJECTION").count() == 1
    level = InventoryLevel.objects.get(facility=brooklyn, product=product)
    # exactly one reason's effect applied to Brooklyn: DAMAGED -> (10, 9), MISMATCH -> (9, 9)
    assert (level.quantity_on_hand, level.available_to_promise) in {(10, 9), (9, 9)}
    assert InventoryLevel.objects.get(facility=manhattan, product=product).available_to_promise == 9
    assert_inventory_invariant()


def test_concurrent_routings_for_the_last_units_never_oversell():
    store = FacilityFactory(code="LASTUNITS", latitude=40.68, longitude=-73.94)
    product = ProductFactory()
    inventory_receive(facility=store, product=product, quantity=5)

    def place(n):
        return lambda: order_create(name=f"#RACE{n}", customer_name="Racer", shipping_method="STANDARD",
                                    ship_to_latitude=40.68, ship_to_longitude=-73.94, lines=[(product, 1)])

    results = run_together([place(n) for n in range(16)])

    assert not [r for r in results if isinstance(r, Exception)], results
    level = InventoryLevel.objects.get(facility=store, product=product)
    assert (level.quantity_on_hand, level.available_to_promise) == (5, 0)
    assert OrderItem.objects.filter(facility=store, status="OPEN").count() == 5
    assert OrderItem.objects.filter(status="UNROUTED").count() == 11
    assert_inventory_invariant()


def test_concurrent_rejections_bouncing_between_stores_do_not_deadlock():
    """Two stores rejecting different items of one product to each other at once: both complete, stock stays exact."""
    a = FacilityFactory(code="STOREA", latitude=40.68, longitude=-73.94)
    b = FacilityFactory(code="STOREB", latitude=40.75, longitude=-73.98)
    product = ProductFactory()
    inventory_receive(facility=a, product=product, quantity=20)
    inventory_receive(facility=b, product=product, quantity=20)
    near_a = [order_create(name=f"#A{n}", customer_name="A", shipping_method="STANDARD", ship_to_latitude=40.68,
                           ship_to_longitude=-73.94, lines=[(product, 1)]).items.get() for n in range(6)]
    near_b = [order_create(name=f"#B{n}", customer_name="B", shipping_method="STANDARD", ship_to_latitude=40.75,
                           ship_to_longitude=-73.98, lines=[(product, 1)]).items.get() for n in range(6)]
    assert {i.facility_id for i in near_a} == {a.pk} and {i.facility_id for i in near_b} == {b.pk}

    funcs = [(lambda i=i: item_reject(facility=a, item_id=i.pk, reason_code="INACTIVE_STORE")) for i in near_a]
    funcs += [(lambda i=i: item_reject(facility=b, item_id=i.pk, reason_code="INACTIVE_STORE")) for i in near_b]
    results = run_together(funcs)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert OrderItem.objects.filter(facility=b, order__name__startswith="#A").count() == 6
    assert OrderItem.objects.filter(facility=a, order__name__startswith="#B").count() == 6
    for store in (a, b):
        level = InventoryLevel.objects.get(facility=store, product=product)
        assert (level.quantity_on_hand, level.available_to_promise) == (20, 14)
    assert_inventory_invariant()


def test_a_customer_choice_racing_a_staff_reroute_of_the_same_item_one_wins_the_other_is_told():
    from fulfillment.errors import ChoiceClosed
    from fulfillment.models import PickupChoice
    from fulfillment.services import items_route
    from fulfillment.services.customer_choice import pickup_choice_apply
    from routing.models import RoutingRule

    brooklyn = FacilityFactory(code="BROOKLYN", latitude=40.68, longitude=-73.94)
    manhattan = FacilityFactory(code="MANHATTAN", latitude=40.75, longitude=-73.98)
    product = ProductFactory()
    inventory_receive(facility=brooklyn, product=product, quantity=10)
    inventory_receive(facility=manhattan, product=product, quantity=10)
    RoutingRule.objects.update(exclude_rejecting_facilities=False)  # staff may route it back to the pickup store
    outcomes = set()
    for n in range(4):
        order = order_create(name=f"#R{n}", customer_name="Ada", customer_email="ada@example.com",
                             shipping_method="STORE_PICKUP", pickup_facility=brooklyn, ship_to_latitude=40.68,
                             ship_to_longitude=-73.94, lines=[(product, 1)])
        item = order.items.get()
        item_reject(facility=brooklyn, item_id=item.pk, reason_code="INACTIVE_STORE")
        choice = PickupChoice.objects.get(order_item=item)

        customer, staff = run_together([
            lambda: pickup_choice_apply(choice_id=choice.pk, action="OTHER_STORE", facility_id=manhattan.pk),
            lambda: items_route(item_ids=[item.pk]),
        ])
        item.refresh_from_db()
        choice.refresh_from_db()
        assert item.status == "OPEN"
        if isinstance(customer, ChoiceClosed):  # staff won: back at Brooklyn, the choice untouched and now refused
            assert "already taken care of" in customer.message
            assert staff.routed == 1 and item.facility == brooklyn and choice.is_waiting
            outcomes.add("staff")
        else:  # the customer won: at Manhattan; the staff routing found nothing parked and says so
            assert not isinstance(customer, Exception), customer
            assert (staff.routed, staff.parked) == (0, 0) and item.facility == manhattan and choice.outcome == "OTHER_STORE"
            outcomes.add("customer")
        assert RoutingDecision.objects.filter(order_item=item).exclude(trigger__in=["ORDER_CREATED", "REJECTION"]).count() == 1
    assert outcomes  # at least one kind of winner observed; both are handled
    assert_inventory_invariant()
