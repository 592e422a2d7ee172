"""Routing with the database: the session (rules, groups, day loads) and the recorded decisions, and the rules at work
through the fulfillment services that route (order creation, rejection, route again, receipts)."""

from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.models import OrderItem
from fulfillment.services import item_reject, items_route, stock_receive
from inventory.bulk import Writes
from inventory.models import Facility, InventoryLevel
from inventory.selectors import stock_snapshot_read
from inventory.services import inventory_receive
from routing.engine import Demand, day_month
from routing.models import FacilityDailyLoad, RoutingDecision, RoutingRule
from routing.selectors import group_members_for, rules_active
from routing.services import decisions_record, routing_session_open
from tests.factories import FacilityFactory, FacilityGroupFactory, ProductFactory
from tests.support import place as place_order

pytestmark = pytest.mark.django_db

BROOKLYN = (40.6782, -73.9442)
MANHATTAN = (40.7549, -73.9840)  # 9.2 km from Brooklyn
NEWARK = (40.7357, -74.1724)  # 20.3 km
STAMFORD = (41.0534, -73.5387)  # 53.9 km
PHILLY = (39.9526, -75.1652)  # 131.2 km


def store(code, at, **fields):
    return FacilityFactory(code=code, name=code.title(), latitude=at[0], longitude=at[1], **fields)


@pytest.fixture
def stores():
    return store("BROOKLYN", BROOKLYN), store("MANHATTAN", MANHATTAN), store("STAMFORD", STAMFORD)


def stock(facility, product, quantity):
    inventory_receive(facility=facility, product=product, quantity=quantity)


def levels(product) -> dict[str, tuple[int, int]]:
    return {
        lvl.facility.code: (lvl.quantity_on_hand, lvl.available_to_promise)
        for lvl in InventoryLevel.objects.filter(product=product).select_related("facility")
    }


place = partial(place_order, at=BROOKLYN)


def latest_decision(item) -> RoutingDecision:
    return RoutingDecision.objects.filter(order_item=item).latest("pk")


def reasons(decision) -> dict[str, str]:
    return {c["facility"]: c["reason"] for c in decision.candidate_rows}


def rule_add(name, sequence, **fields) -> RoutingRule:
    return RoutingRule.objects.create(name=name, sequence=sequence, **fields)


# -- the default rule set (data migration) ------------------------------------------------------------------------
def test_default_rules_route_like_the_first_engine():
    rules = rules_active()
    assert [(r.name, r.shipping_methods, r.max_distance_km, r.sort, r.allow_split) for r in rules] == [
        ("Same day: nearest facility within 50 km with the whole line", ["SAME_DAY"], 50, "PROXIMITY", False),
        ("Nearest facility with the whole line", ["STANDARD", "EXPRESS", "STORE_PICKUP"], None, "PROXIMITY", False),
    ]
    assert all(r.exclude_rejecting_facilities for r in rules)
    split = RoutingRule.objects.get(allow_split=True)
    assert split.is_active is False  # shipped switched off: admins opt in


def test_rules_active_in_sequence_then_pk_without_inactive_ones():
    RoutingRule.objects.all().delete()
    late = rule_add("Late", 30)
    first = rule_add("First", 10)
    tie = rule_add("Tie", 30)
    rule_add("Off", 5, is_active=False)
    assert rules_active() == [first, late, tie]


def test_group_members_only_for_groups_the_rules_use(stores):
    brooklyn, manhattan, stamford = stores
    used, unused = FacilityGroupFactory(name="City"), FacilityGroupFactory(name="Unused")
    used.facilities.add(brooklyn, manhattan)
    unused.facilities.add(stamford)
    assert group_members_for([rule_add("City only", 1, facility_group=used)]) == {used.pk: {brooklyn.pk, manhattan.pk}}
    assert group_members_for(rules_active()[1:]) == {}


# -- the routing session ------------------------------------------------------------------------------------------
def _session_queries(product) -> int:
    with CaptureQueriesContext(connection) as ctx:
        session = routing_session_open(stock=stock_snapshot_read(product_ids=[product.pk]))
        plan = session.route(Demand(key=1, product_id=product.pk, quantity=1, shipping_method="STANDARD",
                                    latitude=BROOKLYN[0], longitude=BROOKLYN[1]))
        writes = Writes()
        session.close([plan], writes)
        writes.send()
    return len(ctx.captured_queries)


