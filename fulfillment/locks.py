"""Row locks on order items: taken first in every transaction (before inventory levels), always in pk order."""

from collections.abc import Iterable

from .models import OrderItem


def lock_items(item_ids: Iterable[int]) -> list[OrderItem]:
    """Lock these items (FOR UPDATE, pk order, waiting for other transactions) with their order and product."""
    ids = sorted(set(item_ids))
    if not ids:
        return []
    return list(
        OrderItem.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("order", "product").order_by("pk")
    )


def lock_items_unless_busy(item_ids: Iterable[int]) -> list[OrderItem]:
    """Lock these items too, after others are held (out of pk order), skipping any that another transaction holds.

    Used for items found only once the first locks were taken (a rejection's collateral that arrived meanwhile).
    Waiting for them could deadlock with a transaction that holds them and waits for ours; one that holds them is
    moving them anyway, so leaving them out is what the user would expect.
    """
    ids = sorted(set(item_ids))
    if not ids:
        return []
    return list(
        OrderItem.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(pk__in=ids)
        .select_related("order", "product")
        .order_by("pk")
    )
