"""`manage.py send_digest [--to EMAIL ...] [--date YYYY-MM-DD] [--dry-run]` — email the operations digest of a day
(default: yesterday, UTC): rejections by store and reason, items parked now and their age, pickup choices still
waiting for the customer, items cancelled that day. Plain text and HTML. Recipients: --to, else OPERATIONS_DIGEST_TO.
One digest per recipient and day: a repeat run sends nothing twice. Run it daily after midnight (cron)."""

import datetime as dt

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from fulfillment import services
from fulfillment.errors import FulfillmentError
from fulfillment.management.base import BaseCommand


class Command(BaseCommand):
    help = "Email the operations digest of a day (default: yesterday) to the operations team."

    def add_arguments(self, parser):
        parser.add_argument("--to", action="append", default=[], metavar="EMAIL", help="Recipient (repeatable).")
        parser.add_argument("--date", help="The day to report on, YYYY-MM-DD (default: yesterday, UTC).")
        parser.add_argument("--dry-run", action="store_true", help="Print what would be sent; send nothing.")

    def handle(self, *args, **options):
        today = timezone.now().date()
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"].strip())
            except ValueError:
                raise CommandError(f"--date {options['date']!r} is not a date: use YYYY-MM-DD, e.g. {today - dt.timedelta(days=1)}.")
        else:
            day = today - dt.timedelta(days=1)
        recipients = options["to"] or settings.OPERATIONS_DIGEST_TO
        try:
            result = services.digest_send(day=day, recipients=recipients, dry_run=options["dry_run"], today=today)
        except FulfillmentError as exc:
            raise CommandError(exc.message) from exc
        facts = result.facts
        self.stdout.write(
            f"Digest for {day}: {facts['rejected_items']} rejected, {facts['parked_total']} parked, "
            f"{facts['waiting_total']} waiting for the customer, {len(facts['cancelled'])} cancelled."
        )
        verb = "Would send to" if options["dry_run"] else "Sent to"
        self.stdout.write(f"{verb}: {', '.join(result.sent_to) or 'nobody'}")
        if result.already_sent:
            self.stdout.write(f"Already sent for {day} (skipped): {', '.join(result.already_sent)}")
