"""`manage.py import_orders FILE.csv [--dry-run]` — create (and route) orders from a CSV file, one row per order line.

Columns: order_name, customer_name, customer_email, shipping_method, ship_to_latitude, ship_to_longitude, pickup_facility,
sku, quantity, and optionally placed_at (ISO 8601; default now), ship_to_address, ship_to_city, ship_to_postal_code.
Rows with the same order_name form one order and must agree on the order's columns. The whole file is validated first;
every bad row is reported with its line number and nothing changes when any row is bad. Orders are created with
`order_create` (which routes their items), all in one transaction.
"""

from collections import Counter

from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, transaction

from fulfillment import services
from fulfillment.errors import FulfillmentError
from fulfillment.imports import orders_plan_read, plan_or_fail
from fulfillment.management.base import BaseCommand, non_empty
from fulfillment.models import OrderItem
from fulfillment.text import format_counts

MAX_LISTED = 50


class Command(BaseCommand):
    help = "Create and route orders from a CSV file (one row per order line); all orders or none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=non_empty, help="CSV file, one row per order line")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be created; write nothing.")

    def handle(self, *args, **options):
        path = options["file"]
        plan = plan_or_fail(orders_plan_read, path, warn=self.stderr.write)

        w = self.stdout.write
        if options["dry_run"]:
            w(f"DRY RUN - nothing was changed. Would create {len(plan.orders)} order(s) with {plan.line_count} line(s):")
            for order in plan.orders[:MAX_LISTED]:
                where = f" at {order.pickup_facility.code}" if order.pickup_facility else ""
                w(f"  {order.name} (line {order.line}): {order.customer_name}, {order.shipping_method}{where}, "
                  f"{len(order.lines)} line(s), {order.units} unit(s)")
            if len(plan.orders) > MAX_LISTED:
                w(f"  ... and {len(plan.orders) - MAX_LISTED} more")
            return

        try:
            # The summary is read inside the transaction: a failure while reading it (the command then exits 1) rolls
            # the orders back too, so a command never leaves written what it reports as failed.
            with transaction.atomic():
                created = [services.order_create(**order.create_kwargs()) for order in plan.orders]
                lines = self._summary(created, plan)
        except FulfillmentError as exc:
            raise CommandError(f"{exc.message} Nothing was imported.") from exc
        except IntegrityError as exc:  # e.g. an order of the same name created meanwhile
            raise CommandError(f"Could not create the orders ({exc}). Nothing was imported.") from exc
        except DatabaseError as exc:
            raise CommandError(f"The database refused the import ({exc}). Nothing was imported.") from exc
        w("\n".join(lines))

    def _summary(self, created, plan) -> list[str]:
        items = OrderItem.objects.filter(order__in=created).select_related("facility")
        routed: Counter = Counter()
        parked = 0
        for item in items:
            if item.status == OrderItem.Status.UNROUTED:
                parked += 1
            elif item.facility_id:
                routed[item.facility.code] += 1
        return [
            f"Created {len(created)} order(s) with {plan.line_count} line(s).",
            f"  Routed: {sum(routed.values())}" + (f" ({format_counts(routed)})" if routed else ""),
            f"  Parked (no facility can take them): {parked}",
        ]
