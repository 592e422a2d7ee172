"""Fulfillment reads behind the rejection policies (which policy applies, what it takes along, how the confirmation
says it) and behind the parked-items page (kinds, filters, latest decisions)."""

import importlib

import pytest

from fulfillment.models import SEARCH_SEPARATOR, Order, OrderItem, RejectionPolicy
from fulfillment.policies import EffectivePolicy
from fulfillment.selectors import (
    collateral_item_ids,
    dashboard_order_ids,
    dashboard_orders,
    dashboard_policy_consequences,
    parked_items,
    parked_kind_key,
    parked_kind_counts,
    parked_latest_decisions,
    rejection_policy_for,
)
from fulfillment.services import item_reject, items_route, order_create, orders_start_picking
from inventory.services import inventory_receive
from routing.engine import PARKED_NO_FACILITY, PARKED_NO_RULE, PARKED_PICKUP_REJECTED
from inventory.models import Product
from routing.models import RoutingDecision, RoutingRule
from tests.conftest import requires_postgres
from tests.factories import FacilityFactory, OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

BROOKLYN = (40.6782, -73.9442)
KEEP_TOGETHER = EffectivePolicy(allow_partial_order_rejection=False, cascade_not_in_stock=False)
CASCADE = EffectivePolicy(allow_partial_order_rejection=True, cascade_not_in_stock=True)
BOTH = EffectivePolicy(allow_partial_order_rejection=False, cascade_not_in_stock=True)
NEITHER = EffectivePolicy(allow_partial_order_rejection=True, cascade_not_in_stock=False)


@pytest.fixture
def brooklyn():
    return FacilityFactory(code="BROOKLYN", latitude=BROOKLYN[0], longitude=BROOKLYN[1])


def order(name, lines, method="STANDARD", pickup=None):
    return order_create(name=name, customer_name="Ada", shipping_method=method, ship_to_latitude=BROOKLYN[0],
                        ship_to_longitude=BROOKLYN[1], lines=lines, pickup_facility=pickup)


# -- which policy applies ----------------------------------------------------------------------------------------------
def test_global_policy_by_default_then_the_facilitys_own(brooklyn):
    other = FacilityFactory()
    assert rejection_policy_for(brooklyn) == NEITHER  # the seeded global policy
    RejectionPolicy.objects.filter(facility__isnull=True).update(cascade_not_in_stock=True)
    assert rejection_policy_for(brooklyn) == CASCADE
    RejectionPolicy.objects.create(facility=brooklyn, allow_partial_order_rejection=False, cascade_not_in_stock=False)
    assert rejection_policy_for(brooklyn) == KEEP_TOGETHER
    assert rejection_policy_for(other) == CASCADE


def test_without_any_policy_rows_everything_is_allowed(brooklyn):
    RejectionPolicy.objects.all().delete()
    assert rejection_policy_for(brooklyn) == NEITHER


# -- what a policy takes along -------------------------------------------------------------------------------------
@pytest.fixture
def shelf(brooklyn):
    shirt, hat = ProductFactory(), ProductFactory()
    for p in (shirt, hat):
        inventory_receive(facility=brooklyn, product=p, quantity=20)
    mine = order("#S1", [(shirt, 1), (hat, 2)])
    other_shirt_open = order("#S2", [(shirt, 1)]).items.get()
    other_shirt_picking = order("#S3", [(shirt, 1)]).items.get()
    orders_start_picking(facility=brooklyn, order_ids=[other_shirt_picking.order_id])
    return {
        "shirt": mine.items.get(product=shirt), "hat": mine.items.get(product=hat),
        "open": other_shirt_open, "picking": other_shirt_picking,
    }


def test_collateral_keep_the_order_together(shelf):
    assert collateral_item_ids(item=shelf["shirt"], reason_code="DAMAGED", policy=KEEP_TOGETHER) == {
        shelf["hat"].pk: "REJ_AVOID_ORD_SPLIT"
    }


def test_collateral_cascade_only_not_in_stock_and_only_open(shelf):
    assert collateral_item_ids(item=shelf["shirt"], reason_code="DAMAGED", policy=CASCADE) == {}
    assert collateral_item_ids(item=shelf["shirt"], reason_code="NOT_IN_STOCK", policy=CASCADE) == {
        shelf["open"].pk: "REJ_CASCADE_BY_PROD"
    }


