"""Reject All as a durable job: conditional claim with attempts, a heartbeat per batch, resume of a run whose worker
died (exact summary, every item rejected once), FAILED after N attempts with Try again for a manager."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fulfillment import services
from fulfillment.models import BulkRejection, FacilityMembership, OrderItem, Rejection, RejectionReason
from fulfillment.locks import job_lease_release
from fulfillment.services.reject_all import BulkRejectionTakenOver, bulk_rejection_claim, facility_reject_all
from inventory.services import inventory_receive
from tests.conftest import requires_postgres
from tests.factories import FacilityFactory, MembershipFactory, ProductFactory, UserFactory, order_placed
from tests.support import assert_inventory_invariant

pytestmark = pytest.mark.django_db
BATCH = 4
Q = BulkRejection.State


class WorkerKilled(BaseException):
    """What the process sees of kill -9: nothing after this point runs (not even an `except Exception`)."""


def die_after_batches(n):
    def progress(done, total):
        if done >= n * BATCH:
            raise WorkerKilled

    return progress


@pytest.fixture
def store(monkeypatch):
    monkeypatch.setattr(services.batches, "BATCH_SIZE", BATCH)
    here = FacilityFactory(code="HERE", name="Here", latitude=40.6782, longitude=-73.9442)
    there = FacilityFactory(code="THERE", name="There", latitude=40.7549, longitude=-73.9840)
    tee, mug = ProductFactory(), ProductFactory()
    for product in (tee, mug):
        inventory_receive(facility=here, product=product, quantity=50)
    inventory_receive(facility=there, product=tee, quantity=50)  # tees are re-routed, mugs parked
    for k in range(5):
        order_placed(lines=[(tee, 1), (mug, 1)], near=here)
    manager = UserFactory(username="ra-manager")
    MembershipFactory(user=manager, facility=here, role=FacilityMembership.Role.MANAGER)
    associate = UserFactory(username="ra-associate")
    MembershipFactory(user=associate, facility=here)
    assert OrderItem.objects.filter(facility=here, status="OPEN").count() == 10
    return {"here": here, "there": there, "manager": manager, "associate": associate}


def queued_job(store, **fields):
    return BulkRejection.objects.create(
        facility=store["here"], from_status="OPEN", reason=RejectionReason.objects.get(code="INACTIVE_STORE"),
        requested_by=store["manager"], heartbeat_at=timezone.now(), **fields,
    )


def killed_run(store, *, after_batches=1):
    """A run claimed by a worker that was killed once `after_batches` batches had committed."""
    job = queued_job(store)
    assert bulk_rejection_claim(bulk_rejection_id=job.pk) == 1
    job = BulkRejection.objects.select_related("facility").get(pk=job.pk)
    with pytest.raises(WorkerKilled):
        facility_reject_all(
            facility=job.facility, from_status="OPEN", reason_code="INACTIVE_STORE", bulk_rejection=job,
            progress=die_after_batches(after_batches),
        )
    job_lease_release(job.pk)  # what the database does when the killed worker's connection goes away
    job.refresh_from_db()
    return job


def test_claim_is_conditional_and_counts_attempts(store):
    job = queued_job(store)
    assert bulk_rejection_claim(bulk_rejection_id=job.pk) == 1
    assert bulk_rejection_claim(bulk_rejection_id=job.pk) == 0  # a second worker handed the same job does nothing
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Q.RUNNING, 1) and job.heartbeat_at and job.started_at


def test_each_batch_commits_its_counters_with_a_heartbeat(store):
    job = killed_run(store, after_batches=1)
    assert job.state == Q.RUNNING  # nobody marked it: the worker died
    assert (job.total_items, job.processed_items, job.rejected_items, job.skipped_items) == (10, BATCH, BATCH, 0)
    assert len(job.item_ids) == 10 and job.heartbeat_at >= job.started_at
    assert Rejection.objects.filter(bulk_rejection=job).count() == BATCH  # exactly what the counters say
    assert_inventory_invariant()


def test_a_run_whose_worker_died_is_resumed_and_the_summary_is_exact(store, django_capture_on_commit_callbacks):
    job = killed_run(store, after_batches=1)
    # meanwhile an associate rejects an item the job had not reached yet
    untouched = [pk for pk in job.item_ids[BATCH:]]
    services.item_reject(facility=store["here"], item_id=untouched[0], reason_code="DAMAGED")

    if not settings.IS_POSTGRES:  # without leases a fresh heartbeat may be a slow worker (PostgreSQL: the lease is free)
        assert services.bulk_rejections_resume().resumed == []
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_bulk_rejections", "--stale-after", "0")  # the immediate backend runs it at once

    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (Q.DONE, 2, "")
    assert (job.total_items, job.processed_items, job.rejected_items, job.skipped_items) == (10, 10, 9, 1)
    assert job.rerouted_items + job.parked_items == 9 and job.rerouted == {"THERE": 4} and job.parked_items == 5
    per_item = {pk: Rejection.objects.filter(order_item_id=pk, facility=store["here"]).count() for pk in job.item_ids}
    assert set(per_item.values()) == {1}  # every item rejected here exactly once
    assert Rejection.objects.filter(bulk_rejection=job).count() == 9
    assert not OrderItem.objects.filter(facility=store["here"], status="OPEN").exists()
    assert_inventory_invariant()


def test_a_run_that_lost_its_claim_stops_and_its_batch_rolls_back(store, django_capture_on_commit_callbacks):
    zombie = killed_run(store, after_batches=1)  # not dead after all: it stalled past the limit and was resumed
    with django_capture_on_commit_callbacks(execute=False):
        assert services.bulk_rejections_resume(stale_after=timedelta(0)).resumed == [zombie.pk]
    assert bulk_rejection_claim(bulk_rejection_id=zombie.pk) == 2  # the resumed run holds it now
    with pytest.raises(BulkRejectionTakenOver):
        facility_reject_all(facility=zombie.facility, from_status="OPEN", reason_code="INACTIVE_STORE", bulk_rejection=zombie)
    assert Rejection.objects.filter(bulk_rejection=zombie).count() == BATCH  # the stalled run's next batch rolled back
    assert_inventory_invariant()


def test_after_max_attempts_it_fails_and_a_manager_can_try_again(store, client, settings, django_capture_on_commit_callbacks):
    settings.BULK_REJECTION_MAX_ATTEMPTS = 2
    job = killed_run(store, after_batches=1)
    BulkRejection.objects.filter(pk=job.pk).update(attempts=2)  # its second run died too
    assert services.bulk_rejections_resume(stale_after=timedelta(0)).failed == [job.pk]
    job.refresh_from_db()
    assert job.state == Q.FAILED and "stopped 2 times" in job.error and job.finished_at

    client.force_login(store["associate"])
    body = client.get(reverse("bulk-rejection", args=[job.pk])).content.decode()
    assert "Reject All failed" in body and "stopped 2 times" in body and "Try again</button>" not in body
    assert "A store manager can try again" in body
    assert client.post(reverse("bulk-rejection-retry", args=[job.pk])).status_code == 403

    client.force_login(store["manager"])
    body = client.get(reverse("bulk-rejection", args=[job.pk])).content.decode()
    assert "Try again</button>" in body and "It stopped after 4 of 10 items" in body
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bulk-rejection-retry", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'hx-trigger="every 1s"' in response.content.decode()  # it polls again
    assert "Reject All finished" in client.get(reverse("bulk-rejection", args=[job.pk])).content.decode()
    job.refresh_from_db()
    assert (job.state, job.attempts, job.rejected_items, job.processed_items) == (Q.DONE, 1, 10, 10)
    assert Rejection.objects.filter(bulk_rejection=job).count() == 10

    again = client.post(reverse("bulk-rejection-retry", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and "nothing to try again" in again.content.decode()
    assert_inventory_invariant()


def test_a_run_that_raises_is_retried_then_failed_with_the_error(store, settings, django_capture_on_commit_callbacks):
    settings.BULK_REJECTION_MAX_ATTEMPTS = 3
    job = queued_job(store)
    RejectionReason.objects.filter(code="INACTIVE_STORE").update(is_active=False)  # switched off after the request
    with django_capture_on_commit_callbacks(execute=True):
        services.bulk_rejection_execute(bulk_rejection_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Q.FAILED, 3)
    assert "Unknown rejection reason “INACTIVE_STORE”" in job.error
    assert OrderItem.objects.filter(facility=store["here"], status="OPEN").count() == 10  # nothing half-done


def test_running_page_says_which_attempt(store, client):
    job = killed_run(store, after_batches=1)
    BulkRejection.objects.filter(pk=job.pk).update(attempts=2)
    client.force_login(store["manager"])
    body = client.get(reverse("bulk-rejection", args=[job.pk])).content.decode()
    assert re.search(r"4 of 10 items done \(running, attempt 2 of 3", body)


def test_a_queued_job_whose_task_was_lost_is_enqueued_again(store, django_capture_on_commit_callbacks):
    job = queued_job(store)
    BulkRejection.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.bulk_rejections_resume().resumed == [job.pk]
    job.refresh_from_db()
    assert (job.state, job.rejected_items) == (Q.DONE, 10)
    assert_inventory_invariant()


def test_resume_command_rejects_a_bad_limit(store):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="whole number of seconds"):
        call_command("resume_bulk_rejections", "--stale-after", "-5")


# -- two workers at once (PostgreSQL, real threads) ----------------------------------------------------------------
@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_sweeping_and_claiming_at_once_resume_and_run_a_job_once(store, settings):
    import threading

    from django.db import connection

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # enqueue stores a task; nothing runs
    job = killed_run(store, after_batches=1)
    BulkRejection.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    results, errors = {"resumed": [], "claims": []}, []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            results["resumed"] += services.bulk_rejections_resume().resumed
            barrier.wait()
            results["claims"].append(bulk_rejection_claim(bulk_rejection_id=job.pk))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert results["resumed"] == [job.pk]  # queued again once
    assert sorted(results["claims"]) == [0, 2]  # and claimed by exactly one of them, as its second attempt
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Q.RUNNING, 2)


# -- a dead worker's lease (PostgreSQL: the database releases it with the worker's connection) ----------------------
def claimed_on_another_connection(job_id, *, keep_alive: "threading.Event | None" = None):
    """Claim the job on a thread's own connection (a worker). Without `keep_alive` the connection closes at once, as a
    killed worker's does; with it, the thread holds the connection (and the lease) until the event is set."""
    import threading

    from django.db import connection

    claimed, attempt = threading.Event(), []

    def worker():
        try:
            attempt.append(bulk_rejection_claim(bulk_rejection_id=job_id))
            claimed.set()
            if keep_alive is not None:
                keep_alive.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    claimed.wait(30)
    if keep_alive is None:
        thread.join(30)
    return thread, attempt


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_killed_workers_job_is_resumed_at_the_next_sweep_not_after_the_stale_limit(store, django_capture_on_commit_callbacks):
    """After kill -9 of run_worker the page showed "running, 1000 of 3141" for about 2 minutes: the job waited for its
    heartbeat to be 120 s old. The lease is free the moment the worker's connection is gone."""
    job = queued_job(store)
    _, attempt = claimed_on_another_connection(job.pk)
    assert attempt == [1]
    job.refresh_from_db()
    assert job.state == Q.RUNNING and job.heartbeat_at > timezone.now() - timedelta(seconds=5)  # a fresh heartbeat

    with django_capture_on_commit_callbacks(execute=True):
        assert services.bulk_rejections_resume().resumed == [job.pk]  # default limit: 120 s

    job.refresh_from_db()
    assert (job.state, job.attempts, job.rejected_items) == (Q.DONE, 2, 10)
    assert_inventory_invariant()


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_live_workers_job_is_never_taken_from_it_however_old_its_heartbeat(store):
    import threading

    job = queued_job(store)
    alive = threading.Event()
    thread, attempt = claimed_on_another_connection(job.pk, keep_alive=alive)
    try:
        BulkRejection.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        assert services.bulk_rejections_resume(stale_after=timedelta(0)).resumed == []
        assert bulk_rejection_claim(bulk_rejection_id=job.pk) == 0  # a duplicate task does nothing either
    finally:
        alive.set()
        thread.join(30)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (Q.RUNNING, 1)


def test_the_page_says_paused_resuming_when_progress_stops(store, client, settings):
    settings.BULK_REJECTION_PAUSED_SECONDS = 5
    job = killed_run(store, after_batches=1)
    client.force_login(store["manager"])
    url = reverse("bulk-rejection", args=[job.pk])
    assert "Paused" not in client.get(url).content.decode()  # the last batch was just now

    BulkRejection.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=6))
    body = client.get(url).content.decode()
    assert re.search(r"4 of 10 items done \(paused — resuming", body)


def test_the_reject_all_task_lives_with_the_tasks_and_only_calls_its_service():
    from fulfillment import tasks

    assert tasks.bulk_rejection_run.module_path == "fulfillment.tasks.bulk_rejection_run"