def test_opening_a_session_costs_the_same_queries_for_3_or_60_facilities():
    product = ProductFactory()
    group = FacilityGroupFactory()
    rule_add("Group rule", 1, facility_group=group, shipping_methods=["EXPRESS"])
    for i in range(3):
        FacilityFactory(code=f"F{i}", daily_order_limit=50)
    few = _session_queries(product)
    for i in range(3, 60):
        FacilityFactory(code=f"F{i}", daily_order_limit=50)
    assert _session_queries(product) == few


def test_daily_limit_holds_across_transactions_and_counts_on_the_facility_local_day(stores):
    brooklyn, manhattan, _ = stores
    Facility.objects.filter(pk=brooklyn.pk).update(daily_order_limit=2)
    product = ProductFactory()
    stock(brooklyn, product, 10)
    stock(manhattan, product, 10)
    placed = [place(product).facility.code for _ in range(3)]
    assert placed == ["BROOKLYN", "BROOKLYN", "MANHATTAN"]
    brooklyn.refresh_from_db()
    load = FacilityDailyLoad.objects.get(facility=brooklyn)
    assert (load.day, load.routed_lines) == (brooklyn.local_date(), 2)
    third = OrderItem.objects.filter(facility=manhattan).get()
    assert reasons(latest_decision(third))["BROOKLYN"] == "over daily limit (2/2 lines today)"
    # yesterday's load does not count today
    FacilityDailyLoad.objects.filter(facility=brooklyn).update(day=load.day.replace(year=load.day.year - 1))
    assert place(product).facility == brooklyn


def test_decisions_record_writes_allocations_by_code_and_every_candidate(stores):
    brooklyn, manhattan, stamford = stores
    product = ProductFactory()
    stock(manhattan, product, 3)
    item = place(product)
    decision = RoutingDecision.objects.get(order_item=item)
    assert decision.trigger == RoutingDecision.Trigger.ORDER_CREATED
    assert (decision.outcome, decision.chosen_facility, decision.rule_name) == (
        "ROUTED", manhattan, "Nearest facility with the whole line"
    )
    assert decision.rule == RoutingRule.objects.get(name="Nearest facility with the whole line")
    assert decision.allocations == [{"facility": "MANHATTAN", "quantity": 1}]
    assert decision.summary == (
        "Routed to Manhattan by rule “Nearest facility with the whole line”: nearest with the whole line, 9.2 km away."
    )
    assert {c["facility"]: (c["distance_km"], c["routable_atp"], c["reason"]) for c in decision.candidate_rows} == {
        "BROOKLYN": (0.0, 0, "ATP 0"),
        "MANHATTAN": (9.2, 3, "chosen: 1 unit(s)"),
        "STAMFORD": (53.9, 0, "ATP 0"),
    }


def test_decisions_record_is_one_insert_for_many_plans(stores):
    _, manhattan, _ = stores
    product = ProductFactory()
    stock(manhattan, product, 50)
    items = [place(product) for _ in range(3)]
    session = routing_session_open(stock=stock_snapshot_read(product_ids=[product.pk]))
    plans = [
        (i.pk, session.route(Demand(key=i.pk, product_id=product.pk, quantity=1, shipping_method="STANDARD",
                                    latitude=BROOKLYN[0], longitude=BROOKLYN[1])))
        for i in items
    ]
    with CaptureQueriesContext(connection) as ctx:
        writes = Writes()
        decisions_record(session=session, plans=plans, trigger=RoutingDecision.Trigger.ROUTE_ORDERS, writes=writes)
        writes.send()
    assert len(ctx.captured_queries) == 1
    assert list(
        RoutingDecision.objects.filter(trigger=RoutingDecision.Trigger.ROUTE_ORDERS).order_by("pk")
        .values_list("order_item_id", flat=True)
    ) == [i.pk for i in items]