def test_collateral_both_policies_keep_the_order_reason_first(shelf):
    assert collateral_item_ids(item=shelf["shirt"], reason_code="NOT_IN_STOCK", policy=BOTH) == {
        shelf["hat"].pk: "REJ_AVOID_ORD_SPLIT", shelf["open"].pk: "REJ_CASCADE_BY_PROD"
    }
    assert collateral_item_ids(item=shelf["shirt"], reason_code="NOT_IN_STOCK", policy=NEITHER) == {}


def test_consequences_say_what_goes_with_it(shelf):
    shirt = shelf["shirt"]
    assert dashboard_policy_consequences(item=shirt, reason_code="NOT_IN_STOCK", policy=BOTH) == [
        "The order's 1 other item here will be rejected too, so the order ships together from elsewhere.",
        "1 other open item of this product here will be rejected too.",
    ]
    assert dashboard_policy_consequences(item=shirt, reason_code="NOT_IN_STOCK", policy=NEITHER) == []


def test_consequences_of_a_partial_quantity_name_the_rest_of_the_line(shelf):
    hat = shelf["hat"]  # 2 units
    assert dashboard_policy_consequences(item=hat, reason_code="DAMAGED", policy=KEEP_TOGETHER, quantity=1) == [
        "The other 1 unit of this line will be rejected too, so the order ships together.",
        "The order's 1 other item here will be rejected too, so the order ships together from elsewhere.",
    ]
    assert dashboard_policy_consequences(item=hat, reason_code="NOT_IN_STOCK", policy=CASCADE, quantity=1) == [
        "The other 1 unit of this line will be rejected too (this product is not in stock here).",
    ]
    assert dashboard_policy_consequences(item=hat, reason_code="DAMAGED", policy=CASCADE, quantity=1) == []
    assert dashboard_policy_consequences(item=hat, reason_code="DAMAGED", policy=KEEP_TOGETHER, quantity=2) == [
        "The order's 1 other item here will be rejected too, so the order ships together from elsewhere.",
    ]


# -- the parked queue ------------------------------------------------------------------------------------------------
@pytest.fixture
def parked(brooklyn):
    tee, mug = ProductFactory(sku="TEE-RED", name="Red tee"), ProductFactory(sku="MUG-1", name="Blue mug")
    no_facility = order("#Q1", [(tee, 1)]).items.get()
    inventory_receive(facility=brooklyn, product=mug, quantity=1)
    pickup = order("#Q2", [(mug, 1)], method="STORE_PICKUP", pickup=brooklyn).items.get()
    item_reject(facility=brooklyn, item_id=pickup.pk, reason_code="INACTIVE_STORE")
    no_rule = OrderItemFactory(
        product=tee, facility=None, status="UNROUTED", parked_reason=f"{PARKED_NO_RULE} to SAME_DAY orders.", parked_kind="NO_RULE"
    )
    other = OrderItemFactory(product=mug, facility=None, status="UNROUTED", parked_reason="")
    routed = OrderItemFactory(product=tee, facility=brooklyn, status="OPEN")
    return {"no_facility": no_facility, "pickup": pickup, "no_rule": no_rule, "other": other, "routed": routed}


def ids(qs):
    return {i.pk for i in qs}


def test_routing_records_why_an_item_is_parked_as_its_kind(parked):
    """The kind comes from the routing plan, not from the wording of the reason."""
    for key in ("no_facility", "pickup", "no_rule", "other"):
        parked[key].refresh_from_db()
    assert parked["no_facility"].parked_kind == "NO_FACILITY" and parked["no_facility"].parked_reason.startswith(PARKED_NO_FACILITY)
    assert parked["pickup"].parked_kind == "PICKUP_REJECTED" and parked["pickup"].parked_reason == PARKED_PICKUP_REJECTED
    assert parked_kind_key(parked["no_rule"].parked_kind) == "no_rule" and parked_kind_key("") == "other"


