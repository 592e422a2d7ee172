"""Inventory writes: receipts, counts and the locked book (reserve, release, reject, fulfil), each with its ledger rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import InventoryAdjustment, InventoryLevel
from inventory.selectors import levels_not_matching_ledger
from inventory.services import InventoryError, inventory_book_open, inventory_count_set, inventory_receive
from tests.factories import FacilityFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
Kind = InventoryAdjustment.Kind


@pytest.fixture
def store():
    return FacilityFactory(code="BROOKLYN")


@pytest.fixture
def product():
    return ProductFactory()


def qoh_atp(facility, product) -> tuple[int, int]:
    level = InventoryLevel.objects.get(facility=facility, product=product)
    return level.quantity_on_hand, level.available_to_promise


def ledger(facility, product) -> list[tuple[str, int, int, str]]:
    return list(
        InventoryAdjustment.objects.filter(level__facility=facility, level__product=product)
        .order_by("pk")
        .values_list("kind", "atp_delta", "qoh_delta", "reason")
    )


def assert_ledger_invariant():
    assert not levels_not_matching_ledger().exists()
    for level in InventoryLevel.objects.all():
        assert 0 <= level.available_to_promise <= level.quantity_on_hand


def book_at(store, product, qoh, atp):
    """A book over a level with QOH `qoh` and ATP `atp`, reached through services (receipt + reservation)."""
    inventory_receive(facility=store, product=product, quantity=qoh)
    if qoh - atp:
        book = inventory_book_open(product_ids=[product.pk])
        assert book.reserve(store.pk, product.pk, qoh - atp)
        book.flush()
    return inventory_book_open(product_ids=[product.pk])


# -- receipts and counts ---------------------------------------------------------------------------------------------
def test_receive_creates_the_level_and_writes_a_ledger_row(store, product):
    user = UserFactory()
    level = inventory_receive(facility=store, product=product, quantity=5, user=user, reference="PO-1")
    assert (level.quantity_on_hand, level.available_to_promise) == (5, 5)
    inventory_receive(facility=store, product=product, quantity=2)
    assert qoh_atp(store, product) == (7, 7)
    rows = list(InventoryAdjustment.objects.order_by("pk").values_list("kind", "atp_delta", "qoh_delta", "reference", "created_by"))
    assert rows == [(Kind.RECEIPT, 5, 5, "PO-1", user.pk), (Kind.RECEIPT, 2, 2, "receipt", None)]
    assert_ledger_invariant()


@pytest.mark.parametrize("quantity", [0, -3])
def test_receive_needs_a_positive_quantity_and_changes_nothing(store, product, quantity):
    with pytest.raises(InventoryError, match="at least 1"):
        inventory_receive(facility=store, product=product, quantity=quantity)
    assert not InventoryLevel.objects.exists() and not InventoryAdjustment.objects.exists()


@pytest.mark.parametrize(
    "counted, expected",
    [
        (12, (12, 11)),  # two found: both sellable, the reservation still held
        (10, (10, 9)),  # as expected: no change, no ledger row
        (5, (5, 4)),  # five missing
        (1, (1, 0)),  # fewer than reserved... ATP cannot go below 0
        (0, (0, 0)),
    ],
)
def test_count_moves_qoh_and_atp_by_the_difference_within_bounds(store, product, counted, expected):
    book = book_at(store, product, 10, 9)
    book.flush()
    inventory_count_set(facility=store, product=product, quantity_on_hand=counted, reference="cycle count")
    assert qoh_atp(store, product) == expected
    counts = [row for row in ledger(store, product) if row[0] == Kind.COUNT]
    assert counts == ([] if counted == 10 else [(Kind.COUNT, expected[1] - 9, counted - 10, "")])
    assert_ledger_invariant()


def test_count_of_a_product_never_held_creates_its_level(store, product):
    inventory_count_set(facility=store, product=product, quantity_on_hand=4)
    assert qoh_atp(store, product) == (4, 4)
    assert ledger(store, product) == [(Kind.COUNT, 4, 4, "")]


def test_count_cannot_be_negative(store, product):
    inventory_receive(facility=store, product=product, quantity=3)
    with pytest.raises(InventoryError, match="cannot be negative"):
        inventory_count_set(facility=store, product=product, quantity_on_hand=-1)
    assert qoh_atp(store, product) == (3, 3)


# -- the book: reserve, release, reject, fulfil --------------------------------------------------------------------
def test_reserve_is_conditional_and_keeps_the_held_back_units(store, product):
    book = book_at(store, product, 5, 5)
    assert book.reserve(store.pk, product.pk, 3, held_back=2, reference="#1 item 1")
    assert not book.reserve(store.pk, product.pk, 1, held_back=2)  # only the safety stock is left
    assert not book.reserve(store.pk, product.pk, 3)
    assert book.reserve(store.pk, product.pk, 2)
    assert not book.reserve(FacilityFactory().pk, product.pk, 1)  # no level there
    book.flush()
    assert qoh_atp(store, product) == (5, 0)
    assert ledger(store, product)[-2:] == [(Kind.RESERVE, -3, 0, ""), (Kind.RESERVE, -2, 0, "")]
    assert_ledger_invariant()


def test_release_is_capped_at_qoh_and_records_what_was_applied(store, product):
    book = book_at(store, product, 4, 1)
    assert book.release(store.pk, product.pk, 2) == 2
    assert book.release(store.pk, product.pk, 5) == 1  # capped at QOH 4
    assert book.release(store.pk, product.pk, 1) == 0  # nothing to give back: no ledger row
    book.flush()
    assert qoh_atp(store, product) == (4, 4)
    assert [r for r in ledger(store, product) if r[0] == Kind.RELEASE] == [(Kind.RELEASE, 2, 0, ""), (Kind.RELEASE, 1, 0, "")]
    assert_ledger_invariant()


@pytest.mark.parametrize(
    "effect, expected",
    [("ZERO_ATP_AND_QOH", (0, 0)), ("DECREASE_ATP_AND_QOH", (9, 9)), ("DECREASE_ATP", (10, 9)), ("NONE", (10, 10))],
)
def test_reject_releases_then_applies_the_effect_in_two_ledger_rows(store, product, effect, expected):
    book = book_at(store, product, 10, 9)
    book.reject(store.pk, product.pk, 1, effect=effect, reason_code="CODE", reserved=True, reference="#1 item 1")
    book.flush()
    assert qoh_atp(store, product) == expected
    release, rejection = ledger(store, product)[-2:]
    assert release == (Kind.RELEASE, 1, 0, "CODE")
    assert rejection == (Kind.REJECTION, expected[1] - 10, expected[0] - 10, "CODE")
    assert_ledger_invariant()


def test_reject_without_a_reservation_writes_only_the_effect(store, product):
    book = book_at(store, product, 10, 10)
    book.reject(store.pk, product.pk, 2, effect="DECREASE_ATP", reason_code="DAMAGED", reserved=False)
    book.flush()
    assert qoh_atp(store, product) == (10, 8)
    assert ledger(store, product)[-1] == (Kind.REJECTION, -2, 0, "DAMAGED")
    assert len(ledger(store, product)) == 2  # receipt + rejection
    assert_ledger_invariant()


def test_reject_where_the_product_has_no_level_does_nothing(store, product):
    book = inventory_book_open(product_ids=[product.pk])
    assert book.reject(store.pk, product.pk, 1, effect="DECREASE_ATP", reason_code="DAMAGED", reserved=True) is None
    book.flush()
    assert not InventoryAdjustment.objects.exists()


def test_fulfil_takes_the_reserved_units_off_the_shelf(store, product):
    book = book_at(store, product, 5, 2)
    book.fulfil(store.pk, product.pk, 3)
    book.flush()
    assert qoh_atp(store, product) == (2, 2)
    assert ledger(store, product)[-1] == (Kind.FULFILL, 0, -3, "")
    assert_ledger_invariant()


def test_a_change_that_would_break_the_bounds_is_refused(store, product):
    book = book_at(store, product, 3, 3)
    level = book.level(store.pk, product.pk)
    with pytest.raises(InventoryError, match="would become QOH 3, ATP 4"):
        book.record(level, atp_delta=1, qoh_delta=0, kind=Kind.COUNT)


def test_book_open_locks_every_facility_of_the_products_and_ensures_missing_levels(store, product):
    other = FacilityFactory()
    inventory_receive(facility=other, product=product, quantity=1)
    book = inventory_book_open(product_ids=[product.pk], ensure=[(store.pk, product.pk)])
    assert {lvl.facility_id for lvl in book.levels_of_product(product.pk)} == {store.pk, other.pk}
    assert book.level(store.pk, product.pk).quantity_on_hand == 0
    assert book.levels_of_product(ProductFactory().pk) == []


def test_flush_is_one_update_batch_and_one_insert_batch_however_many_changes(store):
    products = [ProductFactory() for _ in range(20)]
    for p in products:
        inventory_receive(facility=store, product=p, quantity=10)
    book = inventory_book_open(product_ids=[p.pk for p in products])
    for p in products:
        book.reserve(store.pk, p.pk, 2)
        book.release(store.pk, p.pk, 1)
    with CaptureQueriesContext(connection) as ctx:
        book.flush()
    writes = [q["sql"] for q in ctx.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert len(writes) == 2, writes
    assert {qoh_atp(store, p) for p in products} == {(10, 9)}
    assert_ledger_invariant()


def test_book_user_is_recorded_on_its_ledger_rows(store, product):
    user = UserFactory()
    inventory_receive(facility=store, product=product, quantity=2)
    book = inventory_book_open(product_ids=[product.pk], user=user)
    book.reserve(store.pk, product.pk, 1)
    book.flush()
    assert InventoryAdjustment.objects.latest("pk").created_by == user
