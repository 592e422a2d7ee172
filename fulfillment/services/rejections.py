"""Rejecting items: the set-based core shared by a single rejection and Reject All, and the single rejection itself."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from inventory.bulk import Writes
from inventory.models import Facility
from inventory.services import LevelRejection
from inventory.transactions import transaction_required
from routing.engine import Plan
from routing.models import RoutingDecision

from ..errors import AlreadyDone, FulfillmentError, InvalidRequest, ItemConflict
from .. import policies
from ..locks import lock_items, lock_items_unless_busy
from ..models import BulkRejection, OrderItem, Rejection, RejectionReason
from ..selectors import items_history_read, policy_candidates, rejection_policy_for
from .customer_choice import pickup_choices_offer
from .placement import items_place

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


@transaction_required
def rejections_apply(
    *, facility: Facility, requests: Sequence[RejectionRequest], comment: str, user, bulk: BulkRejection | None = None
) -> list[tuple[Rejection, OrderItem, Plan]]:
    """Reject locked, validated items at `facility` and re-route each at once: the facility's levels of their products
    are locked with the levels chosen for them (see items_place), the reservations released and the reasons' effects
    applied, then the new places claimed."""
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
    history = items_history_read(rejected_items, routed_to=facility.pk)  # before the re-routing's decisions

    writes = Writes()
    plans = items_place(  # decides where each goes, releases the units here with the reason's effect, claims there
        items=rejected_items, trigger=RoutingDecision.Trigger.REJECTION, user=user, just_rejected=facility.pk,
        rejections=[
            LevelRejection(
                facility_id=facility.pk, product_id=item.product_id, quantity=item.quantity,
                effect=req.reason.inventory_effect, reason_code=req.reason.code,
                reference=f"{item.order.name} item {item.pk}",
            )
            for req, item in zip(requests, rejected_items)
        ],
        history=history.rejected_on, writes=writes,
    )
    rejections = [
        Rejection(
            order_item=item, facility=facility, reason=req.reason, quantity=item.quantity, comment=comment[:500],
            rejected_by=user if getattr(user, "pk", None) else None, routed_to_id=plan.facility_id, bulk_rejection=bulk,
            routed_at=history.routed_at[item.pk],
        )
        for req, item, plan in zip(requests, rejected_items, plans)
    ]
    writes.send(insert_returning=(Rejection, rejections))  # every write of the rejection, one statement (PostgreSQL)
    outcomes = list(zip(rejections, rejected_items, plans))
    pickup_choices_offer(outcomes=outcomes)  # the customer of a pickup item its pickup store rejected is asked (on commit)
    return outcomes


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
    *, facility: Facility, item_id: int, reason_code: str = "", reason: RejectionReason | None = None,
    quantity: int | None = None, comment: str = "", user=None, seen_quantity: int | None = None,
) -> RejectionResult:
    """Reject one item (or part of its line) at `facility` and re-route it at once. One transaction.

    The reason by `reason_code`, or `reason` as a caller already read it from the selectable ones (a valid form).
    `seen_quantity`: the line's quantity the user saw; a line that has changed since (part of it rejected) raises
    AlreadyDone and changes nothing, so a repeated Save is never applied twice."""
    if reason is None or reason.is_system or not reason.is_active:
        reason = reason_get(reason_code or getattr(reason, "code", ""), selectable_only=True)
    policy = rejection_policy_for(facility)
    # The policy's candidates are read without locks and locked with the item (pk order); read again under the lock,
    # the plan also sees an item that arrived here meanwhile. Without a policy that takes items along: no reads.
    seen = []
    if policies.takes_items_along(policy):
        peek = OrderItem.objects.filter(pk=item_id).first()
        if peek is not None and peek.facility_id == facility.pk:
            seen = policy_candidates(item=peek, reason_code=reason.code, policy=policy)
    with transaction.atomic():
        locked = {item.pk: item for item in lock_items([item_id, *(c.pk for c in seen)])}
        item = locked.get(item_id)
        if item is None:
            raise InvalidRequest("That item does not exist.")
        if item.facility_id != facility.pk or item.status not in OrderItem.REJECTABLE:
            raise ItemConflict(_conflict_message(item, facility))
        if seen_quantity is not None and seen_quantity != item.quantity:
            raise AlreadyDone(
                f"Already done: {item.order.name} has {item.quantity} unit(s) on this line now, not the {seen_quantity} "
                "you saw — this Save (or a colleague's) was applied already. Nothing was changed."
            )
        qty = item.quantity if quantity is None else quantity
        if not 1 <= qty <= item.quantity:
            raise InvalidRequest(f"Quantity must be between 1 and {item.quantity}.")
        current = policy_candidates(item=item, reason_code=reason.code, policy=policy)
        locked.update({i.pk: i for i in lock_items_unless_busy(c.pk for c in current if c.pk not in locked)})
        plan = policies.rejection_plan(
            item=item, reason_code=reason.code, quantity=qty, policy=policy,
            others=[locked[c.pk] for c in current if c.pk in locked],
        )
        system_reasons = (
            {r.code: r for r in RejectionReason.objects.filter(code__in=plan.system_reason_codes)}
            if plan.system_reason_codes else {}
        )
        requests = [RejectionRequest(item, qty, reason)] + [
            RejectionRequest(locked[p.item_id], p.quantity, system_reasons[p.reason_code])
            for p in plan.rejections[1:]
            if p.reason_code in system_reasons  # a system reason an admin deactivated applies no more
        ]
        outcomes = rejections_apply(facility=facility, requests=requests, comment=comment, user=user)
        main_rejection = outcomes[0][0]
        if len(outcomes) > 1:
            Rejection.objects.filter(pk__in=[r.pk for r, _, _ in outcomes[1:]]).update(caused_by=main_rejection)
    facilities = outcomes[0][2].facility_by_id  # the facilities the routing decided among (no query)
    results = [
        RejectionResult(rejection=r, item=i, routed_to=facilities.get(p.facility_id), message=_where_it_went(i, p, facilities))
        for r, i, p in outcomes
    ]
    main, *others = results
    main.collateral = others
    if others:
        main.message += f" {len(others)} other item(s) here were rejected with it by the store's policy."
    return main




@dataclass
class ItemsRejectSummary:
    rejected: int = 0
    collateral: int = 0  # rejected with them by a facility's rejection policy
    parked: int = 0
    rerouted: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # one sentence per item that could not be rejected


def items_reject(*, item_ids: Sequence[int], reason_code: str, comment: str = "", user=None) -> ItemsRejectSummary:
    """Reject each of these items at the facility it is at now (each its own transaction, with its policies), in the
    given order; an item a policy already took along with an earlier one is not rejected twice."""
    summary = ItemsRejectSummary()
    rerouted: Counter[str] = Counter()
    done: set[int] = set()
    items = OrderItem.objects.select_related("order", "product", "facility").in_bulk(list(item_ids))
    for item_id in item_ids:
        item = items.get(item_id)
        if item is None or item_id in done:
            continue
        if item.facility_id is None or item.status not in OrderItem.REJECTABLE:
            summary.skipped.append(
                f"{item.order.name} {item.product.sku}: it is {item.get_status_display().lower()}, "
                "only open or in-progress items can be rejected"
            )
            continue
        try:
            result = item_reject(facility=item.facility, item_id=item_id, reason_code=reason_code, comment=comment, user=user)
        except FulfillmentError as exc:
            summary.skipped.append(f"{item.order.name} {item.product.sku}: {exc.message}")
            continue
        summary.rejected += 1
        summary.collateral += len(result.collateral)
        for res in [result, *result.collateral]:
            done.add(res.item.pk)
            if res.routed_to is not None:
                rerouted[res.routed_to.code] += 1
            else:
                summary.parked += 1
    summary.rerouted = dict(rerouted)
    return summary
