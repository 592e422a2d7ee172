"""The RoutedUnitsDaily roll-up equals the routing decisions' allocations, whatever routed the units."""

import importlib
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps

from fulfillment.models import RoutedUnitsDaily
from inventory.models import Facility
from inventory.services import inventory_receive
from routing.models import RoutingDecision, RoutingRule
from tests.factories import FacilityFactory, ProductFactory, order_placed
from tests.fulfillment.test_reports import World

pytestmark = pytest.mark.django_db


def from_decisions() -> Counter:
    facilities = {f.code: f for f in Facility.objects.all()}
    units = Counter()
    for d in RoutingDecision.objects.select_related("order_item__order"):
        for allocation in d.allocations:
            f = facilities[allocation["facility"]]
            key = (f.pk, d.created_at.astimezone(ZoneInfo(f.timezone)).date(), d.order_item.product_id, d.order_item.order.shipping_method)
            units[key] += allocation["quantity"]
    return units


def rollup() -> Counter:
    return Counter({(r.facility_id, r.day, r.product_id, r.shipping_method): r.units for r in RoutedUnitsDaily.objects.all()})


def test_rollup_equals_the_decisions_after_orders_rejections_and_reject_all():
    World()
    assert rollup() == from_decisions()
    assert sum(rollup().values()) == 13


def test_a_split_line_counts_at_each_facility():
    a = FacilityFactory(code="S1", latitude=40.70, longitude=-74.00)
    b = FacilityFactory(code="S2", latitude=40.75, longitude=-74.00)
    tee = ProductFactory(sku="SPLIT")
    inventory_receive(facility=a, product=tee, quantity=2)
    inventory_receive(facility=b, product=tee, quantity=3)
    RoutingRule.objects.update(is_active=False)
    RoutingRule.objects.create(name="Split", sequence=1, allow_split=True)
    order_placed(lines=[(tee, 5)], near=(40.70, -74.00), shipping_method="SAME_DAY")
    assert RoutingDecision.objects.get().outcome == "SPLIT"
    assert {(r.facility_id, r.units, r.shipping_method) for r in RoutedUnitsDaily.objects.all()} == {
        (a.pk, 2, "SAME_DAY"), (b.pk, 3, "SAME_DAY")
    }
    assert rollup() == from_decisions()
    from tests.support import assert_inventory_invariant

    assert_inventory_invariant()


def test_the_migration_fills_the_rollup_from_existing_decisions():
    World()
    expected = rollup()
    RoutedUnitsDaily.objects.all().delete()
    migration = importlib.import_module("fulfillment.migrations.0007_routed_units_daily")
    migration.routed_units_fill(apps, None)
    assert rollup() == expected


def test_rejections_record_when_the_item_was_routed_to_the_store():
    from fulfillment.models import Rejection

    world = World()
    for rejection in Rejection.objects.select_related("order_item"):
        item = rejection.order_item
        decisions = RoutingDecision.objects.filter(
            order_item_id__in=[item.pk, item.split_from_id], chosen_facility=rejection.facility,
            created_at__lte=rejection.created_at,
        )
        own = decisions.filter(order_item_id=item.pk).order_by("-created_at").first()
        expected = (own or decisions.order_by("-created_at").first()).created_at
        assert rejection.routed_at == expected, rejection
    partial = Rejection.objects.get(reason__code="DAMAGED")  # 1 of 3 tees: the part has its line's routing
    assert partial.order_item.split_from_id and partial.routed_at == RoutingDecision.objects.get(
        order_item_id=partial.order_item.split_from_id, trigger="ORDER_CREATED").created_at
    assert world


def test_the_migration_fills_routed_at_like_the_service():
    from fulfillment.models import Rejection

    World()
    expected = dict(Rejection.objects.values_list("pk", "routed_at"))
    Rejection.objects.update(routed_at=None)
    importlib.import_module("fulfillment.migrations.0009_rejection_routed_at").routed_at_fill(apps, None)
    assert dict(Rejection.objects.values_list("pk", "routed_at")) == expected
