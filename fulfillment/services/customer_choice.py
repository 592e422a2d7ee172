"""The customer's say after a rejection, and parked items that waited too long.

- ``pickup_choices_offer``: called once per rejecting transaction (``rejections_apply``): every store-pickup item its pickup
  store just rejected (parked as ParkedKind.PICKUP_REJECTED) gets a PickupChoice and an email with its signed link,
  enqueued on commit (a rollback sends nothing).
- ``pickup_choice_apply``: the customer's choice, under the item's row lock: pick up at another store (the item gets
  its own pickup store: ``OrderItem.shipping_method``/``pickup_facility``, the order keeps its own), ship instead
  (the item becomes a STANDARD shipped item to the order's ship-to position, routed by the rules) or cancel.
  Routing goes through ``items_place`` with the CUSTOMER_CHOICE trigger; a cancellation is recorded as a CANCELLED
  routing decision.
- ``items_cancel_parked``: cancels parked items (the customer's choice, or ``cancel_stale_parked``).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from inventory.models import Facility
from inventory.transactions import transaction_required
from inventory.validators import single_line
from routing.models import ParkedKind
from routing.models import RoutingDecision

from ..errors import ChoiceClosed, InvalidRequest, ItemConflict
from ..locks import lock_items
from ..models import Notification, OrderItem, PickupChoice, ShippingMethod
from ..pickup_links import pickup_choice_url
from ..tasks import notifications_enqueue
from .placement import items_place

logger = logging.getLogger(__name__)
Status = OrderItem.Status
Outcome = PickupChoice.Outcome


def _fit(model, field: str, text: str) -> str:
    """``text`` cut to the length of the model's column."""
    return text[: model._meta.get_field(field).max_length]


def notification_context(item: OrderItem, **more) -> dict:
    """What every email about an item shows (the customer, the order and the line), plus ``more``."""
    order = item.order
    return {
        "customer_name": order.customer_name, "order_name": order.name, "product_name": item.product.name,
        "sku": item.product.sku, "quantity": item.quantity, **more,
    }


SUBJECT_MAX_LENGTH = Notification._meta.get_field("subject").max_length


def notifications_queue(notifications: list[Notification]) -> list[Notification]:
    """Write the notifications and send them once the transaction commits. A subject is built from stored names: it is
    made one line (an email header cannot hold a line break) and cut to its column."""
    for notification in notifications:
        notification.subject = single_line(notification.subject, SUBJECT_MAX_LENGTH)
    created = Notification.objects.bulk_create(notifications)
    if created:
        transaction.on_commit(partial(notifications_enqueue, [n.pk for n in created]))
    return created


def notifications_queue_aside(notifications: list[Notification]) -> list[Notification]:
    """``notifications_queue`` for a side record of a business change (a rejection, a cancellation): in a savepoint, so
    a notification the database refuses is logged and dropped, and never undoes the change it reports."""
    try:
        with transaction.atomic():
            return notifications_queue(notifications)
    except DatabaseError:
        logger.exception("%d notification(s) could not be recorded; the change they report stays", len(notifications))
        return []


@transaction_required
def pickup_choices_offer(*, outcomes) -> list[PickupChoice]:
    """For each (rejection, item, plan) that parked a store-pickup item because its pickup store rejected it: a new
    PickupChoice (replacing a waiting one) and the customer's email. Constant queries per call."""
    parked = [
        (rejection, item) for rejection, item, plan in outcomes
        if not plan.allocations and plan.parked_kind == ParkedKind.PICKUP_REJECTED and item.order.customer_email
    ]
    if not parked:
        return []
    now = timezone.now()
    PickupChoice.objects.filter(order_item_id__in=[item.pk for _, item in parked], used_at__isnull=True).update(
        used_at=now, outcome=Outcome.SUPERSEDED
    )
    choices = PickupChoice.objects.bulk_create(
        [
            PickupChoice(order_item=item, rejection=rejection, created_at=now,
                         expires_at=now + timedelta(days=settings.PICKUP_CHOICE_LINK_DAYS))
            for rejection, item in parked
        ]
    )
    notifications = []
    for choice, (rejection, item) in zip(choices, parked):
        notifications.append(
            Notification(
                order=item.order, order_item=item, kind=Notification.Kind.PICKUP_REJECTED, recipient=item.order.customer_email,
                subject=f"Order {item.order.name}: {rejection.facility.name} cannot have your item ready — your choice",
                context=notification_context(
                    item, store_name=rejection.facility.name, link=pickup_choice_url(choice.pk),
                    expires_on=f"{choice.expires_at:%d %b %Y}", days=settings.PICKUP_CHOICE_LINK_DAYS,
                ),
            )
        )
    notifications_queue_aside(notifications)
    return choices


