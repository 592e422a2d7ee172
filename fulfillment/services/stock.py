"""Stock that arrives or is counted at a store, then the parked items of those products get another chance."""

from collections.abc import Sequence

from django.db import transaction

from inventory.models import Facility, Product
from inventory.services import inventory_count_set, inventory_receive
from routing.models import RoutingDecision

from .placement import RouteSummary, items_route


def stock_receive(*, facility: Facility, product: Product, quantity: int, user=None, reference: str = ""):
    """Receive stock, then give the product's parked items another chance at once (two transactions)."""
    level = inventory_receive(facility=facility, product=product, quantity=quantity, user=user, reference=reference)
    summary = items_route(product_ids=[product.pk], trigger=RoutingDecision.Trigger.RECEIPT)
    if summary.routed:
        level.refresh_from_db()  # the routing just reserved some of what arrived: return the level as it is now
    return level, summary


def stock_receipts_record(
    *, receipts: Sequence[tuple[Facility, Product, int]], user=None, reference: str = ""
) -> RouteSummary:
    """Receive stock at several levels (all in one transaction), then route the received products' parked items.

    The routing runs in its own transaction after the receipts commit, so the lock order (items before levels) holds.
    """
    with transaction.atomic():
        for facility, product, quantity in receipts:
            inventory_receive(facility=facility, product=product, quantity=quantity, user=user, reference=reference)
    return _parked_items_route_after_stock(receipts)


def stock_counts_set(
    *, counts: Sequence[tuple[Facility, Product, int]], user=None, reference: str = ""
) -> RouteSummary:
    """Set counted quantities (all in one transaction), then route the counted products' parked items.

    The routing runs in its own transaction after the counts commit, so the lock order (items before levels) holds.
    """
    with transaction.atomic():
        for facility, product, quantity_on_hand in counts:
            inventory_count_set(facility=facility, product=product, quantity_on_hand=quantity_on_hand, user=user, reference=reference)
    return _parked_items_route_after_stock(counts)


def _parked_items_route_after_stock(changes: Sequence[tuple[Facility, Product, int]]) -> RouteSummary:
    """The products' parked items get another chance now that their stock changed (a receipt or a count)."""
    return items_route(product_ids=sorted({product.pk for _, product, _ in changes}), trigger=RoutingDecision.Trigger.RECEIPT)

