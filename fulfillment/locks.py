"""Row locks on order items: taken first in every transaction (before inventory levels), always in pk order."""

from collections.abc import Iterable

from .models import OrderItem


def lock_items(item_ids: Iterable[int]) -> list[OrderItem]:
    ids = sorted(set(item_ids))
    if not ids:
        return []
    return list(
        OrderItem.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("order", "product").order_by("pk")
    )
