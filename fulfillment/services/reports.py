"""The roll-up behind the rejection rate: units routed per facility, local day, product and shipping method."""

from collections import Counter
from collections.abc import Sequence

from django.utils import timezone

from inventory.bulk import Writes
from inventory.transactions import transaction_required
from routing.engine import Plan
from routing.services import RoutingSession

from ..models import OrderItem, RoutedUnitsDaily


@transaction_required
def routed_units_add(*, session: RoutingSession, items: Sequence[OrderItem], plans: Sequence[Plan], writes: Writes) -> int:
    """Add the units these plans routed to ``RoutedUnitsDaily`` (one upsert, keys sorted so concurrent routings take
    the roll-up rows in one order). Runs inside the caller's transaction (``items_place``, which records the
    decisions), so a rolled-back routing never counts; no savepoint of its own (one statement).
    Returns the number of (facility, day, product, method) rows touched."""
    now = timezone.now()
    units: Counter[tuple] = Counter()
    for item, plan in zip(items, plans):
        for facility_id, quantity in plan.allocations:
            facility = session.router.facility_by_id[facility_id]
            day = facility.local_date(now)
            units[(facility_id, day, item.product_id, item.effective_shipping_method)] += quantity
    if not units:
        return 0
    writes.counters_add(
        RoutedUnitsDaily, keys=["facility", "day", "product", "shipping_method"], counter="units", rows=units
    )
    return len(units)
