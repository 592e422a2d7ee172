"""Check the inventory invariant; print every level that breaks it with its ledger and its items; exit 1 if any.

For every level: `reserved` = the quantities of its OPEN and IN_PROGRESS items; QOH, reserved, unsellable and ATP =
the sums of its ledger deltas; ATP = max(0, QOH - reserved - unsellable). For operators and for CI.
"""

import sys

from fulfillment.management.base import BaseCommand
from fulfillment.selectors import (
    active_items_without_level,
    inventory_level_items,
    levels_breaking_inventory_invariant,
)
from inventory.models import InventoryAdjustment


class Command(BaseCommand):
    help = "Check that every inventory level matches its ledger and its active items; exit 1 when one does not."

    def handle(self, *args, **opts):
        broken = list(levels_breaking_inventory_invariant())
        orphans = list(active_items_without_level())
        items = inventory_level_items(broken)
        w = self.stdout.write
        for level in broken:
            w(
                f"{level.facility.code} {level.product.sku}: stored QOH {level.quantity_on_hand}, reserved "
                f"{level.reserved}, unsellable {level.unsellable}, ATP {level.available_to_promise}"
            )
            w(
                f"  expected: reserved {level.active_reserved} (active items); ledger QOH {level.ledger_qoh}, reserved "
                f"{level.ledger_reserved}, unsellable {level.ledger_unsellable}, ATP {level.ledger_atp}; "
                f"ATP by formula {level.formula_atp}"
            )
            w("  ledger (oldest first):")
            for row in InventoryAdjustment.objects.filter(level=level).order_by("created_at", "pk"):
                w(" ".join(filter(None, [
                    f"    {row.created_at:%Y-%m-%d %H:%M:%S} {row.kind:<10} QOH {row.qoh_delta:+d} reserved "
                    f"{row.reserved_delta:+d} unsellable {row.unsellable_delta:+d} ATP {row.atp_delta:+d}",
                    row.reason, row.reference,
                ])))
            level_items = items.get((level.facility_id, level.product_id), [])
            w("  active items:" + ("" if level_items else " none"))
            for item in level_items:
                w(f"    {item.order.name} item {item.pk}: {item.quantity} {item.get_status_display().lower()}")
        for item in orphans:
            w(
                f"{item.facility.code} {item.product.sku}: {item.order.name} item {item.pk} is "
                f"{item.get_status_display().lower()} there ({item.quantity}) but the facility has no level of the product"
            )
        if broken or orphans:
            self.stderr.write(
                f"Inventory invariant broken: {len(broken)} level(s), {len(orphans)} item(s) without a level."
            )
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Inventory invariant holds: every level matches its ledger and its items."))