def test_items_parked_before_the_kind_existed_are_classified_by_the_migration():
    migration = importlib.import_module("fulfillment.migrations.0004_parked_kind")
    assert migration.kind_of_reason(PARKED_PICKUP_REJECTED) == "PICKUP_REJECTED"
    assert migration.kind_of_reason(f"{PARKED_NO_FACILITY} under the rules tried (“x”).") == "NO_FACILITY"
    assert migration.kind_of_reason(f"{PARKED_NO_RULE} to EXPRESS orders.") == "NO_RULE"
    assert migration.kind_of_reason("") == "" and migration.kind_of_reason("Parked by hand") == ""


def test_parked_items_by_kind_and_product(parked):
    assert ids(parked_items()) == {parked[k].pk for k in ("no_facility", "pickup", "no_rule", "other")}
    for kind in ("no_facility", "pickup", "no_rule", "other"):
        assert ids(parked_items(kind=kind)) == {parked[kind].pk}
    assert ids(parked_items(product_query="tee-r")) == {parked["no_facility"].pk, parked["no_rule"].pk}
    assert ids(parked_items(product_query="blue", kind="pickup")) == {parked["pickup"].pk}
    assert ids(parked_items(kind="unknown")) == ids(parked_items())  # an unknown kind filters nothing


def test_parked_kind_counts_in_one_query(parked, django_assert_num_queries):
    with django_assert_num_queries(1):
        counts = parked_kind_counts()
    assert counts == {"pickup": 1, "no_facility": 1, "no_rule": 1, "other": 1}


def test_parked_items_carry_their_rejections_newest_first(parked, brooklyn, django_assert_num_queries):
    with django_assert_num_queries(2):
        items = {i.pk: i for i in parked_items()}
        assert [r.facility.code for r in items[parked["pickup"].pk].rejections_newest] == ["BROOKLYN"]
        assert items[parked["pickup"].pk].rejections_newest[0].reason.code == "INACTIVE_STORE"
        assert items[parked["no_facility"].pk].rejections_newest == []
        assert items[parked["pickup"].pk].order.pickup_facility == brooklyn


def test_parked_latest_decisions(parked, django_assert_num_queries):
    item = parked["no_facility"]
    items_route(item_ids=[item.pk])  # a second decision
    with django_assert_num_queries(1):
        latest = parked_latest_decisions([item.pk, parked["pickup"].pk, parked["other"].pk])
    assert latest[item.pk] == RoutingDecision.objects.filter(order_item=item).latest("pk")
    assert latest[item.pk].trigger == RoutingDecision.Trigger.ROUTE_ORDERS
    assert latest[parked["pickup"].pk].trigger == RoutingDecision.Trigger.REJECTION
    assert parked["other"].pk not in latest
    assert OrderItem.objects.get(pk=item.pk).status == "UNROUTED"


# -- the dashboard search: every item's search text stays right however the rows change ------------------------------
MANHATTAN = (40.7549, -73.9840)


@pytest.fixture
def two_stores(brooklyn):
    manhattan = FacilityFactory(code="MANHATTAN", latitude=MANHATTAN[0], longitude=MANHATTAN[1])
    return brooklyn, manhattan


def found(facility, query, status="OPEN") -> list[str]:
    order_ids = dashboard_order_ids(facility=facility, status=status, query=query)
    return [o.name for o in dashboard_orders(facility=facility, status=status, order_ids=order_ids)]


def assert_search_texts_fresh() -> None:
    """Every item's copies of its order's and product's fields are what they say now (migrations 0011 and 0012)."""
    for item in OrderItem.objects.select_related("order", "product"):
        o, p = item.order, item.product
        expected = SEARCH_SEPARATOR.join([o.name, o.customer_name, o.customer_email, p.sku, p.upc, p.name])
        assert (item.search_text, item.order_placed_at) == (expected, o.placed_at), item


