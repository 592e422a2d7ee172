"""Read, decide, claim (fulfillment/services/placement.py: items_place): decisions are made on levels read without
locks, and only claimed on the locked levels; a claim that no longer fits is decided again on fresh numbers."""


import pytest

from fulfillment.models import OrderItem
from fulfillment.services import (
    facility_reject_all,
    item_reject,
    order_create,
    stock_receive,
)
from fulfillment.services import placement as routing_services
from inventory.models import InventoryLevel
from inventory.stock import StockSnapshot
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.conftest import requires_postgres
from tests.factories import (
    FacilityFactory,
    InventoryLevelFactory,
    ProductFactory,
    order_placed,
)
from tests.fulfillment.services import world
from tests.support import assert_inventory_invariant, qoh_atp, run_together

SHIP_TO = (40.6782, -73.9442)


def stale_reads(monkeypatch, product, *, stale_atp: dict, calls: int | None = None):
    """Make the unlocked reads see `stale_atp` ({facility: ATP}) as if someone took those units a moment later: the
    first `calls` reads of the product's levels (the candidates, or every level) routing takes into its stock."""
    real_add = StockSnapshot.add
    seen = {"calls": 0}

    def add(self, rows, *, complete_products=()):
        rows = list(rows)
        if any(row.product_id == product.pk for row in rows):
            seen["calls"] += 1
            if calls is None or seen["calls"] <= calls:
                for row in rows:
                    for facility, atp in stale_atp.items():
                        if (row.facility_id, row.product_id) == (facility.pk, product.pk):
                            row.available_to_promise = atp
        real_add(self, rows, complete_products=complete_products)

    monkeypatch.setattr(StockSnapshot, "add", add)
    return seen


def place(product, name):
    return order_create(name=name, customer_name="Ada", shipping_method="STANDARD", ship_to_latitude=SHIP_TO[0],
                        ship_to_longitude=SHIP_TO[1], lines=[(product, 1)])


@pytest.mark.django_db
def test_a_lost_claim_is_decided_again_on_fresh_numbers_and_the_decision_explains_every_facility(monkeypatch):
    near = FacilityFactory(code="NEAR", latitude=SHIP_TO[0], longitude=SHIP_TO[1])
    far = FacilityFactory(code="FAR", latitude=40.75, longitude=-73.98)
    product = ProductFactory()
    InventoryLevelFactory(facility=near, product=product, quantity_on_hand=0, available_to_promise=0)
    inventory_receive(facility=far, product=product, quantity=5)
    reads = stale_reads(monkeypatch, product, stale_atp={near: 3}, calls=1)  # NEAR's 3 units went just after the read

    item = place(product, "#LOST1").items.get()

    assert reads["calls"] == 2  # decided, lost the claim at NEAR, read again, decided again
    assert item.facility == far and item.status == "OPEN"
    decision = RoutingDecision.objects.get(order_item=item)
    assert decision.chosen_facility == far
    reasons = {c["facility"]: c["reason"] for c in decision.candidate_rows}
    assert reasons == {"NEAR": "ATP 0", "FAR": "chosen: 1 unit(s)"}
    assert InventoryLevel.objects.get(facility=far, product=product).available_to_promise == 4
    assert InventoryLevel.objects.get(facility=near, product=product).available_to_promise == 0
    assert_inventory_invariant()


