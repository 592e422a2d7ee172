"""Inventory writes: receipts, counts and the locked book (reserve, release, reject, fulfil), each with its ledger rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import InventoryAdjustment, InventoryLevel
from inventory.services import (
    InventoryError, inventory_book_lock, inventory_count_set, inventory_receive, levels_ensure,
)
from fulfillment.models import OrderItem
from tests.factories import FacilityFactory, OrderItemFactory, ProductFactory, UserFactory
from tests.support import assert_inventory_invariant, qoh_atp

pytestmark = pytest.mark.django_db
Kind = InventoryAdjustment.Kind


@pytest.fixture
def store():
    return FacilityFactory(code="BROOKLYN")


@pytest.fixture
def product():
    return ProductFactory()


def quantities(facility, product) -> tuple[int, int, int, int]:
    """(QOH, reserved, unsellable, ATP) of the level."""
    level = InventoryLevel.objects.get(facility=facility, product=product)
    return level.quantity_on_hand, level.reserved, level.unsellable, level.available_to_promise


def ledger(facility, product) -> list[tuple]:
    """(kind, QOH, reserved, unsellable, ATP deltas, reason) of the level's rows, oldest first."""
    return list(
        InventoryAdjustment.objects.filter(level__facility=facility, level__product=product)
        .order_by("pk")
        .values_list("kind", "qoh_delta", "reserved_delta", "unsellable_delta", "atp_delta", "reason")
    )


def item_holding(store, product, quantity: int):
    """An OPEN item at `store` that the units reserved by the test belong to (the invariant counts them)."""
    return OrderItemFactory(facility=store, product=product, quantity=quantity, status=OrderItem.Status.OPEN)


def item_leaves(item, status=OrderItem.Status.CANCELLED):
    OrderItem.objects.filter(pk=item.pk).update(status=status)


def book_at(store, product, qoh, reserved):
    """A book over a level with QOH `qoh` and `reserved` units held by one open item, reached through services."""
    inventory_receive(facility=store, product=product, quantity=qoh)
    if reserved:
        item_holding(store, product, reserved)
        book = book_of(product_ids=[product.pk])
        assert book.reserve(store.pk, product.pk, reserved)
        book.flush()
    return book_of(product_ids=[product.pk])


def book_of(*, product_ids, ensure=(), user=None):
    """A locked book over every level of these products (and the levels in `ensure`, created when missing)."""
    ids = set(levels_ensure(keys=ensure).values())
    ids |= set(InventoryLevel.objects.filter(product_id__in=product_ids).values_list("pk", flat=True))
    return inventory_book_lock(level_ids=ids, user=user)


# -- receipts and counts ---------------------------------------------------------------------------------------------
def test_receive_creates_the_level_and_writes_a_ledger_row(store, product):
    user = UserFactory()
    level = inventory_receive(facility=store, product=product, quantity=5, user=user, reference="PO-1")
    assert (level.quantity_on_hand, level.available_to_promise) == (5, 5)
    inventory_receive(facility=store, product=product, quantity=2)
    assert qoh_atp(store, product) == (7, 7)
    rows = list(InventoryAdjustment.objects.order_by("pk").values_list("kind", "atp_delta", "qoh_delta", "reference", "created_by"))
    assert rows == [(Kind.RECEIPT, 5, 5, "PO-1", user.pk), (Kind.RECEIPT, 2, 2, "receipt", None)]
    assert_inventory_invariant()


@pytest.mark.parametrize("quantity", [0, -3])
def test_receive_needs_a_positive_quantity_and_changes_nothing(store, product, quantity):
    with pytest.raises(InventoryError, match="at least 1"):
        inventory_receive(facility=store, product=product, quantity=quantity)
    assert not InventoryLevel.objects.exists() and not InventoryAdjustment.objects.exists()