# -- rules at work through the services --------------------------------------------------------------------------
def test_unrouted_keeps_its_reason_on_the_item_and_the_decision(stores):
    product = ProductFactory()
    item = place(product, 2)
    assert (item.status, item.facility) == (OrderItem.Status.UNROUTED, None)
    decision = latest_decision(item)
    assert decision.outcome == "UNROUTED" and decision.chosen_facility is None and decision.rule is None
    assert item.parked_reason == decision.summary == (
        "Parked: no facility can take the whole line under the rules tried (“Nearest facility with the whole line”)."
    )


def test_routed_again_clears_the_parked_reason(stores):
    _, manhattan, _ = stores
    product = ProductFactory()
    item = place(product)
    stock(manhattan, product, 1)
    summary = items_route(item_ids=[item.pk])
    item.refresh_from_db()
    assert (summary.routed, summary.parked, summary.rerouted) == (1, 0, {"MANHATTAN": 1})
    assert (item.status, item.facility, item.parked_reason) == (OrderItem.Status.OPEN, manhattan, "")
    assert latest_decision(item).trigger == RoutingDecision.Trigger.ROUTE_ORDERS


def test_split_rule_turns_the_line_into_several_reserved_items(stores):
    brooklyn, manhattan, stamford = stores
    RoutingRule.objects.filter(allow_split=True).update(is_active=True)
    product = ProductFactory()
    stock(brooklyn, product, 2)
    stock(manhattan, product, 1)
    stock(stamford, product, 4)
    item = place(product, 5)
    items = list(OrderItem.objects.filter(order=item.order).order_by("pk").values_list("facility__code", "quantity", "status", "split_from"))
    assert items == [
        ("BROOKLYN", 2, "OPEN", None),
        ("MANHATTAN", 1, "OPEN", item.pk),
        ("STAMFORD", 2, "OPEN", item.pk),
    ]
    assert levels(product) == {"BROOKLYN": (2, 0), "MANHATTAN": (1, 0), "STAMFORD": (4, 2)}
    decision = latest_decision(item)
    assert decision.outcome == "SPLIT" and decision.rule_name == "Split the line across the nearest facilities"
    assert decision.allocations == [
        {"facility": "BROOKLYN", "quantity": 2}, {"facility": "MANHATTAN", "quantity": 1}, {"facility": "STAMFORD", "quantity": 2}
    ]


def test_a_split_part_never_returns_to_where_its_line_was_rejected(stores):
    brooklyn, manhattan, stamford = stores
    RoutingRule.objects.filter(allow_split=True).update(is_active=True)
    product = ProductFactory()
    stock(brooklyn, product, 3)
    item = place(product, 3)
    item_reject(facility=brooklyn, item_id=item.pk, reason_code="INACTIVE_STORE")  # Brooklyn keeps its 3 units
    stock(manhattan, product, 1)
    stock(stamford, product, 2)
    items_route(item_ids=[item.pk])
    rows = set(OrderItem.objects.filter(order=item.order).values_list("facility__code", "quantity"))
    assert rows == {("MANHATTAN", 1), ("STAMFORD", 2)}
    part = OrderItem.objects.get(order=item.order, facility=stamford)
    item_reject(facility=stamford, item_id=part.pk, reason_code="INACTIVE_STORE")
    part.refresh_from_db()
    assert part.status == OrderItem.Status.UNROUTED  # Brooklyn still has 3, but rejected the line it came from
    assert reasons(latest_decision(part))["BROOKLYN"] == f"rejected this item on {day_month(timezone.now().date())}"


def test_rejection_reroutes_as_the_rules_say_and_explains_each_other_facility(stores):
    brooklyn, manhattan, stamford = stores
    newark = store("NEWARK", NEWARK)
    product = ProductFactory()
    stock(brooklyn, product, 5)
    stock(newark, product, 5)
    stock(stamford, product, 5)
    item = place(product)
    assert item.facility == brooklyn
    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")
    assert result.routed_to == newark
    decision = latest_decision(item)
    assert decision.trigger == RoutingDecision.Trigger.REJECTION
    assert reasons(decision) == {
        "BROOKLYN": "rejected this item just now",
        "MANHATTAN": "ATP 0",
        "NEWARK": "chosen: 1 unit(s)",
        "STAMFORD": "farther than NEWARK (53.9 km vs 20.3 km)",
    }
    item_reject(facility=newark, item_id=item.pk, reason_code="NOT_IN_STOCK")
    today = day_month(timezone.now().date())
    assert reasons(latest_decision(item))["BROOKLYN"] == f"rejected this item on {today}"
    assert reasons(latest_decision(item))["NEWARK"] == "rejected this item just now"