@pytest.mark.django_db
def test_a_level_another_order_holds_is_not_chosen_again_and_the_decision_says_so(monkeypatch):
    """A re-decided claim never waits for a level another transaction holds (SKIP LOCKED): the next decision takes
    the next facility, and explains the held one as busy."""
    import inventory.services

    near = FacilityFactory(code="NEAR", latitude=SHIP_TO[0], longitude=SHIP_TO[1])
    mid = FacilityFactory(code="MID", latitude=40.70, longitude=-73.95)
    far = FacilityFactory(code="FAR", latitude=40.75, longitude=-73.98)
    product = ProductFactory()
    InventoryLevelFactory(facility=near, product=product, quantity_on_hand=0, available_to_promise=0)
    inventory_receive(facility=mid, product=product, quantity=5)
    inventory_receive(facility=far, product=product, quantity=5)
    stale_reads(monkeypatch, product, stale_atp={near: 3}, calls=1)
    real_lock = inventory.services.lock_levels_unless_busy
    mid_level = InventoryLevel.objects.get(facility=mid, product=product).pk
    monkeypatch.setattr(  # as if another order held MID's level at that moment
        inventory.services, "lock_levels_unless_busy", lambda ids: [lvl for lvl in real_lock(ids) if lvl.pk != mid_level]
    )

    item = place(product, "#BUSY").items.get()

    assert item.facility == far and item.status == "OPEN"
    reasons = {c["facility"]: c["reason"] for c in RoutingDecision.objects.get(order_item=item).candidate_rows}
    assert reasons == {
        "NEAR": "ATP 0", "MID": "busy: another order was taking its units at that moment", "FAR": "chosen: 1 unit(s)",
    }
    assert InventoryLevel.objects.get(pk=mid_level).available_to_promise == 5
    assert_inventory_invariant()


@pytest.mark.django_db
def test_an_item_whose_stock_keeps_being_taken_is_parked_with_a_reason_that_says_so(monkeypatch):
    stores = [FacilityFactory(code=f"GONE{n}", latitude=SHIP_TO[0] + n / 100, longitude=SHIP_TO[1]) for n in range(8)]
    product = ProductFactory()
    for store in stores:
        InventoryLevelFactory(facility=store, product=product, quantity_on_hand=0, available_to_promise=0)
    stale_reads(monkeypatch, product, stale_atp={store: 2 for store in stores})  # every read is already out of date

    item = place(product, "#LOST3").items.get()

    assert item.status == "UNROUTED" and item.facility is None and item.parked_kind == "NO_FACILITY"
    assert item.parked_reason == routing_services.PARKED_AFTER_LOST_CLAIMS.format(rounds=routing_services.CLAIM_ROUNDS)
    decision = RoutingDecision.objects.get(order_item=item)
    assert decision.outcome == "UNROUTED" and decision.chosen_facility is None
    assert "taken by another order meanwhile" in {c["facility"]: c["reason"] for c in decision.candidate_rows}[f"GONE{routing_services.CLAIM_ROUNDS - 1}"]
    assert_inventory_invariant()


@pytest.mark.django_db
def test_a_rejection_locks_only_the_levels_that_change(monkeypatch):
    """The rejecting store's level and the level chosen for the item, in one statement: not every facility's level."""
    import inventory.services

    here = FacilityFactory(code="HERE", latitude=SHIP_TO[0], longitude=SHIP_TO[1])
    others = [FacilityFactory(code=f"OTHER{n}", latitude=40.7 + n / 100, longitude=-74.0) for n in range(6)]
    product = ProductFactory()
    for store in [here, *others]:
        inventory_receive(facility=store, product=product, quantity=3)
    item = place(product, "#LOCKS").items.get()
    assert item.facility == here
    locked_sets = []
    real_lock = inventory.services.lock_levels

    def spy(level_ids):
        levels = real_lock(level_ids)
        locked_sets.append({(lvl.facility_id, lvl.product_id) for lvl in levels})
        return levels

    monkeypatch.setattr(inventory.services, "lock_levels", spy)

    item_reject(facility=here, item_id=item.pk, reason_code="DAMAGED")

    item.refresh_from_db()
    assert item.facility != here
    assert locked_sets == [{(here.pk, product.pk), (item.facility_id, product.pk)}]
    assert_inventory_invariant()


