"""Inventory reads: the effect preview shown before Save, a level, and the ledger invariant check."""

import pytest

from fulfillment.models import RejectionReason
from inventory.models import InventoryLevel
from inventory.selectors import (
    EffectPreview,
    code_key,
    facilities_by_code,
    level_get,
    levels_not_matching_ledger,
    products_by_sku,
    rejection_effect_preview,
)
from inventory.services import inventory_count_set, inventory_receive
from tests.factories import FacilityFactory, InventoryLevelFactory, ProductFactory


@pytest.mark.parametrize(
    "code, preview",
    [
        ("NOT_IN_STOCK", EffectPreview(10, 0, 9, 0, "QOH 10 -> 0; ATP 9 -> 0: this store's stock of the product is set to zero")),
        ("MISMATCH", EffectPreview(10, 9, 9, 9, "QOH 10 -> 9; ATP 9 -> 9: 1 unit removed from stock")),
        ("DAMAGED", EffectPreview(10, 10, 9, 9, "QOH stays 10; ATP 9 -> 9: 1 unit counted as unsellable")),
        ("WORN_DISPLAY", EffectPreview(10, 10, 9, 9, "QOH stays 10; ATP 9 -> 9: 1 unit counted as unsellable")),
        ("INACTIVE_STORE", EffectPreview(10, 10, 9, 10, "QOH stays 10; ATP 9 -> 10: the reservation is released, nothing else changes")),
    ],
)
@pytest.mark.django_db
def test_preview_of_every_seeded_reason_on_the_worked_example(code, preview):
    effect = RejectionReason.objects.get(code=code).inventory_effect
    assert rejection_effect_preview(quantity_on_hand=10, available_to_promise=9, quantity=1, effect=effect) == preview


def test_preview_of_a_partial_quantity_and_without_a_reservation():
    partial = rejection_effect_preview(quantity_on_hand=6, available_to_promise=2, quantity=2, effect="DECREASE_ATP_AND_QOH")
    assert (partial.qoh_after, partial.atp_after) == (4, 2)
    assert partial.sentence == "QOH 6 -> 4; ATP 2 -> 2: 2 units removed from stock"
    unreserved = rejection_effect_preview(quantity_on_hand=5, available_to_promise=5, quantity=1, effect="DECREASE_ATP", reserved=False)
    assert unreserved.sentence == "QOH stays 5; ATP 5 -> 4: 1 unit counted as unsellable"


@pytest.mark.django_db
def test_level_get():
    level = InventoryLevelFactory()
    assert level_get(facility_id=level.facility_id, product_id=level.product_id) == level
    assert level_get(facility_id=level.facility_id, product_id=ProductFactory().pk) is None


@pytest.mark.django_db
def test_levels_not_matching_ledger_is_empty_after_services_and_finds_drift():
    store, product = FacilityFactory(), ProductFactory()
    inventory_receive(facility=store, product=product, quantity=7)
    inventory_count_set(facility=store, product=product, quantity_on_hand=4)
    empty = InventoryLevel.objects.create(facility=FacilityFactory(), product=product)  # 0/0 with no ledger rows matches
    assert not levels_not_matching_ledger().exists()

    InventoryLevel.objects.filter(facility=store, product=product).update(available_to_promise=3)  # behind the ledger's back
    assert list(levels_not_matching_ledger()) == [InventoryLevel.objects.get(facility=store, product=product)]
    InventoryLevel.objects.filter(pk=empty.pk).update(quantity_on_hand=1)
    assert set(levels_not_matching_ledger()) == {InventoryLevel.objects.get(facility=store, product=product), empty}


# --- facility codes and SKUs: one matching rule everywhere -----------------------------------------------------------


@pytest.mark.django_db
def test_codes_and_skus_match_exactly_except_for_the_case_of_ascii_letters(django_assert_num_queries):
    brooklyn = FacilityFactory(code="BROOKLYN")
    FacilityFactory(code="BROOKLYN-2")
    sku = ProductFactory(sku="SF-1001")
    assert code_key(" brooklyn ") == "BROOKLYN"
    with django_assert_num_queries(1):
        facilities = facilities_by_code(["brooklyn", "Brooklyn ", "BROOK", "brooklyn-2 "])
    assert facilities.find("brooklyn") == (brooklyn, None)
    assert facilities.find(" Brooklyn ") == (brooklyn, None)
    assert facilities.find("BROOK") == (None, "unknown facility 'BROOK'")  # exact, not a prefix
    assert facilities.find("brooklyn-2")[0].code == "BROOKLYN-2"
    assert products_by_sku(["sf-1001"]).find("sf-1001") == (sku, None)
    assert products_by_sku(["SF-1001%"]).find("SF-1001%") == (None, "unknown SKU 'SF-1001%'")  # no wildcards
    assert facilities_by_code(["", "  "]).find("") == (None, "unknown facility ''")
