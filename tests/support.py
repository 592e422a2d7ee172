"""What tests share: the inventory invariant every test that writes inventory ends with, running a command, running
functions on threads at once."""

import io
import threading

from django.core.management import call_command
from django.db import connection

from fulfillment.selectors import active_items_without_level, levels_breaking_inventory_invariant


def assert_inventory_invariant() -> None:
    """The whole inventory invariant: for every level, `reserved` is the sum of its active (OPEN, IN_PROGRESS) items'
    quantities, QOH / reserved / unsellable / ATP equal the sums of its ledger deltas, and ATP equals its formula
    (the database constraints keep every quantity >= 0, unsellable <= QOH and ATP <= QOH); no active item is at a
    facility without a level of its product."""
    broken = [
        f"{lvl}: items hold {lvl.active_reserved}; ledger QOH {lvl.ledger_qoh}, reserved {lvl.ledger_reserved}, "
        f"unsellable {lvl.ledger_unsellable}, ATP {lvl.ledger_atp}"
        for lvl in levels_breaking_inventory_invariant()
    ]
    assert not broken, "levels breaking the inventory invariant:\n" + "\n".join(broken)
    orphans = list(active_items_without_level())
    assert not orphans, f"active items at a facility without a level of their product: {orphans}"


def run_command(*args) -> str:
    """A management command's standard output (its standard error is swallowed)."""
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def run_together(funcs):
    """Start every function at the same moment on its own thread (own database connection); return each result or the
    exception it raised. For concurrency tests on PostgreSQL."""
    barrier = threading.Barrier(len(funcs))
    results = [None] * len(funcs)

    def runner(index, func):
        try:
            barrier.wait()
            results[index] = func()
        except Exception as exc:  # collected for the assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results
