"""`manage.py route_orders [--facility CODE]` — give parked (UNROUTED) items another chance through the routing rules.

Without `--facility` every parked item is routed again. With `--facility CODE` only the parked items that facility is
concerned with: items it rejected (e.g. after `reject_orders --facility CODE`) and store-pickup items to be picked up
there — `items_route(facility=...)`. The rules still decide where each goes (never back to a facility that rejected it).
"""

from django.core.management.base import CommandError

from fulfillment import services
from fulfillment.errors import FulfillmentError
from fulfillment.management.base import BaseCommand, non_empty
from fulfillment.models import OrderItem
from fulfillment.progress import ProgressBar
from fulfillment.text import route_summary_text
from inventory.models import Facility
from inventory.selectors import facilities_by_code
from routing.models import RoutingDecision


class Command(BaseCommand):
    help = "Route parked (UNROUTED) items again and print where they went."

    def add_arguments(self, parser):
        parser.add_argument(
            "--facility",
            type=non_empty,
            help="Only parked items rejected at this facility or to be picked up there (facility code).",
        )

    def handle(self, *args, **options):
        facility = None
        if options["facility"]:
            code = options["facility"]
            facility, problem = facilities_by_code([code]).find(code)
            if facility is None:
                codes = list(Facility.objects.order_by("code").values_list("code", flat=True))
                raise CommandError(f"{problem[0].upper()}{problem[1:]}. Valid facilities: {', '.join(codes) or '(none)'}.")

        parked_before = OrderItem.objects.filter(status=OrderItem.Status.UNROUTED).count()
        try:
            with ProgressBar("Routing", stream=self.stderr) as bar:
                summary = services.items_route(facility=facility, trigger=RoutingDecision.Trigger.ROUTE_ORDERS, progress=bar.update)
        except FulfillmentError as exc:
            raise CommandError(exc.message) from exc

        scope = f" rejected at or for pickup at {facility.code}" if facility else ""
        lines = [route_summary_text(summary, scope=scope)]
        if facility:
            lines.append(f"  Parked items in all (before this run): {parked_before}")
        self.stdout.write("\n".join(lines))
