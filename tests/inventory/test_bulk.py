"""inventory/bulk.py: set-based writes, and `Writes`, a transaction's writes sent as one statement on PostgreSQL."""

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.bulk import Writes
from inventory.models import Facility, InventoryAdjustment, InventoryLevel
from inventory.services import inventory_receive
from tests.factories import FacilityFactory, ProductFactory
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db


def test_writes_are_one_statement_on_postgresql_and_set_the_returned_primary_keys():
    store, product = FacilityFactory(code="BROOKLYN"), ProductFactory()
    level = inventory_receive(facility=store, product=product, quantity=3)
    writes = Writes()
    level.available_to_promise, level.quantity_on_hand = 5, 5
    with CaptureQueriesContext(connection) as ctx:
        writes.update_rows(InventoryLevel, [level], ["quantity_on_hand", "available_to_promise"])
        writes.execute("UPDATE inventory_facility SET name = %s WHERE id = %s", ["Brooklyn Heights", store.pk])
        ledger = [InventoryAdjustment(level=level, qoh_delta=2, atp_delta=2, kind=InventoryAdjustment.Kind.RECEIPT)]
        writes.send(insert_returning=(InventoryAdjustment, ledger))
    sent = [q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(sent) == (1 if connection.vendor == "postgresql" else 3)
    assert ledger[0].pk and InventoryAdjustment.objects.get(pk=ledger[0].pk).qoh_delta == 2
    assert Facility.objects.get(pk=store.pk).name == "Brooklyn Heights"
    assert InventoryLevel.objects.get(pk=level.pk).quantity_on_hand == 5
    assert_inventory_invariant()


def test_a_value_too_long_for_its_column_is_refused_not_cut():
    """The arrays are cast without a length: a longer value than the column takes fails as it would in an INSERT."""
    store, product = FacilityFactory(code="QUEENS"), ProductFactory()
    level = inventory_receive(facility=store, product=product, quantity=1)
    writes = Writes()
    too_long = "R" * (InventoryAdjustment._meta.get_field("reason").max_length + 1)
    writes.insert_rows(
        InventoryAdjustment, [InventoryAdjustment(level=level, qoh_delta=1, atp_delta=1, kind="RECEIPT", reason=too_long)]
    )
    if connection.vendor != "postgresql":  # SQLite neither cuts nor checks lengths: the row is as it was given
        writes.send()
        assert InventoryAdjustment.objects.filter(reason=too_long).exists()
        return
    with pytest.raises(DataError), transaction.atomic():
        writes.send()
    assert not InventoryAdjustment.objects.filter(reason__startswith="RRRR").exists()


def test_nothing_is_written_before_send_on_either_database():
    """A read between adding a write and sending it sees the data without it, on SQLite as on PostgreSQL."""
    store, product = FacilityFactory(code="BRONX"), ProductFactory()
    level = inventory_receive(facility=store, product=product, quantity=3)
    writes = Writes()
    level.quantity_on_hand, level.available_to_promise = 4, 4
    writes.update_rows(InventoryLevel, [level], ["quantity_on_hand", "available_to_promise"])
    writes.insert_rows(InventoryAdjustment, [InventoryAdjustment(level=level, qoh_delta=1, atp_delta=1, kind="RECEIPT")])
    assert InventoryLevel.objects.get(pk=level.pk).quantity_on_hand == 3
    assert InventoryAdjustment.objects.filter(level=level).count() == 1
    writes.send()
    assert InventoryLevel.objects.get(pk=level.pk).quantity_on_hand == 4
    assert InventoryAdjustment.objects.filter(level=level).count() == 2
    assert_inventory_invariant()


def test_a_table_written_twice_in_one_send_is_refused():
    """Two parts of one statement must not change one table (PostgreSQL would not let one see the other's rows)."""
    store, product = FacilityFactory(code="RICHMOND"), ProductFactory()
    level = inventory_receive(facility=store, product=product, quantity=3)
    writes = Writes()
    writes.update_rows(InventoryLevel, [level], ["quantity_on_hand"])
    with pytest.raises(AssertionError, match="written twice"):
        writes.update_rows(InventoryLevel, [level], ["available_to_promise"])
    assert_inventory_invariant()