# -- parked items, receipts and counts ------------------------------------------------------------------------
@pytest.mark.django_db
def test_nearest_facility_with_atp_wins_and_explains(stores):
    brooklyn, manhattan, stamford = stores
    product = ProductFactory()
    inventory_receive(facility=stamford, product=product, quantity=5)
    inventory_receive(facility=manhattan, product=product, quantity=5)
    item = world.place(product)
    assert item.facility == manhattan
    decision = RoutingDecision.objects.get(order_item=item)
    assert decision.outcome == "ROUTED" and decision.chosen_facility == manhattan
    reasons = {c["facility"]: c["reason"] for c in decision.candidate_rows}
    assert reasons["BROOKLYN"] == "ATP 0"
    assert reasons["STAMFORD"].startswith("farther than MANHATTAN")
    assert reasons["MANHATTAN"].startswith("chosen")


@pytest.mark.django_db
def test_receiving_stock_routes_parked_items(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    item = world.place(product)
    assert item.status == OrderItem.Status.UNROUTED
    _, summary = stock_receive(facility=manhattan, product=product, quantity=2)
    item.refresh_from_db()
    assert (summary.routed, item.facility, item.status) == (1, manhattan, OrderItem.Status.OPEN)
    assert qoh_atp(manhattan, product) == (2, 1)


@pytest.mark.django_db
def test_counting_stock_routes_parked_items_and_keeps_the_ledger(stores):
    from fulfillment.services import stock_counts_set

    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    item = world.place(product, qty=2)
    assert item.status == OrderItem.Status.UNROUTED
    summary = stock_counts_set(counts=[(manhattan, product, 3), (brooklyn, product, 0)], reference="cycle count")
    item.refresh_from_db()
    assert (summary.routed, summary.parked, summary.rerouted) == (1, 0, {"MANHATTAN": 1})
    assert qoh_atp(manhattan, product) == (3, 1)
    assert_inventory_invariant()


# -- real threads on PostgreSQL ----------------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_32_writers_racing_for_the_last_5_units_never_oversell():
    """Order creation, single rejections and a Reject All at once, all wanting the last 5 units of one product."""
    scarce = FacilityFactory(code="SCARCE", latitude=SHIP_TO[0], longitude=SHIP_TO[1])
    rejecting = FacilityFactory(code="REJECTS", latitude=40.80, longitude=-73.90)
    closing = FacilityFactory(code="CLOSING", latitude=40.85, longitude=-73.85)
    product = ProductFactory()
    inventory_receive(facility=rejecting, product=product, quantity=15)
    inventory_receive(facility=closing, product=product, quantity=8)
    at_rejecting = [order_placed(lines=[(product, 1)], near=rejecting).items.get() for _ in range(15)]
    at_closing = [order_placed(lines=[(product, 1)], near=closing).items.get() for _ in range(8)]
    assert {i.facility_id for i in at_rejecting} == {rejecting.pk} and {i.facility_id for i in at_closing} == {closing.pk}
    inventory_receive(facility=scarce, product=product, quantity=5)

    funcs = [(lambda n=n: place(product, f"#NEW{n}")) for n in range(16)]
    funcs += [(lambda i=i: item_reject(facility=rejecting, item_id=i.pk, reason_code="NOT_IN_STOCK")) for i in at_rejecting]
    funcs.append(lambda: facility_reject_all(facility=closing, from_status="OPEN", reason_code="NOT_IN_STOCK"))
    assert len(funcs) == 32
    results = run_together(funcs)

    assert not [r for r in results if isinstance(r, Exception)], results
    level = InventoryLevel.objects.get(facility=scarce, product=product)
    assert (level.quantity_on_hand, level.available_to_promise) == (5, 0)
    assert OrderItem.objects.filter(facility=scarce, status="OPEN").count() == 5
    assert OrderItem.objects.filter(product=product, status="UNROUTED").count() == 16 + 15 + 8 - 5
    assert not OrderItem.objects.filter(product=product, facility__in=[rejecting, closing]).exists()
    assert_inventory_invariant()
