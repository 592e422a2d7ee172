"""Bulk paths cost O(batches) queries, not O(items); a single rejection costs the same whatever the facility count;
and a Reject All racing single rejections (PostgreSQL, real threads) leaves every item in exactly one state."""

import threading

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from fulfillment import services
from fulfillment.errors import ItemConflict
from fulfillment.models import BulkRejection, Order, OrderItem, Rejection
from fulfillment.services import facility_reject_all, item_reject, items_route, order_create
from inventory.services import inventory_receive
from routing.models import RoutingDecision
from tests.conftest import requires_postgres
from tests.factories import FacilityFactory, ProductFactory
from tests.support import assert_inventory_invariant

BROOKLYN = (40.6782, -73.9442)
MANHATTAN = (40.7549, -73.9840)
STAMFORD = (41.0534, -73.5387)
BATCH = 50


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services.batches, "BATCH_SIZE", BATCH)
    return BATCH


def _store(code, at):
    return FacilityFactory(code=code, name=f"Store {code}", latitude=at[0], longitude=at[1])


def _orders(n_items, products, *, prefix, at=BROOKLYN):
    """n_items items (two lines per order), routed by order_create as in production."""
    made = 0
    while made < n_items:
        lines = [(products[(made + k) % len(products)], 1) for k in range(min(2, n_items - made))]
        order_create(
            name=f"#{prefix}{made}", customer_name="Ada", shipping_method="STANDARD",
            ship_to_latitude=at[0], ship_to_longitude=at[1], lines=lines,
        )
        made += len(lines)


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)




def assert_linear_in_batches(counts: dict[int, int], base_items: int = BATCH):
    """counts {items: queries}: every extra batch costs the same, small number of queries."""
    sizes = sorted(counts)
    per_batch = {
        (b - a): (counts[b] - counts[a]) / ((b - a) // BATCH) for a, b in zip(sizes, sizes[1:])
    }
    values = set(per_batch.values())
    assert len(values) == 1, f"queries per extra batch differ: {per_batch} (counts {counts})"
    (cost,) = values
    assert 0 < cost <= 30, f"{cost} queries per batch of {BATCH} items (counts {counts})"
    assert counts[sizes[-1]] < sizes[-1], f"{counts[sizes[-1]]} queries for {sizes[-1]} items is O(items)"
    return cost


@pytest.mark.django_db
def test_reject_all_queries_grow_per_batch_not_per_item(small_batches):
    """50, 100 and 200 open items (1, 2, 4 batches): each extra batch adds the same constant number of queries."""
    counts = {}
    for n in (50, 100, 200):
        here = _store(f"HERE{n}", BROOKLYN)
        there = _store(f"THERE{n}", MANHATTAN)
        products = [ProductFactory() for _ in range(12)]
        for p in products[:10]:  # 10 products can be re-routed, 2 cannot (parked)
            inventory_receive(facility=there, product=p, quantity=100)
        for p in products:
            inventory_receive(facility=here, product=p, quantity=100)
        _orders(n, products, prefix=f"RA{n}-")
        assert OrderItem.objects.filter(facility=here, status="OPEN").count() == n

        summary = None

        def run():
            nonlocal summary
            summary = facility_reject_all(facility=here, from_status="open", reason_code="DAMAGED")

        counts[n] = _count(run)
        # every item still gets its Rejection, ledger rows and RoutingDecision
        assert summary.rejected == n
        assert summary.rerouted_items + summary.parked == n and summary.parked > 0
        rejected = OrderItem.objects.filter(rejections__facility=here)
        assert rejected.count() == n
        assert RoutingDecision.objects.filter(order_item__in=rejected, trigger="REJECTION").count() == n
        assert not OrderItem.objects.filter(facility=here, status="OPEN").exists()
        Facility = type(here)
        Facility.objects.filter(pk__in=[here.pk, there.pk]).update(allows_routing=False)  # keep the next round apart
    assert_linear_in_batches(counts)
    assert_inventory_invariant()


@pytest.mark.django_db
def test_reject_all_with_progress_record_is_still_per_batch(small_batches, django_user_model):
    """The web Reject All (a BulkRejection updated after each batch) costs one more query per batch, not per item."""
    counts = {}
    user = django_user_model.objects.create(username="manager")
    for n in (50, 150):
        here = _store(f"BR{n}", BROOKLYN)
        products = [ProductFactory() for _ in range(5)]
        for p in products:
            inventory_receive(facility=here, product=p, quantity=100)
        _orders(n, products, prefix=f"BR{n}-")
        bulk = BulkRejection.objects.create(facility=here, from_status="OPEN", reason_id=_reason_pk("INACTIVE_STORE"),
                                            requested_by=user)
        counts[n] = _count(lambda: services.bulk_rejection_execute(bulk_rejection_id=bulk.pk))
        bulk.refresh_from_db()
        assert (bulk.state, bulk.rejected_items, bulk.processed_items, bulk.parked_items) == ("DONE", n, n, n)
        assert bulk.percent_done == 100
        type(here).objects.filter(pk=here.pk).update(allows_routing=False)
    assert_linear_in_batches(counts)


def _reason_pk(code):
    from fulfillment.models import RejectionReason

    return RejectionReason.objects.get(code=code).pk


@pytest.mark.django_db
def test_route_orders_queries_grow_per_batch_not_per_item(small_batches):
    """items_route over 50, 100 and 200 parked items: a constant number of queries per batch."""
    counts = {}
    for n in (50, 100, 200):
        store = _store(f"RO{n}", BROOKLYN)
        products = [ProductFactory() for _ in range(8)]
        _orders(n, products, prefix=f"RO{n}-")  # no stock anywhere: all parked
        parked = list(OrderItem.objects.filter(order__name__startswith=f"#RO{n}-").values_list("pk", flat=True))
        assert OrderItem.objects.filter(pk__in=parked, status="UNROUTED").count() == n
        for p in products[:6]:  # stock arrives for 6 of the 8 products
            inventory_receive(facility=store, product=p, quantity=1000)

        summary = None

        def run():
            nonlocal summary
            summary = items_route(item_ids=parked)

        counts[n] = _count(run)
        assert summary.routed + summary.parked == n and summary.routed > 0 and summary.parked > 0
        assert RoutingDecision.objects.filter(order_item_id__in=parked, trigger="ROUTE_ORDERS").count() == n
        type(store).objects.filter(pk=store.pk).update(allows_routing=False)
    assert_linear_in_batches(counts)
    assert_inventory_invariant()


def _single_rejection_queries(n_facilities: int) -> tuple[int, int]:
    rejecting = _store(f"S{n_facilities}-0", BROOKLYN)
    product = ProductFactory()
    inventory_receive(facility=rejecting, product=product, quantity=5)
    others = []
    for k in range(1, n_facilities):
        other = _store(f"S{n_facilities}-{k}", (STAMFORD[0] - k * 0.01, STAMFORD[1]))
        inventory_receive(facility=other, product=product, quantity=3)
        others.append(other)
    order = order_create(
        name=f"#S{n_facilities}", customer_name="Ada", shipping_method="STANDARD",
        ship_to_latitude=BROOKLYN[0], ship_to_longitude=BROOKLYN[1], lines=[(product, 1)],
    )
    item = order.items.get()
    assert item.facility == rejecting
    result = None

    def run():
        nonlocal result
        result = item_reject(facility=rejecting, item_id=item.pk, reason_code="DAMAGED")

    with CaptureQueriesContext(connection) as ctx:
        run()
    # every statement counts, except the SAVEPOINT pair that the test's own transaction makes of the service's atomic
    queries = sum(not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) for q in ctx.captured_queries)
    assert result.routed_to in others
    decision = RoutingDecision.objects.filter(order_item=item, trigger="REJECTION").get()
    # the explanation still accounts for every facility of this chain: the nearest one by one, the rest counted by reason
    listed = {c["facility"] for c in decision.candidate_rows if c["facility"]}
    counted = sum(int(c["name"].split()[0]) for c in decision.candidate_rows if not c["facility"])
    assert rejecting.code in listed
    assert len(listed) + counted == type(rejecting).objects.count()  # (the first run's facilities take part, inactive)
    return queries, len(decision.candidate_rows)