@pytest.mark.parametrize(
    "counted, expected",
    [
        (12, (12, 1, 0, 11)),  # two found: both sellable, the reservation still held
        (10, (10, 1, 0, 9)),  # as expected: no change, no ledger row
        (5, (5, 1, 0, 4)),  # five missing
        (1, (1, 1, 0, 0)),
        (0, (0, 1, 0, 0)),  # the reservation stays: the level is short
    ],
)
def test_count_sets_qoh_and_never_touches_reserved(store, product, counted, expected):
    book_at(store, product, 10, 1).flush()
    inventory_count_set(facility=store, product=product, quantity_on_hand=counted, reference="cycle count")
    assert quantities(store, product) == expected
    counts = [row for row in ledger(store, product) if row[0] == Kind.COUNT]
    assert counts == ([] if counted == 10 else [(Kind.COUNT, counted - 10, 0, 0, expected[3] - 9, "")])
    assert InventoryLevel.objects.get(facility=store, product=product).is_short == (counted == 0)
    assert_inventory_invariant()


def test_count_below_the_unsellable_units_caps_them(store, product):
    book = book_at(store, product, 5, 2)
    book.reject(store.pk, product.pk, 2, effect="DECREASE_ATP", reason_code="DAMAGED")
    book.flush()
    item_leaves(OrderItem.objects.get())
    assert quantities(store, product) == (5, 0, 2, 3)
    inventory_count_set(facility=store, product=product, quantity_on_hand=1)
    assert quantities(store, product) == (1, 0, 1, 0)
    assert ledger(store, product)[-1] == (Kind.COUNT, -4, 0, -1, -3, "")
    assert_inventory_invariant()


def test_count_of_a_product_never_held_creates_its_level(store, product):
    inventory_count_set(facility=store, product=product, quantity_on_hand=4)
    assert qoh_atp(store, product) == (4, 4)
    assert ledger(store, product) == [(Kind.COUNT, 4, 0, 0, 4, "")]
    assert_inventory_invariant()


def test_count_cannot_be_negative(store, product):
    inventory_receive(facility=store, product=product, quantity=3)
    with pytest.raises(InventoryError, match="cannot be negative"):
        inventory_count_set(facility=store, product=product, quantity_on_hand=-1)
    assert qoh_atp(store, product) == (3, 3)


# -- the book: reserve, release, reject, fulfil --------------------------------------------------------------------
def test_reserve_is_conditional_and_keeps_the_held_back_units(store, product):
    book = book_at(store, product, 5, 0)
    item_holding(store, product, 3), item_holding(store, product, 2)
    assert book.reserve(store.pk, product.pk, 3, held_back=2, reference="#1 item 1")
    assert not book.reserve(store.pk, product.pk, 1, held_back=2)  # only the safety stock is left
    assert not book.reserve(store.pk, product.pk, 3)
    assert book.reserve(store.pk, product.pk, 2)
    assert not book.reserve(FacilityFactory().pk, product.pk, 1)  # no level there
    book.flush()
    assert quantities(store, product) == (5, 5, 0, 0)
    assert ledger(store, product)[-2:] == [(Kind.RESERVE, 0, 3, 0, -3, ""), (Kind.RESERVE, 0, 2, 0, -2, "")]
    assert_inventory_invariant()


def test_release_gives_back_exactly_the_items_units_even_when_the_level_is_short(store, product):
    book = book_at(store, product, 4, 3)
    inventory_count_set(facility=store, product=product, quantity_on_hand=1)  # short by 2
    book = book_of(product_ids=[product.pk])
    book.release(store.pk, product.pk, 2)
    book.flush()
    OrderItem.objects.update(quantity=1)
    assert quantities(store, product) == (1, 1, 0, 0)
    assert ledger(store, product)[-1] == (Kind.RELEASE, 0, -2, 0, 0, "")
    assert_inventory_invariant()


def test_releasing_more_than_is_reserved_is_refused(store, product):
    book = book_at(store, product, 4, 1)
    with pytest.raises(InventoryError, match="fewer reserved units than the 2 released"):
        book.release(store.pk, product.pk, 2)
    with pytest.raises(InventoryError, match="fewer reserved units"):
        book.release(FacilityFactory().pk, product.pk, 1)


