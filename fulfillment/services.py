"""Every write of the fulfillment app: orders, picking, rejections (single and all), routing of parked items.

All paths that move items share one set-based core (`_items_reject` / `_items_place`): a single rejection is a batch
of one, so it costs the same constant number of queries as one batch of a Reject All.
Lock order in every transaction: order items (pk order), then inventory levels of their products (pk order), then the
day's load counters of limited facilities.
"""

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inventory.models import Facility, Product
from inventory.bulk import bulk_update_rows
from inventory.services import InventoryBook, inventory_book_open, inventory_count_set, inventory_receive
from routing.engine import Demand, Plan
from routing.models import RoutingDecision
from routing.services import RoutingSession, decisions_record, routing_session_open

from .errors import InvalidRequest, ItemConflict
from .locks import lock_items
from .models import BulkRejection, Order, OrderItem, Rejection, RejectionReason, ShippingMethod
from .selectors import collateral_item_ids, items_for_reject_all, rejection_policy_for, rest_of_line_reason

logger = logging.getLogger(__name__)
Status = OrderItem.Status
BATCH_SIZE = 500
REJECTABLE_STATUSES = {"OPEN": Status.OPEN, "IN_PROGRESS": Status.IN_PROGRESS}


# -- results -------------------------------------------------------------------------------------------------------
@dataclass
class RejectionResult:
    rejection: Rejection
    item: OrderItem
    routed_to: Facility | None
    message: str
    collateral: list["RejectionResult"] = field(default_factory=list)


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


@dataclass
class RouteSummary:
    routed: int = 0
    parked: int = 0
    rerouted: dict[str, int] = field(default_factory=dict)


def _chunks(ids: Sequence[int], size: int | None = None) -> Iterable[Sequence[int]]:
    size = size or BATCH_SIZE  # read at call time, so tests can patch BATCH_SIZE
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _by_code(per_facility: Counter[int]) -> dict[str, int]:
    """{facility id: n} -> {facility code: n}, sorted by code (one query)."""
    if not per_facility:
        return {}
    codes = dict(Facility.objects.filter(pk__in=per_facility).values_list("pk", "code"))
    return dict(sorted((codes[f], n) for f, n in per_facility.items()))


def _reason_get(code: str, *, selectable_only: bool = False) -> RejectionReason:
    reasons = RejectionReason.objects.filter(is_active=True)
    if selectable_only:
        reasons = reasons.filter(is_system=False)
    reason = reasons.filter(code=code).first()
    if reason is None:
        valid = ", ".join(reasons.values_list("code", flat=True))
        raise InvalidRequest(f"Unknown rejection reason “{code}”. Choose one of: {valid}.")
    return reason


# -- the shared core: place items by routing, reject items --------------------------------------------------------
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


