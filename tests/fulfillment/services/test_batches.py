"""Keyset batches (fulfillment/services/batches.py): the bulk services read the items they work on one batch at a time
(`pk > last ORDER BY pk LIMIT n`), never the list of every id, so their memory does not grow with the number of items.
Each item is still handled exactly once, the progress still has a total, and Reject All still skips what moved."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment import services
from fulfillment.models import OrderItem, ParkedItemPolicy, Rejection
from fulfillment.services import batches, facility_reject_all, item_reject, items_route, parked_items_cancel_stale
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.factories import ProductFactory
from tests.fulfillment.services.world import place
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db
BATCH = 3


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services.batches, "BATCH_SIZE", BATCH)


def item_id_reads(queries) -> list[str]:
    """The statements that read order item ids alone (what a list of every id would be read with)."""
    pk_only = re.compile(r'^SELECT\s+"fulfillment_orderitem"\."id"(\s+AS\s+"\w+")?\s+FROM\s+"fulfillment_orderitem"', re.I)
    return [q["sql"] for q in queries if pk_only.match(q["sql"])]


def assert_keyset_reads(queries, *, batches_expected: int):
    reads = item_id_reads(queries)
    assert len(reads) == batches_expected, reads
    for sql in reads:  # every read is one bounded batch; all but the first go on after the last pk seen
        assert re.search(rf"LIMIT {BATCH}\b", sql), sql
    assert all('"fulfillment_orderitem"."id" >' in sql for sql in reads[1:]), reads


def parked(n):
    """n parked items: their product has no stock anywhere."""
    product = ProductFactory()
    items = [place(product) for _ in range(n)]
    assert {i.status for i in items} == {"UNROUTED"}
    return items


def test_keyset_yields_every_pk_once_in_order_one_bounded_query_per_batch(stores, small_batches):
    items = parked(7)
    with CaptureQueriesContext(connection) as ctx:
        seen = [list(batch) for batch in batches.keyset(OrderItem.objects.filter(status="UNROUTED"))]
    assert seen == [[i.pk for i in items[k:k + BATCH]] for k in range(0, 7, BATCH)]
    assert len(ctx.captured_queries) == 3  # 3 + 3 + 1: a short batch is the last, no query to find nothing after it
    assert_keyset_reads(ctx.captured_queries, batches_expected=3)


def test_keyset_drops_rows_that_left_and_never_goes_back(stores, small_batches):
    items = parked(7)
    seen = []
    for batch in batches.keyset(OrderItem.objects.filter(status="UNROUTED")):
        seen += batch
        if len(seen) == BATCH:  # after the first batch: one ahead leaves the set, one behind is changed (still in it)
            OrderItem.objects.filter(pk=items[4].pk).update(status="CANCELLED")
            OrderItem.objects.filter(pk=items[0].pk).update(parked_reason="parked again")
    assert seen == [i.pk for i in items if i != items[4]]


def test_keyset_among_the_callers_ids_reads_a_short_list_per_batch(stores, small_batches):
    items = parked(7)
    OrderItem.objects.filter(pk=items[1].pk).update(status="CANCELLED")
    chosen = [i.pk for i in reversed(items)]  # in any order, as a user selected them
    with CaptureQueriesContext(connection) as ctx:
        seen = list(batches.keyset(OrderItem.objects.filter(status="UNROUTED"), among=chosen))
    assert seen == [[items[0].pk, items[2].pk], [i.pk for i in items[3:6]], [items[6].pk]]
    assert len(ctx.captured_queries) == 3
    assert all(len(re.findall(r"\d+", q["sql"].split(" IN (")[1].split(")")[0])) <= BATCH for q in ctx.captured_queries)


def test_routing_the_items_a_user_chose_routes_each_once(stores, small_batches):
    items = parked(7)
    summary = items_route(item_ids=[i.pk for i in items[:5]])
    assert (summary.routed, summary.parked) == (0, 5)
    assert [RoutingDecision.objects.filter(order_item=i, trigger="ROUTE_ORDERS").count() for i in items] == [1] * 5 + [0] * 2


def test_route_orders_routes_each_parked_item_once_in_keyset_batches_with_a_total(stores, small_batches):
    brooklyn, manhattan, _ = stores
    items = parked(8)  # no stock: every batch parks its items again, behind the cursor
    tee = ProductFactory()
    items += [place(tee) for _ in range(2)]
    inventory_receive(facility=manhattan, product=tee, quantity=2)  # these two can go now
    progress = []
    with CaptureQueriesContext(connection) as ctx:
        summary = items_route(progress=lambda done, total: progress.append((done, total)))
    assert (summary.routed, summary.parked, summary.rerouted) == (2, 8, {"MANHATTAN": 2})
    assert progress == [(3, 10), (6, 10), (9, 10), (10, 10)]
    per_item = {i.pk: RoutingDecision.objects.filter(order_item=i, trigger="ROUTE_ORDERS").count() for i in items}
    assert set(per_item.values()) == {1}  # routed once each, none twice though each batch parks its items again
    assert_keyset_reads(ctx.captured_queries, batches_expected=4)
    assert_inventory_invariant()


def test_route_orders_leaves_items_parked_after_it_started_to_the_next_run(stores, small_batches):
    first = parked(4)
    later = []

    def progress(done, total):
        if not later:  # while it runs, a new order is parked
            later.append(parked(1)[0])

    items_route(progress=progress)
    assert {RoutingDecision.objects.filter(order_item=i, trigger="ROUTE_ORDERS").count() for i in first} == {1}
    assert not RoutingDecision.objects.filter(order_item=later[0], trigger="ROUTE_ORDERS").exists()


def test_reject_all_reads_keyset_batches_skips_what_moved_and_leaves_newcomers(stores, small_batches):
    brooklyn, manhattan, _ = stores
    tee = ProductFactory()
    inventory_receive(facility=brooklyn, product=tee, quantity=20)
    inventory_receive(facility=manhattan, product=tee, quantity=20)
    items = [place(tee) for _ in range(8)]
    assert {i.facility_id for i in items} == {brooklyn.pk}
    newcomer = []

    def progress(done, total):
        if done == BATCH:  # after the first batch: an associate rejects one it has not reached, a new order comes in
            item_reject(facility=brooklyn, item_id=items[-1].pk, reason_code="DAMAGED")
            newcomer.append(place(tee))
        progress_seen.append((done, total))

    progress_seen = []
    with CaptureQueriesContext(connection) as ctx:
        summary = facility_reject_all(facility=brooklyn, from_status="open", reason_code="INACTIVE_STORE", progress=progress)
    assert (summary.items, summary.rejected, summary.skipped, summary.rerouted) == (8, 7, 1, {"MANHATTAN": 7})
    assert progress_seen == [(3, 8), (6, 8), (7, 8), (8, 8)]  # the last: the one that moved before its batch came
    assert Rejection.objects.filter(comment="Reject All").count() == 7
    assert {Rejection.objects.filter(order_item=i, facility=brooklyn).count() for i in items} == {1}
    newcomer = newcomer[0]
    newcomer.refresh_from_db()
    assert (newcomer.facility_id, newcomer.status) == (brooklyn.pk, "OPEN")  # not in what it set out to reject
    assert_keyset_reads(ctx.captured_queries, batches_expected=3)  # 3 + 3 + 1 (the 8th moved before its batch)
    assert_inventory_invariant()


def test_cancel_stale_parked_cancels_each_item_once_in_keyset_batches(stores, small_batches):
    ParkedItemPolicy.objects.create(cancel_after_days=7)
    items = parked(7)
    OrderItem.objects.filter(pk__in=[i.pk for i in items]).update(parked_since=timezone.now() - dt.timedelta(days=8))
    with CaptureQueriesContext(connection) as ctx:
        done = parked_items_cancel_stale()
    assert sorted(d.item_id for d in done) == [i.pk for i in items]
    assert set(OrderItem.objects.filter(pk__in=[i.pk for i in items]).values_list("status", flat=True)) == {"CANCELLED"}
    assert_keyset_reads(ctx.captured_queries, batches_expected=3)
    assert parked_items_cancel_stale() == []
    assert_inventory_invariant()
