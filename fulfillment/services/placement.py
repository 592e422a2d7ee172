"""Placement: items put where the routing rules say — the shared step every write that routes uses (items_place), and
routing parked (UNROUTED) items again (items_route)."""

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from inventory import effects
from inventory.bulk import Writes
from inventory.models import Facility
from inventory.selectors import level_rows_read, stock_snapshot_read
from inventory.stock import StockSnapshot
from inventory.transactions import transaction_required
from inventory.services import InventoryBook, LevelRejection, inventory_book_lock, levels_ensure
from routing import explain
from routing.engine import Demand, Plan
from routing.models import ParkedKind, RoutingDecision
from routing.services import RoutingSession, decisions_record, routing_session_open

from ..locks import lock_items
from ..models import OrderItem, Rejection
from ..selectors import items_history_read
from . import batches
from .reports import routed_units_add

Status = OrderItem.Status


@dataclass
class RouteSummary:
    routed: int = 0
    parked: int = 0
    rerouted: dict[str, int] = field(default_factory=dict)


def _demand(item: OrderItem, history: dict[int, date], just_rejected: int | None) -> Demand:
    order = item.order
    return Demand(
        key=item.pk,
        product_id=item.product_id,
        quantity=item.quantity,
        shipping_method=item.effective_shipping_method,  # the customer may have changed it for this item
        latitude=order.ship_to_latitude,
        longitude=order.ship_to_longitude,
        pickup_facility_id=item.effective_pickup_facility_id,
        rejected_on=history,
        just_rejected_facility_id=just_rejected,
        reference=f"{order.name} item {item.pk}",
    )


CLAIM_ROUNDS = 5  # decisions per item in one transaction before an item whose stock keeps being taken is parked
PARKED_AFTER_LOST_CLAIMS = (
    "Parked: the stock chosen for it was taken by other orders while it was being routed ({rounds} times); "
    "route it again."
)


@transaction_required
def items_place(
    *,
    items: Sequence[OrderItem],
    trigger: str,
    user=None,
    just_rejected: int | None = None,
    rejections: Sequence[LevelRejection] = (),
    history: dict[int, dict[int, date]] | None = None,
    writes: Writes | None = None,
) -> list[Plan]:
    """Route locked items by the rules — read, decide, claim — and write the outcome. Runs inside the caller's
    transaction (the items' locks are held until it commits).

    1. Read and decide: the routing engine decides every item on levels read without locks (on PostgreSQL, the
       candidates the database chooses per rule; else every level of the items' products), lowering ATP in memory as
       the batch's items take units.
    2. Lock only the levels that change, in one pk-ordered statement: those chosen for the items and those of
       `rejections` (the rejecting facility's levels; created when missing). On them each rejection's reservation is
       released and its reason's effect applied (`InventoryBook.reject`), before anything is claimed.
    3. Claim each decision on the locked, fresh numbers. An item whose claim no longer fits (someone took the units
       meanwhile) is decided again on fresh numbers, alone; after CLAIM_ROUNDS decisions it is parked with a reason
       that says so.
    Then write the items, one RoutingDecision per item, the levels, their ledger rows, the roll-up and the day's loads:
    into `writes` when given (the caller sends them with its own, e.g. the rejections), else sent here, as one
    statement on PostgreSQL. `history`: the items' rejection history when the caller has read it (items_history_read).
    """
    now = timezone.now()
    if history is None:
        history = items_history_read(items).rejected_on
    if just_rejected is not None:
        today = now.date()
        for h in history.values():
            h.setdefault(just_rejected, today)
    # 1. read and decide
    demands = {item.pk: _demand(item, history[item.pk], just_rejected) for item in items}
    stock = StockSnapshot(loader=level_rows_read)  # filled as routing reads: the candidates, or whole products
    session = routing_session_open(stock=stock)
    plans = dict(zip(demands, session.route_all(list(demands.values()))))
    # 2. lock what changes; release the rejected units and apply their reasons' effects
    rejected_levels = {r.level_key for r in rejections}
    ensured = {key: stock.level(*key).pk for key in rejected_levels if stock.level(*key) is not None}
    ensured.update(levels_ensure(keys=rejected_levels - set(ensured)))  # no query unless a level was not read
    book = inventory_book_lock(level_ids=set(ensured.values()) | _chosen_level_ids(plans.values(), stock), user=user)
    for r in rejections:
        book.reject(r.facility_id, r.product_id, r.quantity, effect=r.effect, reason_code=r.reason_code,
                    reference=r.reference)
    # 3. claim
    pending = list(items)
    busy: set[int] = set()  # levels another transaction held when this one tried to claim them (SKIP LOCKED)
    for round_ in range(1, CLAIM_ROUNDS + 1):
        lost = [item for item in pending if not _claim(book, plans[item.pk], session)]
        if not lost:
            break
        if round_ == CLAIM_ROUNDS:
            for item in lost:
                plans[item.pk] = _parked_after_lost_claims(plans[item.pk])
            break
        fresh = stock_snapshot_read(product_ids={item.product_id for item in lost})
        fresh.overlay(book.levels.values())  # the levels this transaction holds: their numbers are the fresh ones
        fresh.mark_busy(busy)  # and those it could not have: the next decision chooses another facility
        session.decide_again_on(fresh)
        for item in lost:
            plans[item.pk] = session.route(demands[item.pk])
        wanted = _chosen_level_ids([plans[item.pk] for item in lost], fresh)
        busy |= wanted - book.lock_more(wanted)
        pending = lost
    ordered = [plans[item.pk] for item in items]
    own = writes is None
    writes = Writes() if own else writes
    _items_write(items, ordered, now, writes)
    decisions_record(
        session=session, plans=[(item.pk, plan) for item, plan in zip(items, ordered)], trigger=trigger, writes=writes
    )
    routed_units_add(session=session, items=items, plans=ordered, writes=writes)
    book.flush(writes)
    session.close(ordered, writes)
    if own:
        writes.send()
    return ordered