def test_exclude_rejecting_off_still_never_returns_to_the_facility_that_just_rejected(stores):
    brooklyn, manhattan, _ = stores
    RoutingRule.objects.update(exclude_rejecting_facilities=False)
    product = ProductFactory()
    stock(brooklyn, product, 5)
    stock(manhattan, product, 5)
    item = place(product)
    assert item_reject(facility=brooklyn, item_id=item.pk, reason_code="INACTIVE_STORE").routed_to == manhattan
    # Manhattan rejects: Brooklyn (rejected earlier) may take it again under this rule, Manhattan may not
    assert item_reject(facility=manhattan, item_id=item.pk, reason_code="INACTIVE_STORE").routed_to == brooklyn
    assert reasons(latest_decision(item))["MANHATTAN"] == "rejected this item just now"


def test_safety_stock_per_facility_and_per_product_override(stores):
    brooklyn, manhattan, _ = stores
    Facility.objects.filter(pk=brooklyn.pk).update(safety_stock=2)
    product, other = ProductFactory(), ProductFactory()
    for p in (product, other):
        stock(brooklyn, p, 3)
        stock(manhattan, p, 9)
    InventoryLevel.objects.filter(facility=brooklyn, product=other).update(safety_stock=0)
    assert place(product, 2).facility == manhattan  # 3 - 2 held back = 1 routable
    assert reasons(latest_decision(OrderItem.objects.get(product=product)))["BROOKLYN"] == "routable ATP 1 < 2 needed"
    assert place(other, 2).facility == brooklyn  # the product's override holds nothing back
    assert place(product, 1).facility == brooklyn
    assert levels(product)["BROOKLYN"] == (3, 2)


def test_facility_group_rule_with_fallback(stores):
    brooklyn, manhattan, stamford = stores
    outlets = FacilityGroupFactory(name="Outlets")
    outlets.facilities.add(stamford)
    rule_add("Outlets first", 1, facility_group=outlets, shipping_methods=["STANDARD"])
    product = ProductFactory()
    for f in stores:
        stock(f, product, 1)
    first = place(product)
    assert first.facility == stamford
    assert reasons(latest_decision(first))["BROOKLYN"] == "not in group Outlets"
    assert place(product).facility == brooklyn  # the outlet is empty: the next rule places it
    assert latest_decision(OrderItem.objects.get(facility=brooklyn)).rule_name == "Nearest facility with the whole line"


def test_inventory_balance_rule_from_admin(stores):
    brooklyn, manhattan, stamford = stores
    RoutingRule.objects.all().delete()
    rule_add("Balance stock", 1, sort=RoutingRule.Sort.INVENTORY_BALANCE)
    product = ProductFactory()
    stock(brooklyn, product, 2)
    stock(manhattan, product, 4)
    stock(stamford, product, 3)
    assert [place(product).facility.code for _ in range(4)] == ["MANHATTAN", "MANHATTAN", "STAMFORD", "BROOKLYN"]


def test_priority_rule_from_admin(stores):
    brooklyn, manhattan, stamford = stores
    RoutingRule.objects.all().delete()
    rule_add("Custom sequence", 1, sort=RoutingRule.Sort.PRIORITY)
    Facility.objects.filter(pk=stamford.pk).update(priority=1)
    product = ProductFactory()
    for f in stores:
        stock(f, product, 1)
    assert [place(product).facility.code for _ in range(3)] == ["STAMFORD", "BROOKLYN", "MANHATTAN"]


