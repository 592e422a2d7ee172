"""Placing items by the routing rules: the shared placement step, and routing parked (UNROUTED) items again."""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inventory.bulk import bulk_update_rows
from inventory.models import Facility, Product
from inventory.services import inventory_book_open, inventory_count_set, inventory_receive
from routing.engine import Demand, Plan
from routing.models import RoutingDecision
from routing.services import RoutingSession, decisions_record, routing_session_open

from ..locks import lock_items
from ..models import OrderItem, Rejection
from . import batches
from .reports import routed_units_add

Status = OrderItem.Status


@dataclass
class RouteSummary:
    routed: int = 0
    parked: int = 0
    rerouted: dict[str, int] = field(default_factory=dict)


def _rejection_history(items: Sequence[OrderItem]) -> dict[int, dict[int, date]]:
    """{item id: {facility id: day it rejected the item}}, including rejections of the line it was split from."""
    origin = {item.pk: item.split_from_id for item in items}
    lookup_ids = set(origin) | {pk for pk in origin.values() if pk}
    by_item: dict[int, dict[int, date]] = defaultdict(dict)
    for item_id, facility_id, created_at in Rejection.objects.filter(order_item_id__in=lookup_ids).values_list(
        "order_item_id", "facility_id", "created_at"
    ):
        by_item[item_id].setdefault(facility_id, created_at.date())
    history = {}
    for item in items:
        merged = dict(by_item.get(item.split_from_id, {})) if item.split_from_id else {}
        merged.update(by_item.get(item.pk, {}))
        history[item.pk] = merged
    return history


def _demand(item: OrderItem, history: dict[int, date], just_rejected: int | None) -> Demand:
    order = item.order
    return Demand(
        key=item.pk,
        product_id=item.product_id,
        quantity=item.quantity,
        shipping_method=order.shipping_method,
        latitude=order.ship_to_latitude,
        longitude=order.ship_to_longitude,
        pickup_facility_id=order.pickup_facility_id,
        rejected_on=history,
        just_rejected_facility_id=just_rejected,
        reference=f"{order.name} item {item.pk}",
    )


def items_place(
    *, session: RoutingSession, items: Sequence[OrderItem], trigger: str, just_rejected: int | None = None
) -> list[Plan]:
    """Route each item (already locked) and write the outcome: item rows, split parts, routing decisions."""
    now = timezone.now()
    history = _rejection_history(items)
    if just_rejected is not None:
        today = now.date()
        for h in history.values():
            h.setdefault(just_rejected, today)
    plans, split_parts = [], []
    for item in items:
        plan = session.route(_demand(item, history[item.pk], just_rejected))
        plans.append(plan)
        item.status_changed_at = now
        if plan.allocations:
            (first_facility, first_qty), *rest = plan.allocations
            item.facility_id, item.quantity, item.status, item.parked_reason = first_facility, first_qty, Status.OPEN, ""
            for facility_id, qty in rest:
                split_parts.append(
                    OrderItem(order_id=item.order_id, product_id=item.product_id, quantity=qty, facility_id=facility_id,
                              status=Status.OPEN, split_from=item, status_changed_at=now)
                )
        else:
            item.facility_id, item.status, item.parked_reason = None, Status.UNROUTED, plan.summary
    if items:
        bulk_update_rows(OrderItem, items, ["facility", "quantity", "status", "parked_reason", "status_changed_at"])
    if split_parts:
        OrderItem.objects.bulk_create(split_parts, batch_size=1000)
    decisions_record(session=session, plans=[(item.pk, plan) for item, plan in zip(items, plans)], trigger=trigger)
    routed_units_add(session=session, items=items, plans=plans)
    return plans



# -- routing parked items -----------------------------------------------------------------------------------------
def items_route(
    *, facility: Facility | None = None, item_ids: Iterable[int] | None = None, product_ids: Iterable[int] | None = None,
    trigger: str = RoutingDecision.Trigger.ROUTE_ORDERS,
    progress: Callable[[int, int], None] | None = None,
) -> RouteSummary:
    """Route UNROUTED items again, in batches. `facility`: only items rejected at it or to be picked up there.
    `progress(done, total)`, when given, is called after each batch."""
    items = OrderItem.objects.filter(status=Status.UNROUTED)
    if item_ids is not None:
        items = items.filter(pk__in=list(item_ids))
    if product_ids is not None:
        items = items.filter(product_id__in=list(product_ids))
    if facility is not None:
        items = items.filter(Q(rejections__facility=facility) | Q(order__pickup_facility=facility)).distinct()
    ids = list(items.order_by("pk").values_list("pk", flat=True))
    summary = RouteSummary()
    rerouted: Counter[int] = Counter()
    done = 0
    for batch in batches.chunks(ids):
        if progress is not None and done:
            progress(done, len(ids))
        done += len(batch)
        with transaction.atomic():
            locked = [i for i in lock_items(batch) if i.status == Status.UNROUTED]
            if not locked:
                continue
            book = inventory_book_open(product_ids={i.product_id for i in locked})
            session = routing_session_open(book=book)
            plans = items_place(session=session, items=locked, trigger=trigger)
            book.flush()
            session.close()
            for plan in plans:
                if plan.allocations:
                    summary.routed += 1
                    rerouted[plan.allocations[0][0]] += 1
                else:
                    summary.parked += 1
    if progress is not None:
        progress(len(ids), len(ids))
    summary.rerouted = batches.counts_by_facility_code(rerouted)
    return summary


def stock_receive(*, facility: Facility, product: Product, quantity: int, user=None, reference: str = ""):
    """Receive stock, then give the product's parked items another chance at once (two transactions)."""
    level = inventory_receive(facility=facility, product=product, quantity=quantity, user=user, reference=reference)
    summary = items_route(product_ids=[product.pk], trigger=RoutingDecision.Trigger.RECEIPT)
    if summary.routed:
        level.refresh_from_db()  # the routing just reserved some of what arrived: return the level as it is now
    return level, summary


def stock_counts_set(
    *, counts: Sequence[tuple[Facility, Product, int]], user=None, reference: str = ""
) -> RouteSummary:
    """Set counted quantities (all in one transaction), then route the counted products' parked items.

    The routing runs in its own transaction after the counts commit, so the lock order (items before levels) holds.
    """
    with transaction.atomic():
        for facility, product, quantity_on_hand in counts:
            inventory_count_set(facility=facility, product=product, quantity_on_hand=quantity_on_hand, user=user, reference=reference)
    return items_route(product_ids=sorted({product.pk for _, product, _ in counts}), trigger=RoutingDecision.Trigger.RECEIPT)