def _chosen_level_ids(plans: Iterable[Plan], stock) -> set[int]:
    return {
        stock.level(facility_id, plan.demand.product_id).pk for plan in plans for facility_id, _ in plan.allocations
    }


def _claim(book: InventoryBook, plan: Plan, session: RoutingSession) -> bool:
    """Reserve the plan's allocations on the locked levels; False (nothing reserved) when one no longer fits."""
    product_id = plan.demand.product_id
    held_back = {}
    for facility_id, quantity in plan.allocations:
        level = book.level(facility_id, product_id)
        if level is None:  # another transaction held it (SKIP LOCKED): taken, as far as this decision goes
            return False
        facility = session.router.facility_by_id[facility_id]
        held_back[facility_id] = effects.held_back(
            level_safety_stock=level.safety_stock, facility_safety_stock=facility.safety_stock
        )
        if effects.routable(available_to_promise=level.available_to_promise, held_back=held_back[facility_id]) < quantity:
            return False
    for facility_id, quantity in plan.allocations:
        book.reserve(facility_id, product_id, quantity, held_back=held_back[facility_id], reference=plan.demand.reference)
    return True


def _parked_after_lost_claims(plan: Plan) -> Plan:
    """The last decision, parked: each facility it chose is explained as taken meanwhile."""
    candidates = [
        {**c, "chosen": False, "code": explain.TAKEN_MEANWHILE, "n": {}} if c.get("code") == explain.CHOSEN else c
        for c in plan.candidates
    ]
    return Plan(
        plan.demand, [], None, PARKED_AFTER_LOST_CLAIMS.format(rounds=CLAIM_ROUNDS), candidates, ParkedKind.NO_FACILITY,
        plan.facility_by_id,
    )


def _items_write(items: Sequence[OrderItem], plans: Sequence[Plan], now, writes: Writes) -> None:
    """Each item where its plan put it (the first allocation; further ones become split parts), or parked."""
    split_parts = []
    for item, plan in zip(items, plans):
        item.status_changed_at = now
        if plan.allocations:
            (first_facility, first_qty), *rest = plan.allocations
            item.facility_id, item.quantity, item.status = first_facility, first_qty, Status.OPEN
            item.parked_reason, item.parked_kind, item.parked_since = "", "", None
            for facility_id, qty in rest:
                split_parts.append(
                    OrderItem(order_id=item.order_id, product_id=item.product_id, quantity=qty, facility_id=facility_id,
                              status=Status.OPEN, split_from=item, status_changed_at=now)
                )
        else:
            if item.status != Status.UNROUTED or item.parked_since is None:  # re-parking keeps the item's age
                item.parked_since = now
            item.facility_id, item.status = None, Status.UNROUTED
            item.parked_reason, item.parked_kind = plan.summary, plan.parked_kind
    writes.update_rows(
        OrderItem, list(items),
        ["facility", "quantity", "status", "parked_reason", "parked_kind", "status_changed_at", "parked_since"],
    )
    if split_parts:  # rare (a line split across facilities): inserted now, apart from the other writes
        OrderItem.objects.bulk_create(split_parts, batch_size=1000)


# -- routing parked items -----------------------------------------------------------------------------------------
def items_route(
    *, facility: Facility | None = None, item_ids: Iterable[int] | None = None, product_ids: Iterable[int] | None = None,
    trigger: str = RoutingDecision.Trigger.ROUTE_ORDERS,
    progress: Callable[[int, int], None] | None = None,
) -> RouteSummary:
    """Route UNROUTED items again, in batches. `facility`: only items rejected at it or to be picked up there.
    `progress(done, total)`, when given, is called after each batch."""
    items = OrderItem.objects.filter(status=Status.UNROUTED)
    if item_ids is not None:
        item_ids = list(item_ids)
    if product_ids is not None:
        items = items.filter(product_id__in=list(product_ids))
    if facility is not None:  # a semi-join, not a join: no DISTINCT, so each keyset batch is an index range
        rejected_here = Rejection.objects.filter(facility=facility).values("order_item_id")
        items = items.filter(Q(pk__in=rejected_here) | Q(order__pickup_facility=facility))
    # Keyset batches (batches.keyset), never the list of ids: memory stays flat in the number of parked items, and
    # only moving forward (pk order) it routes no item twice, even one its own batch parked again. `item_ids` (the
    # caller's list) are read a batch at a time among them, not with the whole list in every query. With `progress`
    # (a command) one more query counts them and bounds the run to the items there at its start (pk <= the last one).
    total = 0
    if progress is not None:
        started = (items if item_ids is None else items.filter(pk__in=item_ids)).aggregate(total=Count("pk"), last=Max("pk"))
        total = started["total"]
        items = items.filter(pk__lte=started["last"] or 0)
    summary = RouteSummary()
    rerouted: Counter[int] = Counter()
    done = 0
    for batch in batches.keyset(items, among=item_ids):
        if progress is not None and done:
            progress(done, max(total, done))
        done += len(batch)
        with transaction.atomic():
            locked = [i for i in lock_items(batch) if i.status == Status.UNROUTED]
            if not locked:
                continue
            plans = items_place(items=locked, trigger=trigger)
            for plan in plans:
                if plan.allocations:
                    summary.routed += 1
                    rerouted[plan.allocations[0][0]] += 1
                else:
                    summary.parked += 1
    if progress is not None:
        progress(max(total, done), max(total, done))
    summary.rerouted = batches.counts_by_facility_code(rerouted)
    return summary
