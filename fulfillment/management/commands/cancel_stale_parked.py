"""`manage.py cancel_stale_parked [--dry-run]` — cancel the items parked longer than their ParkedItemPolicy allows
(global "cancel parked items after N days", optionally per facility group; off until an admin sets it), email each
customer, and list what it did. Run it daily (cron or a scheduled task); a repeat run finds nothing more to do."""

from fulfillment import services
from fulfillment.management.base import BaseCommand
from fulfillment.selectors import parked_limits


class Command(BaseCommand):
    help = "Cancel items parked longer than the parked-item policy allows, tell their customers, list them."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would be cancelled; change nothing.")

    def handle(self, *args, **options):
        if parked_limits().shortest is None:
            self.stdout.write("Cancelling parked items is off (no parked item policy sets a number of days): nothing to do.")
            return
        done = services.parked_items_cancel_stale(dry_run=options["dry_run"])
        verb = "Would cancel" if options["dry_run"] else "Cancelled"
        self.stdout.write(f"{verb} {len(done)} parked item(s).")
        for item in done:
            self.stdout.write(f"  {item}")
