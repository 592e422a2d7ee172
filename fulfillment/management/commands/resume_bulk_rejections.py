"""`manage.py resume_bulk_rejections [--stale-after SECONDS]` — queue again every Reject All that lost its worker.

A running Reject All whose lease the database freed (PostgreSQL: its worker's connection is gone), or whose heartbeat
(written with every batch) is older than the limit (`BULK_REJECTION_STALE_SECONDS`, default 120; SQLite, and queued
jobs), is queued again and goes on after its last committed batch; one that has had its `BULK_REJECTION_MAX_ATTEMPTS`
attempts is marked FAILED (its page then offers **Try again**). `run_worker` does the same when it starts and every
2 s; run this one after a plain `db_worker` was killed, or from cron.
"""

import argparse
from datetime import timedelta

from fulfillment import services
from fulfillment.management.base import BaseCommand
from fulfillment.text import parse_ascii_integer


MAX_STALE_SECONDS = 366 * 24 * 3600  # a year: longer than any job waits


def seconds(value: str) -> int:
    number = parse_ascii_integer(value)
    if number is None:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, not {value!r}")
    if not 0 <= number <= MAX_STALE_SECONDS:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds from 0 to {MAX_STALE_SECONDS}, not {number}")
    return number


class Command(BaseCommand):
    help = "Queue again every Reject All whose worker stopped (heartbeat older than the limit)."

    def add_arguments(self, parser):
        parser.add_argument("--stale-after", type=seconds, help="Seconds without a heartbeat (default: BULK_REJECTION_STALE_SECONDS).")

    def handle(self, *args, **options):
        stale_after = timedelta(seconds=options["stale_after"]) if options["stale_after"] is not None else None
        summary = services.bulk_rejections_resume(stale_after=stale_after)
        ids = lambda pks: ", ".join(str(pk) for pk in pks)  # noqa: E731
        lines = [f"Resumed {len(summary.resumed)} Reject All job(s)" + (f": {ids(summary.resumed)}" if summary.resumed else "") + "."]
        if summary.failed:
            lines.append(f"Marked {len(summary.failed)} as failed after too many attempts: {ids(summary.failed)}.")
        self.stdout.write("\n".join(lines))
