"""What tests share: the inventory invariant every test that writes inventory ends with, a level's quantities,
an order placed through the service, running a command, running functions on threads at once."""

import io
import itertools
import threading

from django.core.management import call_command
from django.db import connection

from fulfillment.models import OrderItem
from fulfillment.selectors import active_items_without_level, levels_breaking_inventory_invariant
from inventory.models import InventoryLevel


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


def qoh_atp(facility, product) -> tuple[int, int]:
    """(QOH, ATP) of the facility's level of the product."""
    level = InventoryLevel.objects.get(facility=facility, product=product)
    return level.quantity_on_hand, level.available_to_promise


_order_names = itertools.count(1)


def place(product, qty: int = 1, method: str = "STANDARD", *, at, pickup=None, name=None, customer_name="Ada",
          customer_email="") -> OrderItem:
    """One order of ``qty`` × ``product`` created (and so routed, reserving ATP) by the service, shipping to ``at`` (a
    (latitude, longitude) pair): its item (split by a rule: the first part, the one the others split from). Test modules
    bind their own ship-to with ``functools.partial``."""
    from fulfillment.services import order_create

    order = order_create(
        name=name or f"#P{next(_order_names)}", customer_name=customer_name, customer_email=customer_email,
        shipping_method=method, ship_to_latitude=at[0], ship_to_longitude=at[1], lines=[(product, qty)],
        pickup_facility=pickup,
    )
    return order.items.order_by("pk").first()


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