def test_search_finds_an_item_split_and_rerouted_to_this_store_by_its_sku(two_stores):
    brooklyn, manhattan = two_stores
    scarf = ProductFactory(sku="SCARF-CASH-01", name="Cashmere scarf", upc="400000000017")
    inventory_receive(facility=brooklyn, product=scarf, quantity=5)
    inventory_receive(facility=manhattan, product=scarf, quantity=5)
    item = order("#SPLIT1", [(scarf, 3)]).items.get()
    assert item.facility == brooklyn and found(manhattan, "SCARF-CASH") == []

    result = item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED", quantity=1)  # a new split part

    assert result.item.facility == manhattan
    for query in ("scarf-cash", "400000000017", "cashmere", "#split1", "ada"):
        assert found(manhattan, query) == ["#SPLIT1"], query
    assert found(brooklyn, "scarf-cash") == ["#SPLIT1"]  # the rest of the line stayed here
    assert_search_texts_fresh()


def test_search_finds_items_placed_by_routing_splits_and_bulk_inserts(two_stores):
    brooklyn, manhattan = two_stores
    wool = ProductFactory(sku="WOOL-SOCK", name="Wool socks", upc="")
    inventory_receive(facility=brooklyn, product=wool, quantity=1)
    inventory_receive(facility=manhattan, product=wool, quantity=3)
    RoutingRule.objects.filter(allow_split=True).update(is_active=True)
    placed = order("#ROUTESPLIT", [(wool, 4)])
    assert {i.facility for i in placed.items.all()} == {brooklyn, manhattan}  # the engine split the line
    bulk = OrderFactory(name="#BULK1", customer_name="Grace Hopper", customer_email="grace@navy.example")
    OrderItem.objects.bulk_create([OrderItem(order=bulk, product=wool, quantity=1, facility=manhattan, status="OPEN")])

    assert found(manhattan, "wool-sock") == ["#ROUTESPLIT", "#BULK1"]
    assert found(brooklyn, "wool socks") == ["#ROUTESPLIT"]
    assert found(manhattan, "grace@navy") == ["#BULK1"]
    assert_search_texts_fresh()


def test_renamed_products_and_changed_orders_are_found_by_their_new_values(brooklyn):
    tee = ProductFactory(sku="TEE-1", name="Red tee", upc="012345678905")
    inventory_receive(facility=brooklyn, product=tee, quantity=5)
    placed = order("#RENAME1", [(tee, 1)])

    tee.name, tee.sku = "Crimson tee", "TEE-CRIMSON"
    tee.save()  # as the admin does
    Product.objects.filter(pk=tee.pk).update(upc="999999999999")  # as a bulk update does
    placed.customer_name, placed.customer_email = "Katherine Johnson", "kj@nasa.example"
    placed.save()
    Order.objects.filter(pk=placed.pk).update(name="#RENAMED")

    for query in ("crimson", "tee-crimson", "999999999999", "katherine", "kj@nasa", "#renamed"):
        assert found(brooklyn, query) == ["#RENAMED"], query
    for stale in ("red tee", "tee-1", "012345678905", "#rename1"):
        assert found(brooklyn, stale) == [], stale
    item = placed.items.get()
    item.quantity = 2
    item.save()  # an instance whose search text was never loaded writes it back: the trigger computes it again
    assert found(brooklyn, "crimson") == ["#RENAMED"]
    assert_search_texts_fresh()


def test_search_never_matches_across_two_fields(brooklyn):
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug", upc="098765432109")
    inventory_receive(facility=brooklyn, product=mug, quantity=5)
    order("#ACROSS1", [(mug, 1)])

    assert found(brooklyn, "mug-blue") == ["#ACROSS1"]
    assert found(brooklyn, "BLUE0987") == [] and found(brooklyn, "BLUE098") == []
    assert found(brooklyn, f"MUG-BLUE{SEARCH_SEPARATOR}0987") == []  # the separator itself: field by field
    assert found(brooklyn, f"#ACROSS1{SEARCH_SEPARATOR}Ada") == []


def test_search_is_case_insensitive_substring_on_each_field_as_before(brooklyn):
    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug", upc="098765432109")
    inventory_receive(facility=brooklyn, product=mug, quantity=5)
    order("#CASE1", [(mug, 1)])
    for query in ("#case1", "CASE", "ada", "mUg-bL", "76543", "BLUE MUG", "lue m"):
        assert found(brooklyn, query) == ["#CASE1"], query
    assert found(brooklyn, "%") == [] and found(brooklyn, "_") == []  # LIKE wildcards are matched literally