@transaction_required
def items_cancel_parked(*, items: list[OrderItem], trigger: str, summaries: dict[int, str]) -> None:
    """Cancel locked parked items: status CANCELLED, a CANCELLED routing decision each, their waiting choices closed.
    A parked item holds no reservation, so the ledger has nothing to undo."""
    now = timezone.now()
    for item in items:
        assert item.status == Status.UNROUTED and item.facility_id is None
    OrderItem.objects.filter(pk__in=[i.pk for i in items]).update(
        status=Status.CANCELLED, status_changed_at=now, parked_since=None
    )
    for item in items:
        item.status, item.status_changed_at, item.parked_since = Status.CANCELLED, now, None
    RoutingDecision.objects.bulk_create(
        [
            RoutingDecision(order_item_id=i.pk, outcome=RoutingDecision.Outcome.CANCELLED, trigger=trigger, summary=_fit(RoutingDecision, "summary", summaries[i.pk]))
            for i in items
        ]
    )


@dataclass
class ChoiceResult:
    item: OrderItem
    outcome: str
    facility: Facility | None
    message: str


@transaction.atomic
def pickup_choice_apply(
    *, choice_id: int, action: str, facility_id: int | None = None, address: dict | None = None
) -> ChoiceResult:
    """Apply the customer's choice: OTHER_STORE (``facility_id``), SHIP (``address``) or CANCEL. One transaction.

    The item's row lock serializes this with a staff re-route or a second click: the choice must still be waiting and
    the item still parked, else ChoiceClosed says what happened and nothing changes.
    """
    if action not in (Outcome.OTHER_STORE, Outcome.SHIP, Outcome.CANCEL):
        raise InvalidRequest("Choose one of: pick up at another store, ship to your address, cancel the item.")
    item_id = PickupChoice.objects.filter(pk=choice_id).values_list("order_item_id", flat=True).first()
    if item_id is None:
        raise InvalidRequest("This link does not lead to any item.")
    item = lock_items([item_id])[0]
    choice = PickupChoice.objects.get(pk=choice_id)  # read under the item's lock: every change of a choice holds it
    if not choice.is_waiting:
        raise ChoiceClosed(choice_closed_message(choice))
    if item.status != Status.UNROUTED:
        raise ChoiceClosed(
            f"The store has already taken care of this item meanwhile (it is {item.get_status_display().lower()} now), "
            "so nothing was changed. Contact the store if you have questions."
        )
    now = timezone.now()
    facility = None
    if action == Outcome.CANCEL:
        items_cancel_parked(items=[item], trigger=RoutingDecision.Trigger.CUSTOMER_CHOICE,
                            summaries={item.pk: "Cancelled by the customer after the pickup store could not fulfil it."})
        message = f"{item.quantity} × {item.product.name} is cancelled. You will not be charged for it."
    else:
        if action == Outcome.OTHER_STORE:
            facility = Facility.objects.filter(pk=facility_id, is_active=True, allows_pickup=True).first() if facility_id else None
            if facility is None:
                raise InvalidRequest("Choose one of the stores listed.")
            item.shipping_method, item.pickup_facility_id = ShippingMethod.STORE_PICKUP, facility.pk
        else:
            item.shipping_method, item.pickup_facility_id = ShippingMethod.STANDARD, None
        OrderItem.objects.filter(pk=item.pk).update(shipping_method=item.shipping_method, pickup_facility_id=item.pickup_facility_id)
        (plan,) = items_place(items=[item], trigger=RoutingDecision.Trigger.CUSTOMER_CHOICE)
        if action == Outcome.OTHER_STORE and not plan.allocations:
            raise ItemConflict(f"{facility.name} can no longer take the whole line (its stock just changed). "
                               "Nothing was changed: choose another option.")
        if action == Outcome.OTHER_STORE:
            message = f"{item.quantity} × {item.product.name} will be ready for pickup at {facility.name}. We will email you when it is."
        else:
            message = f"{item.quantity} × {item.product.name} will be shipped to your address."
            if not plan.allocations:
                message += " It may take a little longer: no facility has it right now, and the team is on it."
        address = address or {}
        choice.ship_to_address = _fit(PickupChoice, "ship_to_address", address.get("address", ""))
        choice.ship_to_city = _fit(PickupChoice, "ship_to_city", address.get("city", ""))
        choice.ship_to_postal_code = _fit(PickupChoice, "ship_to_postal_code", address.get("postal_code", ""))
    choice.used_at, choice.outcome, choice.chosen_facility = now, action, facility
    choice.save(update_fields=["used_at", "outcome", "chosen_facility", "ship_to_address", "ship_to_city", "ship_to_postal_code"])
    notifications_queue_aside([
        Notification(order=item.order, order_item=item, kind=Notification.Kind.CHOICE_CONFIRMED, recipient=item.order.customer_email,
                     subject=f"Order {item.order.name}: your choice is confirmed",
                     context={"message": message})
    ])
    return ChoiceResult(item=item, outcome=action, facility=facility, message=message)


def choice_closed_message(choice: PickupChoice) -> str:
    """Why a choice can no longer be used, for the customer."""
    when = f"{choice.used_at:%d %b %Y}" if choice.used_at else ""
    if choice.outcome == Outcome.SUPERSEDED:
        return "This link was replaced by a newer one: use the link in the most recent email about this item."
    if choice.outcome == Outcome.AUTO_CANCELLED:
        return f"This item was cancelled on {when} because it could not be fulfilled; the link no longer works."
    return f"This link was already used on {when}: you chose “{choice.get_outcome_display()}”. It works only once."
