"""`manage.py reject_orders --facility CODE --status open|in_progress --reason CODE [--order NAME ...] [--dry-run] [--user USERNAME]`

Rejects a facility's open (or in-progress) items with one reason, through `facility_reject_all`, and prints what happened:
how many orders and items were rejected, where they were re-routed (per facility) and how many were parked.
Every argument is checked before anything changes; a bad one exits non-zero naming the valid choices.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import DatabaseError

from fulfillment import selectors, services
from fulfillment.errors import FulfillmentError
from fulfillment.management.base import BaseCommand, non_empty
from fulfillment.models import OrderItem, RejectionReason
from fulfillment.progress import ProgressBar
from fulfillment.text import format_counts
from inventory.models import Facility
from inventory.selectors import facilities_by_code

STATUSES = {"open": OrderItem.Status.OPEN, "in_progress": OrderItem.Status.IN_PROGRESS}
MAX_LISTED = 20


def choices_text(values, *, limit: int = MAX_LISTED) -> str:
    values = list(values)
    if not values:
        return "(none)"
    shown = ", ".join(values[:limit])
    return shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")


class Command(BaseCommand):
    help = "Reject a facility's open or in-progress items with one reason; they are re-routed at once or parked."

    def add_arguments(self, parser):
        parser.add_argument("--facility", required=True, type=non_empty, help="Facility code, e.g. BROOKLYN.")
        parser.add_argument("--status", required=True, type=non_empty, help="Which items: open or in_progress.")
        parser.add_argument("--reason", required=True, type=non_empty, help="Rejection reason code, e.g. INACTIVE_STORE.")
        parser.add_argument(
            "--order", dest="orders", action="extend", nargs="+", type=non_empty, default=[], metavar="NAME",
            help="Only these orders (repeatable: --order '#10001' --order '#10002', or --order '#10001' '#10002').",
        )
        parser.add_argument("--dry-run", action="store_true", help="Print what would happen; change nothing.")
        parser.add_argument("--user", type=non_empty, help="Username recorded as the rejecter.")
        parser.add_argument("--stop-routing", action="store_true", help="Also stop routing new orders to the facility.")

    def handle(self, *args, **options):
        facility = self._facility(options["facility"])
        from_status = self._status(options["status"])
        reason = self._reason(options["reason"])
        user = self._user(options["user"])
        order_names = self._orders(options["orders"], facility, from_status)

        saved = {"done": 0, "total": 0}  # what the committed batches covered

        def progress(done: int, total: int) -> None:
            saved.update(done=done, total=total)
            bar.update(done, total)

        try:
            with ProgressBar("Rejecting", stream=self.stderr) as bar:
                summary = services.facility_reject_all(
                    facility=facility, from_status=from_status, reason_code=reason.code, user=user,
                    order_names=order_names or None, stop_routing=options["stop_routing"], dry_run=options["dry_run"],
                    progress=progress,
                )
        except FulfillmentError as exc:
            raise CommandError(exc.message) from exc
        except DatabaseError as exc:
            # Each batch is its own transaction: say exactly what is saved, never "failed" over half-done work.
            if options["dry_run"] or not saved["done"]:
                raise CommandError(f"Stopped by a database error ({exc}). Nothing was changed.") from exc
            raise CommandError(
                f"Stopped by a database error after {saved['done']} of {saved['total']} item(s) ({exc}). Those "
                f"{saved['done']} were rejected and saved, batch by batch; the rest are unchanged: run the command again "
                "to go on with them."
            ) from exc

        status_label = "in-progress" if from_status == OrderItem.Status.IN_PROGRESS else "open"
        would = "Would reject" if options["dry_run"] else "Rejected"
        rerouted_total = sum(summary.rerouted.values())
        lines = [
            f"{'DRY RUN - nothing was changed. ' if options['dry_run'] else ''}{would} {summary.rejected} {status_label} "
            f"item(s) in {summary.orders} order(s) at {facility.code} as {reason.code} ({reason.label}).",
            f"  Re-routed: {rerouted_total}" + (f" ({format_counts(summary.rerouted)})" if summary.rerouted else ""),
            f"  Parked (no facility can take them): {summary.parked}",
        ]
        if summary.skipped:
            lines.append(f"  Skipped (moved by someone else meanwhile): {summary.skipped}")
        if options["stop_routing"]:
            lines.append(f"  {'Would stop' if options['dry_run'] else 'Stopped'} routing new orders to {facility.code}.")
        self.stdout.write("\n".join(lines))

    # --- argument checks: each error names the valid choices -------------------------------------------------------

    def _facility(self, code: str) -> Facility:
        facility, problem = facilities_by_code([code]).find(code)
        if facility is None:
            codes = Facility.objects.order_by("code").values_list("code", flat=True)
            raise CommandError(f"{problem[0].upper()}{problem[1:]}. Valid facilities: {choices_text(codes)}.")
        return facility

    def _status(self, value: str) -> str:
        status = STATUSES.get(value.strip().lower())
        if status is None:
            raise CommandError(f"Unknown status {value!r}. Valid statuses: {', '.join(STATUSES)}.")
        return status

    def _reason(self, code: str) -> RejectionReason:
        valid = list(selectors.active_reasons())
        for reason in valid:
            if reason.code.lower() == code.strip().lower():
                return reason
        raise CommandError(f"Unknown reason {code!r}. Valid reasons: {choices_text([r.code for r in valid])}.")

    def _user(self, username: str | None):
        if not username:
            return None
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            names = User.objects.filter(is_active=True).order_by("username").values_list("username", flat=True)
            raise CommandError(f"Unknown user {username!r}. Valid users: {choices_text(names)}.")
        return user

    def _orders(self, names: list[str], facility: Facility, from_status: str) -> list[str]:
        names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        if not names:
            return []
        valid = list(
            OrderItem.objects.filter(facility=facility, status=from_status)
            .order_by("order__placed_at", "order__name")
            .values_list("order__name", flat=True)
            .distinct()
        )
        valid_set = set(valid)
        bad = [n for n in names if n not in valid_set]
        if bad:
            status_label = "in-progress" if from_status == OrderItem.Status.IN_PROGRESS else "open"
            raise CommandError(
                f"Order(s) {', '.join(bad)} have no {status_label} items at {facility.code}. "
                f"Valid orders: {choices_text(list(dict.fromkeys(valid)))}."
            )
        return names
