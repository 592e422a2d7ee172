"""Reject All: every open or in-progress item of a facility, in batches, with a recorded summary (BulkRejection)."""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from inventory.models import Facility

from ..errors import InvalidRequest
from ..locks import lock_items
from ..models import BulkRejection, Order, OrderItem
from ..selectors import items_for_reject_all
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
    with transaction.atomic() if dry_run else nullcontext():
        if stop_routing and facility.allows_routing:
            Facility.objects.filter(pk=facility.pk).update(allows_routing=False)
            facility.allows_routing = False
        item_ids = list(
            items_for_reject_all(facility=facility, from_status=status, order_names=order_names).order_by("pk").values_list("pk", flat=True)
        )
        summary.items = len(item_ids)
        summary.orders = (
            items_for_reject_all(facility=facility, from_status=status, order_names=order_names).values("order_id").distinct().count()
            if item_ids else 0
        )
        if bulk_rejection is not None:
            BulkRejection.objects.filter(pk=bulk_rejection.pk).update(total_items=summary.items, total_orders=summary.orders)
        rerouted: Counter[int] = Counter()
        processed = 0
        for batch in batches.chunks(item_ids):
            with transaction.atomic():
                locked = lock_items(batch)
                valid = [i for i in locked if i.facility_id == facility.pk and i.status == status]
                summary.skipped += len(batch) - len(valid)
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
                if bulk_rejection is not None:
                    BulkRejection.objects.filter(pk=bulk_rejection.pk).update(
                        processed_items=processed, rejected_items=summary.rejected, parked_items=summary.parked,
                        skipped_items=summary.skipped, rerouted=batches.counts_by_facility_code(rerouted),
                    )
            if progress is not None:
                progress(processed, summary.items)
        summary.rerouted = batches.counts_by_facility_code(rerouted)
        if dry_run:
            transaction.set_rollback(True)
    return summary


def bulk_rejection_request(*, facility: Facility, from_status: str, reason_code: str, user, stop_routing: bool = False) -> BulkRejection:
    """Record a Reject All and enqueue its job once the record is committed (the immediate backend runs it then)."""
    status = _status_get(from_status)
    reason = reason_get(reason_code)
    with transaction.atomic():
        bulk = BulkRejection.objects.create(
            facility=facility, from_status=status, reason=reason, requested_by=user if getattr(user, "pk", None) else None,
            stop_routing=stop_routing,
        )
        transaction.on_commit(partial(bulk_rejection_run.enqueue, bulk.pk))
    bulk.refresh_from_db()  # with the immediate backend the job has run by now
    return bulk


def bulk_rejection_claim(*, bulk_rejection_id: int) -> bool:
    """QUEUED -> RUNNING, only if it is still queued: of two workers handed the same job, exactly one runs it."""
    return bool(
        BulkRejection.objects.filter(pk=bulk_rejection_id, state=BulkRejection.State.QUEUED).update(
            state=BulkRejection.State.RUNNING, started_at=timezone.now()
        )
    )


def bulk_rejection_execute(*, bulk_rejection_id: int) -> BulkRejection:
    """Run a recorded Reject All (called by the task); its record keeps progress and the final summary."""
    if not bulk_rejection_claim(bulk_rejection_id=bulk_rejection_id):  # already running, done or failed
        return BulkRejection.objects.get(pk=bulk_rejection_id)
    bulk = BulkRejection.objects.select_related("facility", "reason", "requested_by").get(pk=bulk_rejection_id)
    try:
        facility_reject_all(
            facility=bulk.facility, from_status=bulk.from_status, reason_code=bulk.reason.code, user=bulk.requested_by,
            order_names=bulk.order_names or None, stop_routing=bulk.stop_routing, bulk_rejection=bulk,
        )
    except Exception as exc:  # recorded for the manager and logged; the batches already committed stay committed
        logger.exception("Reject All %s failed", bulk.pk)
        message = getattr(exc, "message", None) or "An unexpected error stopped it; the operations team has the details."
        BulkRejection.objects.filter(pk=bulk.pk).update(
            state=BulkRejection.State.FAILED, error=message[:2000], finished_at=timezone.now()
        )
        bulk.refresh_from_db()
        return bulk
    BulkRejection.objects.filter(pk=bulk.pk).update(state=BulkRejection.State.DONE, finished_at=timezone.now())
    bulk.refresh_from_db()
    return bulk



@task()
def bulk_rejection_run(bulk_rejection_id: int) -> int:
    """The Reject All job (django.tasks): the immediate backend in development and tests, django-tasks-db in production."""
    return bulk_rejection_execute(bulk_rejection_id=bulk_rejection_id).rejected_items
