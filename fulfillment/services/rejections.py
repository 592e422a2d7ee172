"""Rejecting items: the set-based core shared by a single rejection and Reject All, and the single rejection itself."""

from dataclasses import dataclass, field
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from inventory.models import Facility
from inventory.services import inventory_book_open
from routing.engine import Plan
from routing.models import RoutingDecision
from routing.services import routing_session_open

from ..errors import InvalidRequest, ItemConflict
from ..locks import lock_items
from ..models import BulkRejection, OrderItem, Rejection, RejectionReason
from ..selectors import collateral_item_ids, rejection_policy_for, rest_of_line_reason
from ..reports.selectors import routed_at_for
from .routing import items_place

Status = OrderItem.Status


@dataclass
class RejectionResult:
    rejection: Rejection
    item: OrderItem
    routed_to: Facility | None
    message: str
    collateral: list["RejectionResult"] = field(default_factory=list)



def reason_get(code: str, *, selectable_only: bool = False) -> RejectionReason:
    reasons = RejectionReason.objects.filter(is_active=True)
    if selectable_only:
        reasons = reasons.filter(is_system=False)
    reason = reasons.filter(code=code).first()
    if reason is None:
        valid = ", ".join(reasons.values_list("code", flat=True))
        raise InvalidRequest(f"Unknown rejection reason “{code}”. Choose one of: {valid}.")
    return reason



@dataclass
class RejectionRequest:
    item: OrderItem
    quantity: int
    reason: RejectionReason


def items_reject(
    *, facility: Facility, requests: Sequence[RejectionRequest], comment: str, user, bulk: BulkRejection | None = None
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
    routed_at = routed_at_for(facility_id=facility.pk, items=rejected_items)  # before the re-routing's decisions
    session = routing_session_open(book=book)
    plans = items_place(session=session, items=rejected_items, trigger=RoutingDecision.Trigger.REJECTION, just_rejected=facility.pk)
    rejections = Rejection.objects.bulk_create(
        [
            Rejection(
                order_item=item, facility=facility, reason=req.reason, quantity=item.quantity, comment=comment[:500],
                rejected_by=user if getattr(user, "pk", None) else None, routed_to_id=plan.facility_id, bulk_rejection=bulk,
                routed_at=routed_at[item.pk],
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
    reason = reason_get(reason_code, selectable_only=True)
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
        requests = [RejectionRequest(item, qty, reason)]
        # A partial quantity leaves the rest of the line here, unless a policy moves it too (with its system reason).
        rest_code = rest_of_line_reason(item=item, reason_code=reason.code, policy=policy) if qty < item.quantity else None
        system_reasons = {
            r.code: r for r in RejectionReason.objects.filter(code__in=set(collateral.values()) | {rest_code} - {None})
        }
        if rest_code in system_reasons:
            requests.append(RejectionRequest(item, item.quantity - qty, system_reasons[rest_code]))
        for pk, code in sorted(collateral.items()):
            other = locked.get(pk)
            if other and other.facility_id == facility.pk and other.status in OrderItem.REJECTABLE and code in system_reasons:
                requests.append(RejectionRequest(other, other.quantity, system_reasons[code]))
        outcomes = items_reject(facility=facility, requests=requests, comment=comment, user=user)
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