# -- shipping preferences ------------------------------------------------------------------------------------------
def test_same_day_with_the_default_rules_only_within_50_km(stores):
    brooklyn, manhattan, stamford = stores
    product = ProductFactory()
    stock(stamford, product, 5)
    far = place(product, method="SAME_DAY")
    assert far.status == OrderItem.Status.UNROUTED
    assert reasons(latest_decision(far))["STAMFORD"] == "54 km > 50 km"
    assert "Same day: nearest facility within 50 km" in far.parked_reason
    stock(manhattan, product, 1)
    near = place(product, method="SAME_DAY")
    assert near.facility == manhattan
    assert place(product, method="STANDARD").facility == stamford


def test_express_prefers_warehouses_when_a_rule_says_so(stores):
    brooklyn, _, _ = stores
    warehouse = store("PHL-DC", PHILLY, kind=Facility.Kind.WAREHOUSE, allows_pickup=False)
    rule_add("Express ships from a warehouse", 5, shipping_methods=["EXPRESS"], facility_kind="WAREHOUSE")
    product = ProductFactory()
    stock(brooklyn, product, 5)
    stock(warehouse, product, 1)
    express = place(product, method="EXPRESS")
    assert express.facility == warehouse
    decision = latest_decision(express)
    assert decision.rule_name == "Express ships from a warehouse"
    assert reasons(decision)["BROOKLYN"] == "store; rule takes warehouses only"
    assert place(product, method="STANDARD").facility == brooklyn
    # the warehouse is out: express falls back to the general rule
    assert place(product, method="EXPRESS").facility == brooklyn


def test_store_pickup_stays_at_the_pickup_store(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    stock(manhattan, product, 50)
    item = place(product, method="STORE_PICKUP", pickup=brooklyn, at=MANHATTAN)
    assert item.status == OrderItem.Status.UNROUTED  # the pickup store has none; Manhattan's stock is not taken
    assert reasons(latest_decision(item))["MANHATTAN"] == "not the customer's pickup store"
    assert levels(product)["MANHATTAN"] == (50, 50)
    stock(brooklyn, product, 1)
    assert items_route(item_ids=[item.pk]).rerouted == {"BROOKLYN": 1}


def test_store_pickup_rejected_parks_in_the_pickup_queue_and_receipts_do_not_move_it(stores):
    brooklyn, manhattan, _ = stores
    product = ProductFactory()
    stock(brooklyn, product, 5)
    stock(manhattan, product, 50)
    item = place(product, method="STORE_PICKUP", pickup=brooklyn)
    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")
    assert result.routed_to is None and "parked for the operations team" in result.message
    item.refresh_from_db()
    assert item.parked_reason.startswith("Parked for the operations team: the customer's pickup store rejected it")

    # new stock at the pickup store, at another store, and "Route again": it stays in the pickup queue
    _, summary = stock_receive(facility=brooklyn, product=product, quantity=5)
    assert (summary.routed, summary.parked) == (0, 1)
    _, summary = stock_receive(facility=manhattan, product=product, quantity=5)
    assert (summary.routed, summary.parked) == (0, 1)
    assert items_route(item_ids=[item.pk]).routed == 0
    item.refresh_from_db()
    assert (item.status, item.facility) == (OrderItem.Status.UNROUTED, None)
    assert item.parked_reason.startswith("Parked for the operations team")
    assert levels(product) == {"BROOKLYN": (10, 9), "MANHATTAN": (55, 55)}
    assert latest_decision(item).trigger == RoutingDecision.Trigger.ROUTE_ORDERS


def test_receipt_routes_the_products_parked_items_at_once(stores):
    _, manhattan, _ = stores
    product, other = ProductFactory(), ProductFactory()
    waiting = [place(product) for _ in range(3)]
    unrelated = place(other)
    level, summary = stock_receive(facility=manhattan, product=product, quantity=2)
    assert (level.quantity_on_hand, level.available_to_promise) == (2, 0)
    assert (summary.routed, summary.parked, summary.rerouted) == (2, 1, {"MANHATTAN": 2})
    statuses = [OrderItem.objects.get(pk=i.pk).status for i in waiting]
    assert statuses == ["OPEN", "OPEN", "UNROUTED"]  # oldest first
    assert OrderItem.objects.get(pk=unrelated.pk).status == "UNROUTED"
    assert RoutingDecision.objects.filter(trigger=RoutingDecision.Trigger.RECEIPT).count() == 3
