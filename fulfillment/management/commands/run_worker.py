"""`manage.py run_worker [--interval 1] [--sweep-every 2]` — the production task worker (django-tasks-db).

It runs django-tasks-db's worker loop and, unlike a bare `db_worker`, survives the database going away: on a
connection error it closes the connections, waits (1 s, doubling up to `--max-backoff`) and starts the loop again.
When it starts, and every `--sweep-every` seconds between tasks, it resumes Reject Alls that lost their worker
(`services.bulk_rejections_resume`): on PostgreSQL a job whose lease the database freed (its worker was killed, or its
connection died with the database) goes on after its last committed batch within a sweep or two.
SIGTERM / Ctrl-C stop it after the current task (twice: at once).
"""

import logging
import time

from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
)
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from fulfillment import services
from fulfillment.management.base import BaseCommand, non_empty, seconds

logger = logging.getLogger("fulfillment.worker")


class Command(BaseCommand):
    help = "Run the task worker: reconnects after a database restart and resumes Reject Alls that lost their worker."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=seconds(0.01, 3600), default=1.0, help="Seconds to wait when no task is ready (0.01 to 3600; default 1).")
        parser.add_argument("--sweep-every", type=seconds(0.1, 3600), default=2.0, help="Seconds between sweeps for Reject Alls that lost their worker (0.1 to 3600; default 2).")
        parser.add_argument("--max-backoff", type=seconds(1, 3600), default=30.0, help="Longest wait between reconnection attempts (1 to 3600; default 30).")
        parser.add_argument("--queue-name", type=non_empty, default="default", help="Queue to process (default 'default').")

    def handle(self, *args, interval, sweep_every, max_backoff, queue_name, verbosity, **options):
        if verbosity > 0 and not logger.handlers:
            handler = logging.StreamHandler(self.stdout)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        worker_id = get_random_string(32)
        logger.info("Worker %s started (queue %r)", worker_id, queue_name)
        last_sweep = float("-inf")
        backoff = 1.0
        while True:
            try:
                close_old_connections()
                if time.monotonic() - last_sweep >= sweep_every:
                    resumed = services.bulk_rejections_resume()
                    last_sweep = time.monotonic()
                    if resumed.resumed or resumed.failed:
                        logger.info("Resumed Reject All %s; failed %s", resumed.resumed, resumed.failed)
                # One pass of django-tasks-db's loop: every ready task, then back here (to sweep and to sleep).
                worker = Worker(
                    queue_names=[queue_name], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id=worker_id, excluded_queue_names=[],
                )
                worker.configure_signals()
                worker.run()
                if not worker.running:  # SIGTERM / Ctrl-C during a task: it finished, now stop
                    return
                backoff = 1.0
                time.sleep(interval)
            except (OperationalError, InterfaceError) as exc:
                logger.warning("Database unavailable (%s); reconnecting in %.0f s", str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, backoff)
                for conn in connections.all(initialized_only=True):
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001 - the connection is broken already; it is dropped either way
                        conn.connection = None
                time.sleep(backoff)
                backoff = min(backoff * 2, max_backoff)