def _items_place(
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
    return plans


@dataclass
class _ToReject:
    item: OrderItem
    quantity: int
    reason: RejectionReason


def _items_reject(
    *, facility: Facility, requests: Sequence[_ToReject], comment: str, user, bulk: BulkRejection | None = None
) -> list[tuple[Rejection, OrderItem, Plan]]:
    """Reject locked, validated items at `facility`: release + reason effect, then re-route each at once."""
    now = timezone.now()
    rejected_items: list[OrderItem] = []
    for req in requests:
        item = req.item
        if req.quantity < item.quantity:  # a partial rejection splits the line: the rest stays here as it was
            part = OrderItem.objects.create(
                order=item.order, product=item.product, quantity=req.quantity, facility_id=item.facility_id,
                status=item.status, split_from=item, status_changed_at=now,
            )
            item.quantity -= req.quantity
            OrderItem.objects.filter(pk=item.pk).update(quantity=item.quantity)
            rejected_items.append(part)
        else:
            rejected_items.append(item)
    book = inventory_book_open(
        product_ids={i.product_id for i in rejected_items}, user=user,
        ensure={(facility.pk, i.product_id) for i in rejected_items},
    )
    for req, item in zip(requests, rejected_items):
        book.reject(
            facility.pk, item.product_id, item.quantity, effect=req.reason.inventory_effect, reason_code=req.reason.code,
            reserved=True, reference=f"{item.order.name} item {item.pk}",
        )
    session = routing_session_open(book=book)
    plans = _items_place(session=session, items=rejected_items, trigger=RoutingDecision.Trigger.REJECTION, just_rejected=facility.pk)
    rejections = Rejection.objects.bulk_create(
        [
            Rejection(
                order_item=item, facility=facility, reason=req.reason, quantity=item.quantity, comment=comment[:500],
                rejected_by=user if getattr(user, "pk", None) else None, routed_to_id=plan.facility_id, bulk_rejection=bulk,
            )
            for req, item, plan in zip(requests, rejected_items, plans)
        ],
        batch_size=1000,
    )
    book.flush()
    session.close()
    return list(zip(rejections, rejected_items, plans))


def _where_it_went(item: OrderItem, plan: Plan, facilities: dict[int, Facility]) -> str:
    what = f"{item.quantity} × {item.product.name} ({item.order.name})"
    if not plan.allocations:
        return f"Rejected {what}. No facility can take it: parked for the operations team."
    places = ", ".join(f"{facilities[f].name} ({q})" for f, q in plan.allocations)
    return f"Rejected {what}. Re-routed to {places}."


# -- single rejection -------------------------------------------------------------------------------------------
def _conflict_message(item: OrderItem, facility: Facility) -> str:
    if item.status == Status.COMPLETED:
        return f"{item.order.name}: this item was already completed; it can no longer be rejected."
    if item.status == Status.CANCELLED:
        return f"{item.order.name}: this item was cancelled."
    if item.facility_id != facility.pk or item.status == Status.UNROUTED:
        return f"{item.order.name}: this item is no longer at {facility.name} — someone already rejected or moved it."
    return f"{item.order.name}: this item cannot be rejected in its current state ({item.get_status_display()})."


def item_reject(
    *, facility: Facility, item_id: int, reason_code: str, quantity: int | None = None, comment: str = "", user=None
) -> RejectionResult:
    """Reject one item (or part of its line) at `facility` and re-route it at once. One transaction."""
    reason = _reason_get(reason_code, selectable_only=True)
    peek = OrderItem.objects.filter(pk=item_id).select_related("order").first()
    if peek is None:
        raise InvalidRequest("That item does not exist.")
    policy = rejection_policy_for(facility)
    collateral = collateral_item_ids(item=peek, reason_code=reason.code, policy=policy) if peek.facility_id == facility.pk else {}
    with transaction.atomic():
        locked = {item.pk: item for item in lock_items([item_id, *collateral])}
        item = locked[item_id]
        if item.facility_id != facility.pk or item.status not in OrderItem.REJECTABLE:
            raise ItemConflict(_conflict_message(item, facility))
        qty = item.quantity if quantity is None else quantity
        if not 1 <= qty <= item.quantity:
            raise InvalidRequest(f"Quantity must be between 1 and {item.quantity}.")
        requests = [_ToReject(item, qty, reason)]
        # A partial quantity leaves the rest of the line here, unless a policy moves it too (with its system reason).
        rest_code = rest_of_line_reason(item=item, reason_code=reason.code, policy=policy) if qty < item.quantity else None
        system_reasons = {
            r.code: r for r in RejectionReason.objects.filter(code__in=set(collateral.values()) | {rest_code} - {None})
        }
        if rest_code in system_reasons:
            requests.append(_ToReject(item, item.quantity - qty, system_reasons[rest_code]))
        for pk, code in sorted(collateral.items()):
            other = locked.get(pk)
            if other and other.facility_id == facility.pk and other.status in OrderItem.REJECTABLE and code in system_reasons:
                requests.append(_ToReject(other, other.quantity, system_reasons[code]))
        outcomes = _items_reject(facility=facility, requests=requests, comment=comment, user=user)
        main_rejection = outcomes[0][0]
        if len(outcomes) > 1:
            Rejection.objects.filter(pk__in=[r.pk for r, _, _ in outcomes[1:]]).update(caused_by=main_rejection)
    facilities = Facility.objects.in_bulk({f for _, _, plan in outcomes for f, _ in plan.allocations})
    results = [
        RejectionResult(rejection=r, item=i, routed_to=facilities.get(p.facility_id), message=_where_it_went(i, p, facilities))
        for r, i, p in outcomes
    ]
    main, *others = results
    main.collateral = others
    if others:
        main.message += f" {len(others)} other item(s) here were rejected with it by the store's policy."
    return main


# -- Reject All -------------------------------------------------------------------------------------------------
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
    reason = _reason_get(reason_code)
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
        for batch in _chunks(item_ids):
            with transaction.atomic():
                locked = lock_items(batch)
                valid = [i for i in locked if i.facility_id == facility.pk and i.status == status]
                summary.skipped += len(batch) - len(valid)
                outcomes = _items_reject(
                    facility=facility, requests=[_ToReject(i, i.quantity, reason) for i in valid], comment="Reject All",
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
                        skipped_items=summary.skipped, rerouted=_by_code(rerouted),
                    )
            if progress is not None:
                progress(processed, summary.items)
        summary.rerouted = _by_code(rerouted)
        if dry_run:
            transaction.set_rollback(True)
    return summary


def bulk_rejection_request(*, facility: Facility, from_status: str, reason_code: str, user, stop_routing: bool = False) -> BulkRejection:
    """Record a Reject All and hand it to the task queue (it runs at once with the immediate backend)."""
    from .tasks import bulk_rejection_run

    status = _status_get(from_status)
    reason = _reason_get(reason_code)
    bulk = BulkRejection.objects.create(
        facility=facility, from_status=status, reason=reason, requested_by=user if getattr(user, "pk", None) else None,
        stop_routing=stop_routing,
    )
    bulk_rejection_run.enqueue(bulk.pk)
    bulk.refresh_from_db()
    return bulk


def bulk_rejection_execute(*, bulk_rejection_id: int) -> BulkRejection:
    """Run a recorded Reject All (called by the task); its record keeps progress and the final summary."""
    bulk = BulkRejection.objects.select_related("facility", "reason", "requested_by").get(pk=bulk_rejection_id)
    if bulk.state not in (BulkRejection.State.QUEUED,):
        return bulk
    BulkRejection.objects.filter(pk=bulk.pk).update(state=BulkRejection.State.RUNNING, started_at=timezone.now())
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
    for batch in _chunks(ids):
        if progress is not None and done:
            progress(done, len(ids))
        done += len(batch)
        with transaction.atomic():
            locked = [i for i in lock_items(batch) if i.status == Status.UNROUTED]
            if not locked:
                continue
            book = inventory_book_open(product_ids={i.product_id for i in locked})
            session = routing_session_open(book=book)
            plans = _items_place(session=session, items=locked, trigger=trigger)
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
    summary.rerouted = _by_code(rerouted)
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


# -- orders and picking ---------------------------------------------------------------------------------------------
@transaction.atomic
def order_create(
    *,
    name: str,
    customer_name: str,
    shipping_method: str,
    ship_to_latitude: float,
    ship_to_longitude: float,
    lines: Sequence[tuple[Product, int]],
    customer_email: str = "",
    ship_to_address: str = "",
    ship_to_city: str = "",
    ship_to_postal_code: str = "",
    pickup_facility: Facility | None = None,
    placed_at=None,
) -> Order:
    """Create an order and route its items at once."""
    if shipping_method not in ShippingMethod.values:
        raise InvalidRequest(f"Unknown shipping method “{shipping_method}”. Choose one of: {', '.join(ShippingMethod.values)}.")
    if not lines:
        raise InvalidRequest("An order needs at least one line.")
    if any(qty < 1 for _, qty in lines):
        raise InvalidRequest("Every line needs a quantity of at least 1.")
    if shipping_method == ShippingMethod.STORE_PICKUP:
        if pickup_facility is None:
            raise InvalidRequest("A store pickup order needs a pickup store.")
        if not pickup_facility.allows_pickup:
            raise InvalidRequest(f"{pickup_facility.name} does not offer store pickup.")
    else:
        pickup_facility = None
    if Order.objects.filter(name=name).exists():
        raise InvalidRequest(f"An order named {name} already exists.")
    order = Order.objects.create(
        name=name, customer_name=customer_name, customer_email=customer_email, shipping_method=shipping_method,
        ship_to_address=ship_to_address, ship_to_city=ship_to_city, ship_to_postal_code=ship_to_postal_code,
        ship_to_latitude=ship_to_latitude, ship_to_longitude=ship_to_longitude, pickup_facility=pickup_facility,
        placed_at=placed_at or timezone.now(),
    )
    items = OrderItem.objects.bulk_create(
        [OrderItem(order=order, product=product, quantity=qty, status=Status.UNROUTED) for product, qty in lines]
    )
    for item in items:
        item.order = order
    book = inventory_book_open(product_ids={p.pk for p, _ in lines})
    session = routing_session_open(book=book)
    _items_place(session=session, items=items, trigger=RoutingDecision.Trigger.ORDER_CREATED)
    book.flush()
    session.close()
    return order


@transaction.atomic
def orders_start_picking(*, facility: Facility, order_ids: Iterable[int], user=None) -> int:
    """Move the facility's OPEN items of these orders to IN_PROGRESS. Returns how many orders moved."""
    ids = list(
        OrderItem.objects.filter(facility=facility, status=Status.OPEN, order_id__in=list(order_ids)).values_list("pk", flat=True)
    )
    locked = [i for i in lock_items(ids) if i.facility_id == facility.pk and i.status == Status.OPEN]
    if not locked:
        raise ItemConflict("Nothing to start: those orders have no open items here any more.")
    OrderItem.objects.filter(pk__in=[i.pk for i in locked]).update(status=Status.IN_PROGRESS, status_changed_at=timezone.now())
    return len({i.order_id for i in locked})


@transaction.atomic
def order_complete(*, facility: Facility, order_id: int, user=None) -> Order:
    """Pack/ship the facility's IN_PROGRESS items of an order: COMPLETED, and their units leave the shelf."""
    ids = list(OrderItem.objects.filter(facility=facility, status=Status.IN_PROGRESS, order_id=order_id).values_list("pk", flat=True))
    locked = [i for i in lock_items(ids) if i.facility_id == facility.pk and i.status == Status.IN_PROGRESS]
    if not locked:
        raise ItemConflict("Nothing to complete: this order has no items in progress here any more.")
    book: InventoryBook = inventory_book_open(product_ids={i.product_id for i in locked}, user=user)
    for item in locked:
        book.fulfil(facility.pk, item.product_id, item.quantity, reference=f"{item.order.name} item {item.pk}")
    book.flush()
    OrderItem.objects.filter(pk__in=[i.pk for i in locked]).update(status=Status.COMPLETED, status_changed_at=timezone.now())
    return locked[0].order