@requires_postgres
def test_search_reads_only_this_stores_items_through_the_trigram_index(brooklyn):
    from django.db import connection

    mug = ProductFactory(sku="MUG-BLUE", name="Blue mug", upc="098765432109")
    inventory_receive(facility=brooklyn, product=mug, quantity=5)
    order("#PLAN1", [(mug, 1)])
    sql, params = dashboard_order_ids(facility=brooklyn, status="OPEN", query="blue mug").query.sql_with_params()
    with connection.cursor() as cursor:  # a few rows: leave the planner only the search index (rolled back after the test)
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'fulfillment_orderitem' "
                       "AND indexname NOT IN ('order_item_search_idx', 'fulfillment_orderitem_pkey')")
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    index_cond = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "order_item_search_idx" in plan, plan
    assert "facility_id" in index_cond and "status" in index_cond and "upper(search_text)" in index_cond, plan


def test_orders_come_oldest_first_by_their_placed_at_even_after_it_changes(brooklyn):
    import datetime as dt

    mug = ProductFactory()
    inventory_receive(facility=brooklyn, product=mug, quantity=20)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = order_create(name="#FIRST", customer_name="Ada", shipping_method="STANDARD", ship_to_latitude=BROOKLYN[0],
                         ship_to_longitude=BROOKLYN[1], lines=[(mug, 1), (mug, 2)], placed_at=base)
    second = order("#SECOND", [(mug, 1)])
    assert found(brooklyn, "") == ["#FIRST", "#SECOND"]  # one row per order, whatever its items here

    Order.objects.filter(pk=second.pk).update(placed_at=base - dt.timedelta(days=1))  # e.g. a corrected import
    assert found(brooklyn, "") == ["#SECOND", "#FIRST"]
    first.placed_at = base - dt.timedelta(days=2)
    first.save()
    assert found(brooklyn, "") == ["#FIRST", "#SECOND"]
    assert list(dashboard_order_ids(facility=brooklyn, status="OPEN")[1:2]) == [second.pk]  # a page of one
    assert_search_texts_fresh()


# -- an item's history -------------------------------------------------------------------------------------------------
def test_history_names_the_latest_day_a_store_rejected_the_item_and_when_it_was_last_routed_there(brooklyn):
    from datetime import timedelta

    from django.utils import timezone

    from fulfillment.models import Rejection
    from fulfillment.selectors import items_history_read
    from tests.support import assert_inventory_invariant

    queens = FacilityFactory(code="QUEENS", latitude=40.72, longitude=-73.79)
    tee = ProductFactory()
    inventory_receive(facility=brooklyn, product=tee, quantity=5)
    item = order("#H1", [(tee, 1)]).items.get()
    assert item.facility == brooklyn
    item_reject(facility=brooklyn, item_id=item.pk, reason_code="DAMAGED")  # parked (nowhere else has it)
    inventory_receive(facility=queens, product=tee, quantity=1)
    inventory_receive(facility=brooklyn, product=tee, quantity=1)
    RoutingRule.objects.update(exclude_rejecting_facilities=False)  # let it go back to Brooklyn
    items_route(item_ids=[item.pk])
    item.refresh_from_db()
    item_reject(facility=item.facility, item_id=item.pk, reason_code="DAMAGED")
    now = timezone.now()
    first, second = Rejection.objects.filter(order_item=item).order_by("pk")
    Rejection.objects.filter(pk=first.pk).update(created_at=now - timedelta(days=5), facility=brooklyn)
    Rejection.objects.filter(pk=second.pk).update(created_at=now - timedelta(days=1), facility=brooklyn)
    item.refresh_from_db()
    history = items_history_read([item], routed_to=brooklyn.pk)
    assert history.rejected_on[item.pk] == {brooklyn.pk: (now - timedelta(days=1)).date()}  # the latest day, not the first
    latest_to_brooklyn = RoutingDecision.objects.filter(order_item=item, chosen_facility=brooklyn).latest("created_at")
    assert history.routed_at[item.pk] == latest_to_brooklyn.created_at
    assert_inventory_invariant()