@pytest.mark.parametrize(
    "effect, expected",
    [
        ("ZERO_ATP_AND_QOH", (0, 2, 0, 0)),  # the other item's 2 units stay reserved: short
        ("DECREASE_ATP_AND_QOH", (9, 2, 0, 7)),
        ("DECREASE_ATP", (10, 2, 1, 7)),
        ("NONE", (10, 2, 0, 8)),
    ],
)
def test_reject_releases_then_applies_the_effect_in_two_ledger_rows(store, product, effect, expected):
    book = book_at(store, product, 10, 1)
    other = item_holding(store, product, 2)
    assert book.reserve(store.pk, product.pk, 2)
    book.reject(store.pk, product.pk, 1, effect=effect, reason_code="CODE", reference="#1 item 1")
    book.flush()
    item_leaves(OrderItem.objects.exclude(pk=other.pk).get())
    assert quantities(store, product) == expected
    release, rejection = ledger(store, product)[-2:]
    assert release == (Kind.RELEASE, 0, -1, 0, 1, "CODE")
    assert rejection == (Kind.REJECTION, expected[0] - 10, 0, expected[2], expected[3] - 8, "CODE")
    assert_inventory_invariant()


def test_fulfil_takes_the_units_off_the_shelf_and_the_reservation(store, product):
    book = book_at(store, product, 5, 3)
    book.fulfil(store.pk, product.pk, 3, reference="#1 item 1")
    book.flush()
    item_leaves(OrderItem.objects.get(), OrderItem.Status.COMPLETED)
    assert quantities(store, product) == (2, 0, 0, 2)
    assert ledger(store, product)[-1] == (Kind.FULFILL, -3, -3, 0, 0, "")
    assert_inventory_invariant()


def test_fulfil_more_than_on_hand_records_the_units_found(store, product):
    book = book_at(store, product, 5, 3)
    inventory_count_set(facility=store, product=product, quantity_on_hand=1)  # the count missed two units
    book = book_of(product_ids=[product.pk])
    book.fulfil(store.pk, product.pk, 3, reference="#1 item 1")
    book.flush()
    item_leaves(OrderItem.objects.get(), OrderItem.Status.COMPLETED)
    assert quantities(store, product) == (0, 0, 0, 0)
    assert ledger(store, product)[-2:] == [(Kind.FOUND, 2, 0, 0, 0, ""), (Kind.FULFILL, -3, -3, 0, 0, "")]
    assert InventoryAdjustment.objects.filter(kind=Kind.FOUND).get().reference == "#1 item 1"
    assert_inventory_invariant()


def test_a_change_that_would_break_the_bounds_is_refused(store, product):
    book = book_at(store, product, 3, 0)
    level = book.level(store.pk, product.pk)
    with pytest.raises(InventoryError, match="would become on hand 3, reserved 0, unsellable 4"):
        book.record(level, unsellable_delta=4, kind=Kind.COUNT)
    with pytest.raises(InventoryError, match="would become on hand -1"):
        book.record(level, qoh_delta=-4, kind=Kind.COUNT)
    assert (level.quantity_on_hand, level.unsellable) == (3, 0)


def test_book_open_locks_every_facility_of_the_products_and_ensures_missing_levels(store, product):
    other = FacilityFactory()
    inventory_receive(facility=other, product=product, quantity=1)
    book = book_of(product_ids=[product.pk], ensure=[(store.pk, product.pk)])
    assert {lvl.facility_id for lvl in book.levels_of_product(product.pk)} == {store.pk, other.pk}
    assert book.level(store.pk, product.pk).quantity_on_hand == 0
    assert book.levels_of_product(ProductFactory().pk) == []


def test_flush_is_one_statement_on_postgresql_two_elsewhere_however_many_changes(store):
    products = [ProductFactory() for _ in range(20)]
    for p in products:
        inventory_receive(facility=store, product=p, quantity=10)
    book = book_of(product_ids=[p.pk for p in products])
    for p in products:
        item_holding(store, p, 1)
        book.reserve(store.pk, p.pk, 2)
        book.release(store.pk, p.pk, 1)
    with CaptureQueriesContext(connection) as ctx:
        book.flush()
    writes = [q["sql"] for q in ctx.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    # PostgreSQL: the level UPDATE and the ledger INSERT go as one statement (Writes); SQLite: one of each
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2), writes
    assert {qoh_atp(store, p) for p in products} == {(10, 9)}
    assert_inventory_invariant()


def test_book_user_is_recorded_on_its_ledger_rows(store, product):
    user = UserFactory()
    inventory_receive(facility=store, product=product, quantity=2)
    book = book_of(product_ids=[product.pk], user=user)
    book.reserve(store.pk, product.pk, 1)
    book.flush()
    item_holding(store, product, 1)
    assert InventoryAdjustment.objects.latest("pk").created_by == user
    assert_inventory_invariant()
