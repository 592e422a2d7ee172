"""`manage.py import_inventory FILE.csv [--dry-run]` — set counted quantities on hand from a CSV file.

Header: `facility,sku,quantity_on_hand`. The whole file is validated first; every bad row is reported with its line
number and nothing changes when any row is bad. Each changed level goes through `inventory_count_set` (a COUNT ledger row);
afterwards the parked items of the file's products are routed again. The counts are one transaction; the routing follows it.
"""


from django.core.management.base import CommandError

from fulfillment import services
from fulfillment.errors import FulfillmentError
from fulfillment.imports import inventory_plan_read, plan_or_fail
from fulfillment.management.base import BaseCommand, non_empty
from fulfillment.text import route_summary_text
from inventory.services import InventoryError

MAX_LISTED_CHANGES = 50


class Command(BaseCommand):
    help = "Set counted quantities on hand from a CSV file (facility,sku,quantity_on_hand); all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=non_empty, help="CSV file with the header facility,sku,quantity_on_hand")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--reference", type=non_empty, help="Ledger reference (default: import <file name>).")

    def handle(self, *args, **options):
        path = options["file"]
        plan = plan_or_fail(inventory_plan_read, path, warn=self.stderr.write)

        changed = plan.changed
        w = self.stdout.write
        verb = "Would change" if options["dry_run"] else "Changed"
        w(f"{'DRY RUN - nothing was changed. ' if options['dry_run'] else ''}{verb} {len(changed)} inventory level(s); "
          f"{len(plan.unchanged)} already at the counted quantity.")
        for row in changed[:MAX_LISTED_CHANGES]:
            w(f"  line {row.line}: {row.facility.code} {row.product.sku} QOH {row.before} -> {row.quantity_on_hand}")
        if len(changed) > MAX_LISTED_CHANGES:
            w(f"  ... and {len(changed) - MAX_LISTED_CHANGES} more")
        if options["dry_run"] or not changed:
            return

        reference = options["reference"] or f"import {path}"[:120]
        try:
            summary = services.stock_counts_set(
                counts=[(row.facility, row.product, row.quantity_on_hand) for row in changed], reference=reference
            )
        except (InventoryError, FulfillmentError) as exc:
            raise CommandError(f"{exc.message} Nothing was imported.") from exc
        if summary.routed or summary.parked:
            w(route_summary_text(summary, scope=" of these products"))
