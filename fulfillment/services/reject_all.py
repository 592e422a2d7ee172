"""Reject All: every open or in-progress item of a facility, in batches, with a recorded summary (BulkRejection)."""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Facility

from ..errors import InvalidRequest, ItemConflict
from ..locks import job_lease_release, job_lease_take, job_leases_held, lock_items
from ..models import BulkRejection, Order, OrderItem, Rejection
from ..selectors import items_for_reject_all
from ..tasks import bulk_rejection_run
from . import batches
from .rejections import RejectionRequest, reason_get, rejections_apply

logger = logging.getLogger(__name__)
Status = OrderItem.Status
REJECTABLE_STATUSES = {"OPEN": Status.OPEN, "IN_PROGRESS": Status.IN_PROGRESS}


@dataclass
class RejectAllSummary:
    orders: int = 0
    items: int = 0
    rejected: int = 0
    parked: int = 0
    skipped: int = 0
    rerouted: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def rerouted_items(self) -> int:
        return sum(self.rerouted.values())



def _status_get(from_status: str) -> str:
    status = REJECTABLE_STATUSES.get(str(from_status).upper())
    if status is None:
        raise InvalidRequest(f"Unknown status “{from_status}”. Choose one of: open, in_progress.")
    return status


def facility_reject_all(
    *,
    facility: Facility,
    from_status: str,
    reason_code: str,
    user=None,
    order_names: Sequence[str] | None = None,
    stop_routing: bool = False,
    dry_run: bool = False,
    bulk_rejection: BulkRejection | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RejectAllSummary:
    """Reject every OPEN or IN_PROGRESS item at a facility (optionally only some orders) and re-route each.

    Works in batches of BATCH_SIZE items, each its own transaction with a constant number of queries. Items a colleague
    moved meanwhile are skipped and counted. `dry_run` does everything inside one transaction and rolls it back, so the
    figures are exactly what would happen. Policies (order split avoidance, cascades) do not apply: every matching item
    is being rejected already. `progress(done, total)`, when given, is called after each batch (a command's bar).
    """
    status = _status_get(from_status)
    reason = reason_get(reason_code)
    if order_names:
        known = set(Order.objects.filter(name__in=order_names).values_list("name", flat=True))
        unknown = [n for n in order_names if n not in known]
        if unknown:
            raise InvalidRequest(f"Unknown order(s): {', '.join(unknown)}.")
    summary = RejectAllSummary(dry_run=dry_run)
    rerouted: Counter[int] = Counter()
    resumed = bulk_rejection is not None and bulk_rejection.total_items > 0  # it set out before (see below)
    with transaction.atomic() if dry_run else nullcontext():
        if stop_routing and facility.allows_routing:
            Facility.objects.filter(pk=facility.pk).update(allows_routing=False)
            facility.allows_routing = False
        # What it sets out to reject: the matching items as they were when it started (`set_out_at`; a job's
        # started_at). Rather than a list of ids, the query itself: an item that moves or changes status gets a later
        # status_changed_at, so the query drops it (skipped) and never takes in one that came here meanwhile. Read in
        # keyset batches (batches.keyset): memory does not grow with the number of items.
        set_out_at = (bulk_rejection.started_at if bulk_rejection is not None else None) or timezone.now()
        items = items_for_reject_all(facility=facility, from_status=status, order_names=order_names).filter(
            status_changed_at__lte=set_out_at
        )
        if resumed:  # goes on with what is left of it; the counters committed with the last batch
            processed = bulk_rejection.processed_items
            summary.items, summary.orders = bulk_rejection.total_items, bulk_rejection.total_orders
            summary.rejected, summary.parked = bulk_rejection.rejected_items, bulk_rejection.parked_items
            summary.skipped = bulk_rejection.skipped_items
            if bulk_rejection.rerouted:
                ids = dict(Facility.objects.filter(code__in=list(bulk_rejection.rerouted)).values_list("code", "pk"))
                rerouted.update({ids[code]: n for code, n in bulk_rejection.rerouted.items()})
        else:
            processed = 0
            if bulk_rejection is None:
                counts = items.aggregate(items=Count("pk"), orders=Count("order_id", distinct=True))
                summary.items, summary.orders = counts["items"], counts["orders"]
            else:  # the ids it sets out with and their counts, by the database in one statement (never loaded here)
                bulk_rejection.started_at = set_out_at
                _bulk_progress_save(bulk_rejection, started_at=set_out_at, **_work_list(items))
                summary.items, summary.orders = BulkRejection.objects.values_list("total_items", "total_orders").get(
                    pk=bulk_rejection.pk
                )
                bulk_rejection.total_items, bulk_rejection.total_orders = summary.items, summary.orders
        for batch in batches.keyset(items):
            with transaction.atomic():
                locked = lock_items(batch)
                # a batch re-run after a crash: what this job already rejected is neither rejected again nor skipped
                done = _rejected_by(bulk_rejection, batch) if resumed else set()
                valid = [i for i in locked if i.facility_id == facility.pk and i.status == status and i.pk not in done]
                summary.skipped += len(batch) - len(valid) - len(done)
                outcomes = rejections_apply(
                    facility=facility, requests=[RejectionRequest(i, i.quantity, reason) for i in valid], comment="Reject All",
                    user=user, bulk=bulk_rejection,
                ) if valid else []
                for _, _, plan in outcomes:
                    if plan.allocations:
                        rerouted[plan.allocations[0][0]] += 1
                    else:
                        summary.parked += 1
                summary.rejected += len(outcomes)
                processed += len(batch)
                if bulk_rejection is not None:  # counters and heartbeat commit with the batch, or not at all
                    _bulk_progress_save(
                        bulk_rejection, processed_items=processed, rejected_items=summary.rejected, parked_items=summary.parked,
                        skipped_items=summary.skipped, rerouted=batches.counts_by_facility_code(rerouted),
                    )
            if progress is not None:
                progress(processed, summary.items)
        if processed < summary.items:  # the items that moved before their batch came: skipped, as those moved in one
            summary.skipped += summary.items - processed
            processed = summary.items
            if bulk_rejection is not None:
                _bulk_progress_save(bulk_rejection, processed_items=processed, skipped_items=summary.skipped)
            if progress is not None:
                progress(processed, summary.items)
        summary.rerouted = batches.counts_by_facility_code(rerouted)
        if dry_run:
            transaction.set_rollback(True)
    return summary


class BulkRejectionTakenOver(Exception):
    """This run's claim is gone (the job was resumed by another worker after its heartbeat went stale): stop here."""


def _bulk_progress_save(bulk_rejection: BulkRejection, **fields) -> None:
    """Progress and heartbeat of the run holding the claim (fenced by its attempt number); another run's claim stops it."""
    record = BulkRejection.objects.filter(pk=bulk_rejection.pk)
    if bulk_rejection.attempts:  # claimed by a worker (bulk_rejection_claim); a record passed in directly is not fenced
        record = record.filter(state=BulkRejection.State.RUNNING, attempts=bulk_rejection.attempts)
    updated = record.update(heartbeat_at=timezone.now(), **fields)
    if not updated:
        raise BulkRejectionTakenOver(f"Reject All {bulk_rejection.pk}: attempt {bulk_rejection.attempts} no longer holds the job")


def _work_list(items) -> dict[str, RawSQL]:
    """The fields of a job's work list, computed by the database in the UPDATE that records them (one snapshot, so the
    counts are those of the list): `item_ids` (a JSON array in pk order), `total_items` and `total_orders`."""
    sql, params = items.order_by().values(work_id=F("pk"), work_order=F("order_id")).query.sql_with_params()
    if connection.vendor == "postgresql":
        ids = f"SELECT COALESCE(jsonb_agg(s.work_id ORDER BY s.work_id), '[]'::jsonb) FROM ({sql}) s"
    else:
        ids = f"SELECT json_group_array(s.work_id) FROM (SELECT work_id FROM ({sql}) ORDER BY work_id) s"
    return {
        "item_ids": RawSQL(ids, params),
        "total_items": RawSQL(f"SELECT COUNT(*) FROM ({sql}) s", params),
        "total_orders": RawSQL(f"SELECT COUNT(DISTINCT s.work_order) FROM ({sql}) s", params),
    }


def _rejected_by(bulk_rejection: BulkRejection, item_ids: Sequence[int]) -> set[int]:
    return set(
        Rejection.objects.filter(bulk_rejection=bulk_rejection, order_item_id__in=item_ids).values_list("order_item_id", flat=True)
    )


def bulk_rejection_request(*, facility: Facility, from_status: str, reason_code: str, user, stop_routing: bool = False) -> BulkRejection:
    """Record a Reject All and enqueue its job once the record is committed (the immediate backend runs it then)."""
    status = _status_get(from_status)
    reason = reason_get(reason_code)
    with transaction.atomic():
        bulk = BulkRejection.objects.create(
            facility=facility, from_status=status, reason=reason, requested_by=user if getattr(user, "pk", None) else None,
            stop_routing=stop_routing, heartbeat_at=timezone.now(),
        )
        transaction.on_commit(partial(bulk_rejection_run.enqueue, bulk.pk))
    bulk.refresh_from_db()  # with the immediate backend the job has run by now
    return bulk


def bulk_rejection_claim(*, bulk_rejection_id: int) -> int:
    """QUEUED -> RUNNING, only if it is still queued: of two workers handed the same job, exactly one runs it.

    Returns the attempt number this claim holds (0: not claimed). The attempt number fences every later write of the run.
    The claim first takes the job's lease (PostgreSQL: an advisory lock on this connection, `locks.job_lease_take`) and
    keeps it for the run: a RUNNING job always has its lease held unless its worker is gone.
    """
    if not job_lease_take(bulk_rejection_id):
        return 0  # a live worker runs it
    now = timezone.now()
    with transaction.atomic():
        claimed = BulkRejection.objects.filter(pk=bulk_rejection_id, state=BulkRejection.State.QUEUED).update(
            state=BulkRejection.State.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now,
            started_at=Coalesce("started_at", Value(now)),
        )
        attempt = BulkRejection.objects.values_list("attempts", flat=True).get(pk=bulk_rejection_id) if claimed else 0
    if not attempt:
        job_lease_release(bulk_rejection_id)
    return attempt


def bulk_rejection_execute(*, bulk_rejection_id: int) -> BulkRejection:
    """Run (or resume) a recorded Reject All (called by the task); its record keeps progress and the final summary.

    A run that raises is queued again until it has had BULK_REJECTION_MAX_ATTEMPTS attempts, then marked FAILED with the
    error. A run whose worker dies keeps RUNNING with a stale heartbeat: `bulk_rejections_resume` queues it again.
    """
    attempt = bulk_rejection_claim(bulk_rejection_id=bulk_rejection_id)
    if not attempt:  # already running, done or failed
        return BulkRejection.objects.get(pk=bulk_rejection_id)
    bulk = BulkRejection.objects.select_related("facility", "reason", "requested_by").defer("item_ids").get(pk=bulk_rejection_id)
    mine = BulkRejection.objects.filter(pk=bulk.pk, state=BulkRejection.State.RUNNING, attempts=attempt)
    leased = True
    try:
        facility_reject_all(
            facility=bulk.facility, from_status=bulk.from_status, reason_code=bulk.reason.code, user=bulk.requested_by,
            order_names=bulk.order_names or None, stop_routing=bulk.stop_routing, bulk_rejection=bulk,
        )
    except BulkRejectionTakenOver:
        logger.warning("Reject All %s: attempt %s was taken over by a resumed run", bulk.pk, attempt)
    except Exception as exc:  # recorded for the manager and logged; the batches already committed stay committed
        logger.exception("Reject All %s failed (attempt %s)", bulk.pk, attempt)
        message = getattr(exc, "message", None) or "An unexpected error stopped it; the operations team has the details."
        if attempt < settings.BULK_REJECTION_MAX_ATTEMPTS:
            job_lease_release(bulk.pk)  # before it is queued again: the next claim takes the lease
            leased = False
            with transaction.atomic():
                if mine.update(state=BulkRejection.State.QUEUED, error=message[:2000], heartbeat_at=timezone.now()):
                    transaction.on_commit(partial(bulk_rejection_run.enqueue, bulk.pk))
        else:
            mine.update(state=BulkRejection.State.FAILED, error=message[:2000], finished_at=timezone.now())
    else:
        mine.update(state=BulkRejection.State.DONE, error="", finished_at=timezone.now(), heartbeat_at=timezone.now())
    finally:
        if leased:
            job_lease_release(bulk.pk)
    bulk.refresh_from_db()
    return bulk


@dataclass
class ResumeSummary:
    resumed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def bulk_rejections_resume(*, stale_after: timedelta | None = None) -> ResumeSummary:
    """Queue again every Reject All that lost its worker: on PostgreSQL a RUNNING job whose lease nobody holds (the
    database released it when the worker's connection went away), elsewhere one whose heartbeat is older than
    `stale_after` (BULK_REJECTION_STALE_AFTER).

    A RUNNING job with a free lease or a stale heartbeat lost its worker (killed, out of memory, a deploy, the database gone): it is
    queued again and goes on after its last committed batch; one that has had its BULK_REJECTION_MAX_ATTEMPTS attempts
    is marked FAILED instead. A QUEUED job that waited that long is enqueued again (its task may have been lost; a
    duplicate is harmless: only one claim succeeds). Each change is conditional, so two workers sweeping at once
    resume a job once. The next worker start and `manage.py resume_bulk_rejections` call this.
    """
    stale_after = stale_after if stale_after is not None else timedelta(seconds=settings.BULK_REJECTION_STALE_AFTER)
    cutoff = timezone.now() - stale_after
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    live = BulkRejection.objects.filter(state__in=[BulkRejection.State.QUEUED, BulkRejection.State.RUNNING])
    running = dict(live.filter(state=BulkRejection.State.RUNNING).values_list("pk", "attempts"))
    held = job_leases_held(running)  # None: no leases here (SQLite), the heartbeat decides
    if held is None:
        lost = live.filter(stale)
    else:  # a RUNNING job is lost exactly when its lease is free (the run seen then: same attempt); a QUEUED one when
        # it waited too long
        lost = live.filter(Q(stale, state=BulkRejection.State.QUEUED))
        for pk in running.keys() - held:
            lost |= live.filter(pk=pk, state=BulkRejection.State.RUNNING, attempts=running[pk])
    summary = ResumeSummary()
    for pk, state, attempts in lost.order_by("pk").values_list("pk", "state", "attempts"):
        unchanged = live.filter(pk=pk, state=state, attempts=attempts)
        with transaction.atomic():
            if state == BulkRejection.State.RUNNING and attempts >= settings.BULK_REJECTION_MAX_ATTEMPTS:
                if unchanged.update(
                    state=BulkRejection.State.FAILED, finished_at=timezone.now(),
                    error=f"It stopped {attempts} times before finishing (its worker was stopped or lost the database). "
                    "Everything up to the last saved batch is done; Try again goes on from there.",
                ):
                    summary.failed.append(pk)
            elif unchanged.update(state=BulkRejection.State.QUEUED, heartbeat_at=timezone.now()):
                transaction.on_commit(partial(bulk_rejection_run.enqueue, pk))
                summary.resumed.append(pk)
    for pk in summary.resumed:
        logger.warning("Reject All %s resumed (its worker is gone)", pk)
    return summary


def bulk_rejection_retry(*, bulk_rejection_id: int, facility: Facility) -> BulkRejection:
    """A manager's **Try again** on a FAILED Reject All: queued again with fresh attempts, going on after its last batch."""
    with transaction.atomic():
        queued = BulkRejection.objects.filter(pk=bulk_rejection_id, facility=facility, state=BulkRejection.State.FAILED).update(
            state=BulkRejection.State.QUEUED, attempts=0, error="", finished_at=None, heartbeat_at=timezone.now()
        )
        if not queued:
            raise ItemConflict("This Reject All has not failed (it is queued, running or finished already), so there is nothing to try again.")
        transaction.on_commit(partial(bulk_rejection_run.enqueue, bulk_rejection_id))
    return BulkRejection.objects.select_related("reason", "requested_by").defer("item_ids").get(pk=bulk_rejection_id)
