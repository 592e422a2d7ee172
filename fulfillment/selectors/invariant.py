"""The inventory invariant's reservations side (the ledger side is in ``inventory/selectors.py``)."""

from django.db.models import Q

from ..models import OrderItem


# --- Inventory invariant (issue #9) ------------------------------------------------------------------------------


def levels_breaking_inventory_invariant() -> list:
    """Levels that break the inventory invariant (always empty): `reserved` differs from the sum of the quantities of
    the OPEN and IN_PROGRESS items at that facility and product, or a quantity differs from the sum of its ledger
    deltas, or ATP is not max(0, QOH - reserved - unsellable). Each annotated with ``active_reserved`` and the ledger
    sums. Three queries whatever the size (two grouped scans and the broken levels), so it also runs on volume data."""
    from django.db.models import Sum

    from inventory.models import InventoryLevel
    from inventory.selectors import levels_not_matching_ledger, levels_with_ledger_sums

    active = {
        (facility_id, product_id): total
        for facility_id, product_id, total in OrderItem.objects.filter(status__in=OrderItem.REJECTABLE)
        .order_by()
        .values("facility_id", "product_id")
        .annotate(total=Sum("quantity"))
        .values_list("facility_id", "product_id", "total")
    }
    broken_ids = set(levels_not_matching_ledger().values_list("pk", flat=True))
    for pk, facility_id, product_id, reserved in InventoryLevel.objects.values_list(
        "pk", "facility_id", "product_id", "reserved"
    ).iterator(chunk_size=10_000):
        if reserved != active.get((facility_id, product_id), 0):
            broken_ids.add(pk)
    if not broken_ids:
        return []
    levels = list(
        levels_with_ledger_sums().filter(pk__in=broken_ids).select_related("facility", "product")
        .order_by("facility__code", "product__sku")
    )
    for level in levels:
        level.active_reserved = active.get((level.facility_id, level.product_id), 0)
    return levels


def active_items_without_level():
    """OPEN / IN_PROGRESS items at a facility that has no inventory level of their product (they reserve nothing:
    the invariant is broken too)."""
    from django.db.models import Exists, OuterRef

    from inventory.models import InventoryLevel

    has_level = InventoryLevel.objects.filter(facility_id=OuterRef("facility_id"), product_id=OuterRef("product_id"))
    return (
        OrderItem.objects.filter(status__in=OrderItem.REJECTABLE)
        .exclude(Exists(has_level))
        .select_related("order", "product", "facility")
        .order_by("pk")
    )


def inventory_level_items(levels) -> dict[tuple[int, int], list[OrderItem]]:
    """{(facility id, product id): the level's OPEN and IN_PROGRESS items} for these levels (one query)."""
    keys = {(lvl.facility_id, lvl.product_id) for lvl in levels}
    if not keys:
        return {}
    condition = Q()
    for facility_id, product_id in keys:
        condition |= Q(facility_id=facility_id, product_id=product_id)
    by_level: dict[tuple[int, int], list[OrderItem]] = {}
    for item in (
        OrderItem.objects.filter(condition, status__in=OrderItem.REJECTABLE).select_related("order").order_by("pk")
    ):
        by_level.setdefault((item.facility_id, item.product_id), []).append(item)
    return by_level
