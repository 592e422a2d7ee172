"""Inventory reads: the effect preview shown before Save, a level, and the ledger side of the invariant."""

import pytest

from fulfillment.models import RejectionReason
from inventory.effects import Quantities
from inventory.models import InventoryLevel
from inventory.selectors import (
    code_key,
    facilities_by_code,
    level_get,
    levels_not_matching_ledger,
    products_by_sku,
    rejection_effect_preview,
)
from inventory.services import inventory_book_lock, inventory_count_set, inventory_receive, levels_ensure
from tests.factories import FacilityFactory, InventoryLevelFactory, ProductFactory


@pytest.mark.parametrize(
    "code, after, sentence",
    [
        ("NOT_IN_STOCK", Quantities(0, 0, 0),
         "on hand 10 -> 0; reserved 1 -> 0; unsellable stays 0; available 9 -> 0: this store's stock of the product is set to zero"),
        ("MISMATCH", Quantities(9, 0, 0),
         "on hand 10 -> 9; reserved 1 -> 0; unsellable stays 0; available stays 9: 1 unit removed from stock"),
        ("DAMAGED", Quantities(10, 0, 1),
         "on hand stays 10; reserved 1 -> 0; unsellable 0 -> 1; available stays 9: 1 unit counted as unsellable"),
        ("WORN_DISPLAY", Quantities(10, 0, 1),
         "on hand stays 10; reserved 1 -> 0; unsellable 0 -> 1; available stays 9: 1 unit counted as unsellable"),
        ("INACTIVE_STORE", Quantities(10, 0, 0),
         "on hand stays 10; reserved 1 -> 0; unsellable stays 0; available 9 -> 10: the reservation is released, nothing else changes"),
    ],
)
@pytest.mark.django_db
def test_preview_of_every_seeded_reason_on_the_worked_example(code, after, sentence):
    effect = RejectionReason.objects.get(code=code).inventory_effect
    preview = rejection_effect_preview(quantity_on_hand=10, reserved=1, unsellable=0, quantity=1, effect=effect)
    assert (preview.before, preview.after, preview.sentence) == (Quantities(10, 1, 0), after, sentence)
    assert [label for label, _, _ in preview.rows] == ["On hand (QOH)", "Reserved", "Unsellable", "Available (ATP)"]
    assert preview.rows[3] == ("Available (ATP)", 9, after.available_to_promise)


def test_preview_of_a_partial_quantity_keeps_the_rest_reserved():
    partial = rejection_effect_preview(quantity_on_hand=6, reserved=4, unsellable=0, quantity=2, effect="DECREASE_ATP_AND_QOH")
    assert partial.after == Quantities(4, 2, 0)
    assert partial.sentence == "on hand 6 -> 4; reserved 4 -> 2; unsellable stays 0; available stays 2: 2 units removed from stock"


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

    # behind the ledger's back, keeping the constraints: reserved and ATP move together
    InventoryLevel.objects.filter(facility=store, product=product).update(reserved=1, available_to_promise=3)
    assert list(levels_not_matching_ledger()) == [InventoryLevel.objects.get(facility=store, product=product)]
    InventoryLevel.objects.filter(pk=empty.pk).update(quantity_on_hand=1, available_to_promise=1)
    assert set(levels_not_matching_ledger()) == {InventoryLevel.objects.get(facility=store, product=product), empty}


@pytest.mark.django_db
def test_short_levels():
    store, product = FacilityFactory(), ProductFactory()
    inventory_receive(facility=store, product=product, quantity=2)
    book = inventory_book_lock(level_ids=levels_ensure(keys={(store.pk, product.pk)}).values())
    assert book.reserve(store.pk, product.pk, 2)
    book.flush()
    assert not InventoryLevel.objects.short().exists()
    inventory_count_set(facility=store, product=product, quantity_on_hand=1)
    level = InventoryLevel.objects.get(facility=store, product=product)
    assert (level.quantity_on_hand, level.reserved, level.available_to_promise, level.shortfall) == (1, 2, 0, 1)
    assert list(InventoryLevel.objects.short()) == [level]
    assert level not in InventoryLevel.objects.not_short()


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