@pytest.mark.django_db
def test_single_rejection_query_count_independent_of_facility_count():
    few, _ = _single_rejection_queries(5)
    from inventory.models import Facility

    Facility.objects.update(allows_routing=False, is_active=False)  # the first set takes no part in the second run
    many, _ = _single_rejection_queries(50)
    assert few == many, f"{few} queries with 5 facilities, {many} with 50"
    # PostgreSQL (production): 8 statements, every kind counted — reason, policy, lock the item, its history, the
    # routing configuration's version stamp (the facilities and rules are kept in memory while it holds), the
    # candidates the database chooses, lock the levels that change, and one statement for all the writes.
    # SQLite reads the product's levels instead of the candidates and sends each write on its own (5 more).
    assert many <= (8 if connection.vendor == "postgresql" else 13), many


# -- Reject All racing single rejections (PostgreSQL, real threads) ----------------------------------------------
@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reject_all_with_concurrent_single_rejections_leaves_each_item_in_one_state(monkeypatch):
    monkeypatch.setattr(services.batches, "BATCH_SIZE", 10)
    here = _store("RACE", BROOKLYN)
    there = _store("ELSEWHERE", MANHATTAN)
    products = [ProductFactory() for _ in range(6)]
    for p in products:
        inventory_receive(facility=here, product=p, quantity=40)
    for p in products[:4]:
        inventory_receive(facility=there, product=p, quantity=15)  # not enough for everything: some park
    _orders(80, products, prefix="RACE-")
    item_ids = list(OrderItem.objects.filter(facility=here, status="OPEN").order_by("pk").values_list("pk", flat=True))
    assert len(item_ids) == 80

    singles = {"ok": 0, "conflict": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(4)
    bulk_summary = {}

    def bulk():
        try:
            start.wait()
            bulk_summary["s"] = facility_reject_all(facility=here, from_status="OPEN", reason_code="INACTIVE_STORE")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    def single(ids):
        try:
            start.wait()
            for pk in ids:
                try:
                    item_reject(facility=here, item_id=pk, reason_code="DAMAGED")
                    outcome = "ok"
                except ItemConflict:
                    outcome = "conflict"
                with lock:
                    singles[outcome] += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    # three associates reject items from the end, the middle and the start while the manager runs Reject All
    threads = [
        threading.Thread(target=bulk),
        threading.Thread(target=single, args=(item_ids[::-1][:25],)),
        threading.Thread(target=single, args=(item_ids[30:50],)),
        threading.Thread(target=single, args=(item_ids[1:20:2],)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    summary = bulk_summary["s"]

    # exactly one rejection at this facility per item, by the bulk run or by an associate
    per_item = {pk: 0 for pk in item_ids}
    for rejection in Rejection.objects.filter(facility=here):
        per_item[rejection.order_item_id] += 1
    assert set(per_item.values()) == {1}, {pk: n for pk, n in per_item.items() if n != 1}
    assert summary.rejected + singles["ok"] == 80
    assert summary.rejected + summary.skipped == summary.items  # listed by the bulk run, taken by an associate first
    by_bulk = Rejection.objects.filter(facility=here, comment="Reject All").count()
    assert by_bulk == summary.rejected
    # each item is in exactly one place: re-routed elsewhere (OPEN there) or parked, never still here
    for item in OrderItem.objects.filter(pk__in=item_ids):
        assert item.facility_id != here.pk
        assert (item.status, item.facility_id is None) in {("OPEN", False), ("UNROUTED", True)}
        assert RoutingDecision.objects.filter(order_item=item, trigger="REJECTION").count() == 1
    assert not OrderItem.objects.filter(facility=here, status__in=OrderItem.REJECTABLE).exists()
    assert_inventory_invariant()
    assert Order.objects.filter(name__startswith="#RACE-").count() == 40


# -- the web Reject All through django.tasks ---------------------------------------------------------------------
def _reject_all_setup(prefix: str, n: int = 6):
    here = _store(f"{prefix}H", BROOKLYN)
    there = _store(f"{prefix}T", MANHATTAN)
    products = [ProductFactory() for _ in range(3)]
    for p in products:
        inventory_receive(facility=here, product=p, quantity=10)
    inventory_receive(facility=there, product=products[0], quantity=10)
    _orders(n, products, prefix=f"{prefix}-")
    return here, there


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # enqueued on commit, as in production
def test_web_reject_all_runs_at_once_with_the_immediate_task_backend(django_user_model, settings):
    """The job is enqueued only once the record is committed, and then runs at once (immediate backend)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    here, there = _reject_all_setup("IMM")
    manager = django_user_model.objects.create(username="imm-manager")

    bulk = services.bulk_rejection_request(
        facility=here, from_status="OPEN", reason_code="INACTIVE_STORE", user=manager, stop_routing=True
    )

    assert bulk.state == BulkRejection.State.DONE and bulk.started_at and bulk.finished_at
    assert (bulk.total_items, bulk.total_orders, bulk.processed_items, bulk.rejected_items) == (6, 3, 6, 6)
    assert bulk.rerouted == {there.code: 2} and bulk.parked_items == 4 and bulk.percent_done == 100
    assert bulk.requested_by == manager and bulk.reason.code == "INACTIVE_STORE"
    assert Rejection.objects.filter(bulk_rejection=bulk).count() == 6
    assert not OrderItem.objects.filter(facility=here, status="OPEN").exists()
    here.refresh_from_db()
    assert here.allows_routing is False
    assert_inventory_invariant()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the worker closes its connection after each task, as in production
def test_web_reject_all_waits_for_the_database_worker(django_user_model, settings):
    """Production: django-tasks-db stores the task; `manage.py db_worker` runs it and the record shows the summary."""
    from django.core.management import call_command

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    here, there = _reject_all_setup("DBW")
    manager = django_user_model.objects.create(username="dbw-manager")

    bulk = services.bulk_rejection_request(facility=here, from_status="OPEN", reason_code="INACTIVE_STORE", user=manager)

    assert bulk.state == BulkRejection.State.QUEUED and bulk.percent_done == 0
    assert OrderItem.objects.filter(facility=here, status="OPEN").count() == 6  # nothing happened yet
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    bulk.refresh_from_db()
    assert bulk.state == BulkRejection.State.DONE
    assert (bulk.rejected_items, bulk.parked_items, bulk.rerouted) == (6, 4, {there.code: 2})
    assert not OrderItem.objects.filter(facility=here, status="OPEN").exists()
    assert_inventory_invariant()
