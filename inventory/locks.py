"""The only place that takes row locks on inventory.

Every operation locks *all* facilities' levels of the products it touches, in primary-key order, in one query:
a rejection, a routing and a receipt of the same product therefore queue behind each other and can never deadlock.
Callers that also lock order items lock those first (see fulfillment.locks).
"""

from collections.abc import Iterable

from .models import InventoryLevel


def lock_levels_for_products(product_ids: Iterable[int]) -> list[InventoryLevel]:
    """Lock every facility's level of these products (FOR UPDATE, pk order) and return them."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    return list(InventoryLevel.objects.select_for_update().filter(product_id__in=ids).order_by("pk"))
