"""Parked items never wait forever: ``parked_items_cancel_stale`` cancels the items parked longer than their policy
allows (ParkedItemPolicy: global, optionally per facility group; off by default) and tells each customer.
Idempotent: a cancelled item is no longer parked, so a second run finds nothing."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from routing.models import RoutingDecision

from .. import selectors
from ..locks import lock_items
from ..models import Notification, OrderItem, PickupChoice
from . import batches
from .customer_choice import items_cancel_parked, notification_context, notifications_queue_aside

Status = OrderItem.Status


@dataclass
class StaleParkedItem:
    item_id: int
    order_name: str
    sku: str
    quantity: int
    parked_days: int
    limit_days: int
    customer_email: str

    def __str__(self) -> str:
        told = f"customer {self.customer_email} told" if self.customer_email else "no customer email on the order"
        return (f"{self.order_name} item {self.item_id}: {self.quantity} × {self.sku}, parked {self.parked_days} days "
                f"(limit {self.limit_days}) — {told}")


def _due(items: list[OrderItem], limits: selectors.ParkedLimits, now: datetime) -> list[StaleParkedItem]:
    deadlines = selectors.parked_deadlines(items, limits)
    due = []
    for item in items:
        deadline = deadlines[item.pk]
        if item.status == Status.UNROUTED and deadline.cancel_at is not None and deadline.cancel_at <= now:
            due.append(StaleParkedItem(item.pk, item.order.name, item.product.sku, item.quantity,
                                       (now - deadline.since).days, deadline.limit_days, item.order.customer_email))
    return due


def parked_items_cancel_stale(*, dry_run: bool = False, now: datetime | None = None) -> list[StaleParkedItem]:
    """Cancel (or with ``dry_run`` only list) the parked items over their limit, in batches of locked items."""
    now = now or timezone.now()
    limits = selectors.parked_limits()
    if limits.shortest is None:
        return []
    # keyset batches (one query each), never the list of ids: memory does not grow with the number of parked items
    candidates = OrderItem.objects.alias(parked_since_or_changed=selectors.PARKED_SINCE).filter(
        status=Status.UNROUTED, parked_since_or_changed__lte=now - timedelta(days=limits.shortest)
    )
    done: list[StaleParkedItem] = []
    for batch in batches.keyset(candidates):
        if dry_run:
            items = list(OrderItem.objects.filter(pk__in=batch).select_related("order", "product").order_by("pk"))
            done += _due(items, limits, now)
            continue
        with transaction.atomic():
            locked = {i.pk: i for i in lock_items(batch)}  # with order and product
            due = _due(list(locked.values()), limits, now)  # re-checked under the lock: routed or cancelled meanwhile -> skipped
            if not due:
                continue
            items = [locked[d.item_id] for d in due]
            items_cancel_parked(
                items=items, trigger=RoutingDecision.Trigger.PARKED_TOO_LONG,
                summaries={d.item_id: f"Cancelled: parked {d.parked_days} days, longer than the {d.limit_days}-day limit." for d in due},
            )
            PickupChoice.objects.filter(order_item_id__in=[i.pk for i in items], used_at__isnull=True).update(
                used_at=now, outcome=PickupChoice.Outcome.AUTO_CANCELLED
            )
            notifications_queue_aside([
                Notification(
                    order=item.order, order_item=item, kind=Notification.Kind.ITEM_CANCELLED, recipient=item.order.customer_email,
                    subject=f"Order {item.order.name}: an item was cancelled",
                    context=notification_context(item, parked_days=d.parked_days),
                )
                for item, d in zip(items, due) if item.order.customer_email
            ])
            done += due
    return done
