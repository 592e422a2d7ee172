"""Reads shared by the pages, admin and commands."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import BigIntegerField, Count, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce

from inventory import effects
from routing.models import ParkedKind, RoutingDecision

from . import policies
from .models import OrderItem, Rejection, RejectionPolicy, RejectionReason
from .policies import EffectivePolicy


def active_reasons() -> QuerySet[RejectionReason]:
    """The reasons an associate may pick, in their configured order."""
    return RejectionReason.objects.filter(is_active=True, is_system=False).order_by("sequence", "code")


def rejection_policy_for(facility) -> EffectivePolicy:
    """The facility's own policy when it has one, else the global one (defaults when neither exists)."""
    by_facility = {p.facility_id: p for p in RejectionPolicy.objects.filter(Q(facility=facility) | Q(facility__isnull=True))}
    policy = by_facility.get(facility.pk) or by_facility.get(None)
    if policy is None:
        return EffectivePolicy()
    return EffectivePolicy(policy.allow_partial_order_rejection, policy.cascade_not_in_stock)


def items_for_reject_all(*, facility, from_status: str, order_names=None) -> QuerySet[OrderItem]:
    items = OrderItem.objects.filter(facility=facility, status=from_status)
    if order_names:
        items = items.filter(order__name__in=order_names)
    return items


def reject_all_counts(*, facility, from_status: str, order_names=None) -> tuple[int, int]:
    """(orders, items) that a Reject All of `from_status` at `facility` would reject, counted in one query."""
    counts = items_for_reject_all(facility=facility, from_status=from_status, order_names=order_names).aggregate(
        orders=Count("order_id", distinct=True), items=Count("pk")
    )
    return counts["orders"], counts["items"]


def policy_candidates(*, item: OrderItem, reason_code: str, policy: EffectivePolicy) -> list[OrderItem]:
    """The items the policy could take along with ``item``: the other workable items at its facility of the same order
    (order split avoidance) or of the same product (Not in stock cascade). At most one query, none when no policy
    applies; ``policies.rejection_plan`` decides which of them it takes."""
    condition = Q()
    if not policy.allow_partial_order_rejection:
        condition |= Q(order_id=item.order_id)
    if policies.cascades(reason_code=reason_code, policy=policy):
        condition |= Q(product_id=item.product_id)
    if item.facility_id is None or not condition:
        return []
    return list(
        OrderItem.objects.filter(condition, facility_id=item.facility_id, status__in=OrderItem.REJECTABLE)
        .exclude(pk=item.pk)
        .order_by("pk")
    )


def collateral_item_ids(*, item: OrderItem, reason_code: str, policy: EffectivePolicy) -> dict[int, str]:
    """Other items at the item's facility that the policies reject along with it: {item id: system reason code}."""
    others = policy_candidates(item=item, reason_code=reason_code, policy=policy)
    return policies.collateral_reasons(item=item, reason_code=reason_code, policy=policy, others=others)


# --- Dashboard page reads (issue #3): every function takes the current facility and scopes to it. ---------------

DASHBOARD_STATUSES = ("OPEN", "IN_PROGRESS", "COMPLETED")


def dashboard_tab_counts(*, facility) -> dict[str, int]:
    """Orders with at least one item at ``facility`` per status, in one query: {"OPEN": n, "IN_PROGRESS": n, "COMPLETED": n}."""
    from django.db.models import Count

    from fulfillment.models import OrderItem

    counts = dict.fromkeys(DASHBOARD_STATUSES, 0)
    rows = (
        OrderItem.objects.filter(facility=facility, status__in=DASHBOARD_STATUSES)
        .order_by()
        .values("status")
        .annotate(n=Count("order_id", distinct=True))
    )
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def dashboard_order_ids(*, facility, status: str, query: str = "") -> QuerySet:
    """The ids of the orders with items at ``facility`` in ``status``, oldest first: a lazy query that the paginator
    counts and slices, and ``dashboard_orders`` reads one page of.

    Driven by this store's items alone. Their copy of the order's ``placed_at`` puts them oldest first in index
    ``order_item_fac_placed_idx``, so a page reads about its own orders' items, whatever the tab's size. ``query``
    matches (case-insensitive substring) the order name, customer name or email, and the SKU, UPC or product name of
    those items: their ``search_text``, which on PostgreSQL has a GIN trigram index that starts with (facility,
    status), so a search reads only this store's matching items.
    """
    from fulfillment.models import OrderItem

    # The facility as a bigint, the column's type: btree_gin has no bigint = integer operator, so with the plain
    # literal the GIN index could not filter by facility (it would read every store's matches of the status).
    items = OrderItem.objects.filter(facility_id=Cast(Value(facility.pk), BigIntegerField()), status=status)
    query = (query or "").strip()
    if query:
        items = items.filter(search_match(query))
    # One row per order, grouped in the index's order (placed_at, order): PostgreSQL stops after the page's orders.
    return (
        items.values("order_placed_at", "order_id").annotate(items=Count("pk"))
        .order_by("order_placed_at", "order_id").values_list("order_id", flat=True)
    )


def dashboard_orders(*, facility, status: str, order_ids):
    """The orders of ``order_ids`` (a page of ``dashboard_order_ids``), oldest first, each with ``items_here`` (its
    items at ``facility`` in ``status``). Two queries, whatever the page size: the orders and their items."""
    from django.db.models import Prefetch

    from fulfillment.models import Order, OrderItem

    items_here = OrderItem.objects.filter(facility=facility, status=status).select_related("product").order_by("id")
    return (
        Order.objects.filter(pk__in=order_ids)
        .prefetch_related(Prefetch("items", queryset=items_here, to_attr="items_here"))
        .order_by("placed_at", "id")
    )


def search_match(query: str) -> Q:
    """Items whose order name, customer name or email, or product SKU, UPC or name contains ``query`` (any case)."""
    from fulfillment.models import SEARCH_SEPARATOR

    if SEARCH_SEPARATOR in query:  # the joined text could match across two fields: compare field by field
        return (
            Q(order__name__icontains=query) | Q(order__customer_name__icontains=query)
            | Q(order__customer_email__icontains=query) | Q(product__sku__icontains=query)
            | Q(product__upc__icontains=query) | Q(product__name__icontains=query)
        )
    return Q(search_text__icontains=query)


def dashboard_order_detail(*, facility, order_id: int):
    """The order if it concerns ``facility`` (an item is there now, or was rejected there), with every item, where
    it is, its rejections and its routing decisions; None otherwise (the view answers 404)."""
    from django.db.models import Exists, OuterRef, Prefetch

    from fulfillment.models import Notification, Order, OrderItem, Rejection
    from routing.models import RoutingDecision

    here = Exists(OrderItem.objects.filter(order=OuterRef("pk"), facility=facility))
    rejected_here = Exists(Rejection.objects.filter(order_item__order=OuterRef("pk"), facility=facility))
    return (
        Order.objects.filter(pk=order_id)
        .filter(here | rejected_here)
        .select_related("pickup_facility")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=OrderItem.objects.select_related("product", "facility", "pickup_facility").order_by("id"),
            ),
            Prefetch("notifications", queryset=Notification.objects.order_by("created_at", "id")),
            Prefetch(
                "items__rejections",
                queryset=Rejection.objects.select_related("reason", "facility", "routed_to", "rejected_by").order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch(
                "items__routing_decisions",
                queryset=RoutingDecision.objects.select_related("chosen_facility").order_by("created_at", "id"),
            ),
        )
        .first()
    )


def dashboard_item(*, facility, item_id: int):
    """The item if it concerns ``facility`` (it is there now, or it was rejected there), with product and order;
    None otherwise (the view answers 404). An item rejected here stays reachable so a late click gets a clear
    conflict message instead of a 404."""
    from django.db.models import Exists, OuterRef, Q

    from fulfillment.models import OrderItem, Rejection

    rejected_here = Exists(Rejection.objects.filter(order_item=OuterRef("pk"), facility=facility))
    return (
        OrderItem.objects.filter(pk=item_id)
        .filter(Q(facility=facility) | rejected_here)
        .select_related("product", "order")
        .first()
    )


def dashboard_rejection_plan(*, item, reason_code: str, policy, quantity: int | None = None) -> policies.RejectionPlan:
    """The plan the service will carry out for this rejection (``quantity`` units; the whole line when None)."""
    return policies.rejection_plan(
        item=item, reason_code=reason_code, quantity=item.quantity if quantity is None else quantity, policy=policy,
        others=policy_candidates(item=item, reason_code=reason_code, policy=policy),
    )


def dashboard_policy_consequences(*, item, reason_code: str, policy, quantity: int | None = None) -> list[str]:
    """What the rejection policy will also reject along with ``item``, in plain sentences (shown before Save).
    ``quantity``: the units being rejected; when fewer than the line, the policies move the rest of the line too."""
    return dashboard_rejection_plan(item=item, reason_code=reason_code, policy=policy, quantity=quantity).sentences()


def dashboard_inventory_level(*, facility, product):
    """The facility's level of the product, or None when it has never held it."""
    from inventory.models import InventoryLevel

    return InventoryLevel.objects.filter(facility=facility, product=product).first()


def dashboard_bulk_rejection(*, facility, bulk_id: int):
    """A Reject All of ``facility`` (None for another facility's)."""
    from fulfillment.models import BulkRejection

    return (
        BulkRejection.objects.filter(facility=facility, pk=bulk_id).select_related("reason", "requested_by").defer("item_ids").first()
    )


def facility_names(codes) -> dict[str, str]:
    """{code: name} for the given facility codes (one query)."""
    from inventory.models import Facility

    return dict(Facility.objects.filter(code__in=list(codes)).values_list("code", "name"))


def dashboard_order_ids_here(*, facility, order_ids) -> set[int]:
    """Which of ``order_ids`` have an item at ``facility`` now (any status): the others are another store's."""
    from fulfillment.models import OrderItem

    return set(
        OrderItem.objects.filter(facility=facility, order_id__in=list(order_ids))
        .order_by()
        .values_list("order_id", flat=True)
        .distinct()
    )


def dashboard_items_here(*, facility, status: str, item_ids=(), order_ids=()):
    """After a change: which of these items are still at ``facility`` in ``status`` (with product), and which of these
    orders still have any item there in ``status``. One query (the orders' items there)."""
    item_ids, order_ids = set(item_ids), set(order_ids)
    here = list(
        OrderItem.objects.filter(Q(pk__in=item_ids) | Q(order_id__in=order_ids), facility=facility, status=status)
        .select_related("product").order_by("pk")
    )
    return [i for i in here if i.pk in item_ids], {i.order_id for i in here if i.order_id in order_ids}


# --- Operations: the parked queue (issue #4). Staff only; not scoped to a facility. ------------------------------

PARKED_KINDS = {
    # key in the page's URL: (label, OrderItem.parked_kind; "" = parked without a kind, e.g. by an import or by hand)
    "pickup": (ParkedKind.PICKUP_REJECTED.label, ParkedKind.PICKUP_REJECTED),
    "no_facility": (ParkedKind.NO_FACILITY.label, ParkedKind.NO_FACILITY),
    "no_rule": (ParkedKind.NO_RULE.label, ParkedKind.NO_RULE),
    "other": ("Other", ""),
}
PARKED_KIND_KEYS = {kind: key for key, (_, kind) in PARKED_KINDS.items()}


def parked_kind_key(parked_kind: str) -> str:
    """The page's key for an item's parked_kind (for its label)."""
    return PARKED_KIND_KEYS.get(parked_kind, "other")


def parked_items(*, kind: str = "", product_query: str = "") -> QuerySet[OrderItem]:
    """UNROUTED items, oldest order first, with order, product, pickup store and their rejections (newest first,
    in ``rejections_newest``). ``kind``: a key of PARKED_KINDS; ``product_query``: part of a SKU or product name.
    Constant queries for a page of any size: the page query plus one prefetch."""
    from django.db.models import Prefetch

    from .models import Rejection

    items = OrderItem.objects.filter(status=OrderItem.Status.UNROUTED)
    if kind in PARKED_KINDS:
        items = items.filter(parked_kind=PARKED_KINDS[kind][1])
    product_query = (product_query or "").strip()
    if product_query:
        items = items.filter(Q(product__sku__icontains=product_query) | Q(product__name__icontains=product_query))
    return (
        items.select_related("order", "order__pickup_facility", "product")
        .prefetch_related(
            Prefetch(
                "rejections",
                queryset=Rejection.objects.select_related("facility", "reason").order_by("-created_at", "-pk"),
                to_attr="rejections_newest",
            )
        )
        .order_by("order__placed_at", "order_id", "pk")
    )


def parked_kind_counts() -> dict[str, int]:
    """{kind: number of parked items} for every kind of PARKED_KINDS, in one query."""
    counts = OrderItem.objects.filter(status=OrderItem.Status.UNROUTED).aggregate(
        **{key: Count("pk", filter=Q(parked_kind=kind)) for key, (_, kind) in PARKED_KINDS.items()}
    )
    return {key: counts[key] or 0 for key in PARKED_KINDS}


def parked_latest_decisions(item_ids) -> dict[int, object]:
    """{item id: its latest RoutingDecision} for a page of parked items (one query, whatever the page size)."""
    from django.db.models import Max

    from routing.models import RoutingDecision

    latest_ids = (
        RoutingDecision.objects.filter(order_item_id__in=list(item_ids))
        .order_by()
        .values("order_item_id")
        .annotate(latest=Max("pk"))
        .values_list("latest", flat=True)
    )
    return {d.order_item_id: d for d in RoutingDecision.objects.filter(pk__in=latest_ids)}


# --- The customer's pickup choice and the parked-item lifecycle (issue #11). -------------------------------------

def pickup_choice_for_page(choice_id: int):
    """The choice with its item, order, product and the store that rejected it (None when it does not exist)."""
    from .models import PickupChoice

    return (
        PickupChoice.objects.filter(pk=choice_id)
        .select_related(
            "order_item__order__pickup_facility", "order_item__product", "order_item__pickup_facility",
            "rejection__facility", "chosen_facility",
        )
        .first()
    )


@dataclass(frozen=True)
class PickupStoreOption:
    facility: object
    distance_km: float
    routable: int


def pickup_stores_for(item: OrderItem) -> list[PickupStoreOption]:
    """The pickup stores that can take the whole line now (routable ATP >= quantity, never one that rejected the
    item), nearest to the customer's address first. Two queries. The routing re-checks when the customer chooses."""
    from inventory.models import Facility, InventoryLevel
    from routing.engine import distance_km

    from .models import Rejection

    rejected_at = set(
        Rejection.objects.filter(order_item_id__in=[pk for pk in (item.pk, item.split_from_id) if pk]).values_list(
            "facility_id", flat=True
        )
    )
    levels = (
        InventoryLevel.objects.filter(
            product_id=item.product_id, available_to_promise__gte=item.quantity, facility__kind=Facility.Kind.STORE,
            facility__is_active=True, facility__allows_pickup=True, facility__allows_routing=True,
        )
        .exclude(facility_id__in=rejected_at)
        .select_related("facility")
    )
    order = item.order
    options = []
    for level in levels:
        held_back = effects.held_back(
            level_safety_stock=level.safety_stock, facility_safety_stock=level.facility.safety_stock
        )
        routable = effects.routable(available_to_promise=level.available_to_promise, held_back=held_back)
        if routable >= item.quantity:
            f = level.facility
            options.append(PickupStoreOption(f, distance_km(order.ship_to_latitude, order.ship_to_longitude, f.latitude, f.longitude), routable))
    return sorted(options, key=lambda o: (o.distance_km, o.facility.code))


@dataclass
class ParkedLimits:
    """How many days a parked item may wait, by facility: the global limit unless a group of the facility has a policy
    (then the shortest of those groups' limits; a group policy left empty means never)."""

    global_days: int | None
    group_days: dict[int, int | None]
    groups_of_facility: dict[int, set[int]]

    @property
    def shortest(self) -> int | None:
        days = [d for d in [self.global_days, *self.group_days.values()] if d]
        return min(days) if days else None

    def days_for(self, facility_id: int | None) -> int | None:
        groups = self.groups_of_facility.get(facility_id, set()) if facility_id else set()
        if groups:
            days = [self.group_days[g] for g in groups if self.group_days[g]]
            return min(days) if days else None
        return self.global_days

    def cancel_at(self, parked_since, facility_id: int | None):
        """When an item parked since `parked_since` is cancelled (None: never)."""
        from datetime import timedelta

        days = self.days_for(facility_id)
        if not days or parked_since is None:
            return None
        return parked_since + timedelta(days=days)


def parked_limits() -> ParkedLimits:
    """The parked-item policies in two queries."""
    from inventory.models import FacilityGroup

    from .models import ParkedItemPolicy

    global_days, group_days = None, {}
    for policy in ParkedItemPolicy.objects.all():
        if policy.facility_group_id is None:
            global_days = policy.cancel_after_days
        else:
            group_days[policy.facility_group_id] = policy.cancel_after_days
    groups_of_facility: dict[int, set[int]] = {}
    if group_days:
        for facility_id, group_id in FacilityGroup.facilities.through.objects.filter(
            facilitygroup_id__in=list(group_days)
        ).values_list("facility_id", "facilitygroup_id"):
            groups_of_facility.setdefault(facility_id, set()).add(group_id)
    return ParkedLimits(global_days, group_days, groups_of_facility)


def parked_home_facilities(items) -> dict[int, int | None]:
    """{item id: the facility whose groups decide its parked limit}: the last that rejected it, else its pickup store.
    Items read by ``parked_items`` carry their rejections (newest first); for others, one query for any number."""
    from .models import Rejection

    items = list(items)
    last: dict[int, int] = {}
    if all(hasattr(i, "rejections_newest") for i in items):
        last = {i.pk: i.rejections_newest[0].facility_id for i in items if i.rejections_newest}
    else:
        for item_id, facility_id in (
            Rejection.objects.filter(order_item_id__in=[i.pk for i in items])
            .order_by("order_item_id", "-created_at", "-pk")
            .values_list("order_item_id", "facility_id")
        ):
            last.setdefault(item_id, facility_id)
    return {i.pk: last.get(i.pk) or i.effective_pickup_facility_id for i in items}


def parked_since(item: OrderItem):
    """When the item was parked: ``parked_since``, or for an item parked without one (by hand in the admin, by an old
    import) its last status change. ``PARKED_SINCE`` is the same rule as a query expression."""
    return item.parked_since or item.status_changed_at


PARKED_SINCE = Coalesce("parked_since", "status_changed_at")


@dataclass(frozen=True)
class ParkedDeadline:
    since: object  # datetime
    limit_days: int | None  # None: never cancelled automatically
    cancel_at: object  # datetime, None: never


def parked_deadlines(items, limits: ParkedLimits) -> dict[int, ParkedDeadline]:
    """{item id: when the parked item is cancelled}: the one rule the parked page shows and ``cancel_stale_parked``
    applies. The limit is that of the item's home facility (``parked_home_facilities``), counted from
    ``parked_since(item)``. One query for any number of items."""
    items = list(items)
    home = parked_home_facilities(items)
    deadlines = {}
    for item in items:
        since = parked_since(item)
        deadlines[item.pk] = ParkedDeadline(since, limits.days_for(home[item.pk]), limits.cancel_at(since, home[item.pk]))
    return deadlines


DIGEST_LISTED = 100  # parked items and waiting choices listed one by one in a digest; the rest are counted


def operations_digest(*, day, now=None) -> dict:
    """What the operations digest reports (plain values, JSON-able): the day's rejections by store and reason and
    the items auto-cancelled that day; parked items with their age and the pickup choices still waiting, as of now."""
    import datetime as dt

    from django.utils import timezone

    from routing.models import RoutingDecision

    from .models import PickupChoice, Rejection

    now = now or timezone.now()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    rejections = [
        {"store": store, "reason": reason, "items": n}
        for store, reason, n in Rejection.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("facility__name", "reason__label").annotate(n=Count("pk")).order_by("facility__name", "-n", "reason__label")
    ]
    parked_qs = OrderItem.objects.filter(status=OrderItem.Status.UNROUTED)
    parked = [
        {"order": order, "sku": sku, "quantity": qty, "days": (now - since).days if since else 0, "why": (reason or "")[:120]}
        for order, sku, qty, since, reason in parked_qs.order_by("parked_since", "pk").values_list(
            "order__name", "product__sku", "quantity", "parked_since", "parked_reason"
        )[:DIGEST_LISTED]
    ]
    waiting_qs = PickupChoice.objects.filter(used_at__isnull=True, order_item__status=OrderItem.Status.UNROUTED)
    waiting = [
        {"order": order, "sku": sku, "asked_on": f"{created:%d %b}", "expires_on": f"{expires:%d %b}"}
        for order, sku, created, expires in waiting_qs.order_by("created_at", "pk").values_list(
            "order_item__order__name", "order_item__product__sku", "created_at", "expires_at"
        )[:DIGEST_LISTED]
    ]
    cancelled = [
        {"order": order, "sku": sku, "quantity": qty, "why": summary}
        for order, sku, qty, summary in RoutingDecision.objects.filter(
            outcome=RoutingDecision.Outcome.CANCELLED, created_at__gte=start, created_at__lt=end
        ).order_by("created_at", "pk").values_list("order_item__order__name", "order_item__product__sku", "order_item__quantity", "summary")
    ]
    return {
        "day": day.isoformat(),
        "rejections": rejections,
        "rejected_items": sum(r["items"] for r in rejections),
        "parked": parked,
        "parked_total": parked_qs.count(),
        "waiting": waiting,
        "waiting_total": waiting_qs.count(),
        "cancelled": cancelled,
    }


# --- Inventory invariant (issue #9) ------------------------------------------------------------------------------


def levels_breaking_inventory_invariant() -> list:
    """Levels that break the inventory invariant (always empty): `reserved` differs from the sum of the quantities of
    the OPEN and IN_PROGRESS items at that facility and product, or a quantity differs from the sum of its ledger
    deltas, or ATP is not max(0, QOH - reserved - unsellable). Each annotated with ``active_reserved`` and the ledger
    sums. Three queries whatever the size (two grouped scans and the broken levels), so it also runs on volume data."""
    from django.db.models import Sum

    from inventory.models import InventoryLevel
    from inventory.selectors import levels_not_matching_ledger, levels_with_ledger_sums

    active = {
        (facility_id, product_id): total
        for facility_id, product_id, total in OrderItem.objects.filter(status__in=OrderItem.REJECTABLE)
        .order_by()
        .values("facility_id", "product_id")
        .annotate(total=Sum("quantity"))
        .values_list("facility_id", "product_id", "total")
    }
    broken_ids = set(levels_not_matching_ledger().values_list("pk", flat=True))
    for pk, facility_id, product_id, reserved in InventoryLevel.objects.values_list(
        "pk", "facility_id", "product_id", "reserved"
    ).iterator(chunk_size=10_000):
        if reserved != active.get((facility_id, product_id), 0):
            broken_ids.add(pk)
    if not broken_ids:
        return []
    levels = list(
        levels_with_ledger_sums().filter(pk__in=broken_ids).select_related("facility", "product")
        .order_by("facility__code", "product__sku")
    )
    for level in levels:
        level.active_reserved = active.get((level.facility_id, level.product_id), 0)
    return levels


def active_items_without_level():
    """OPEN / IN_PROGRESS items at a facility that has no inventory level of their product (they reserve nothing:
    the invariant is broken too)."""
    from django.db.models import Exists, OuterRef

    from inventory.models import InventoryLevel

    has_level = InventoryLevel.objects.filter(facility_id=OuterRef("facility_id"), product_id=OuterRef("product_id"))
    return (
        OrderItem.objects.filter(status__in=OrderItem.REJECTABLE)
        .exclude(Exists(has_level))
        .select_related("order", "product", "facility")
        .order_by("pk")
    )


def inventory_level_items(levels) -> dict[tuple[int, int], list[OrderItem]]:
    """{(facility id, product id): the level's OPEN and IN_PROGRESS items} for these levels (one query)."""
    keys = {(lvl.facility_id, lvl.product_id) for lvl in levels}
    if not keys:
        return {}
    condition = Q()
    for facility_id, product_id in keys:
        condition |= Q(facility_id=facility_id, product_id=product_id)
    by_level: dict[tuple[int, int], list[OrderItem]] = {}
    for item in (
        OrderItem.objects.filter(condition, status__in=OrderItem.REJECTABLE).select_related("order").order_by("pk")
    ):
        by_level.setdefault((item.facility_id, item.product_id), []).append(item)
    return by_level


def dashboard_shortness_consequence(*, item, reason_code: str, policy, after) -> str:
    """When a rejection would leave the level *short* (other items hold more reserved units than are sellable on hand
    after it): what happens to those items under the store's policy, in one sentence ("" when it is not short).
    ``after``: the level's quantities after the rejection (inventory.effects.Quantities)."""
    from django.db.models import Sum

    if not after.is_short:
        return ""
    sellable = after.quantity_on_hand - after.unsellable
    held = f"Other items here hold {after.reserved} reserved unit{'s' if after.reserved != 1 else ''}"
    held += f" but only {sellable} sellable {'unit is' if sellable == 1 else 'units are'} on hand"
    if policies.cascades(reason_code=reason_code, policy=policy):
        cascaded = (
            OrderItem.objects.filter(product_id=item.product_id, facility_id=item.facility_id, status=OrderItem.Status.OPEN)
            .exclude(pk=item.pk)
            .aggregate(units=Sum("quantity"))["units"]
            or 0
        )
        still_short = max(0, after.shortfall - cascaded)
        if not still_short:
            return (
                f"{held}: the store's policy (cascade by product) rejects those open items too and re-routes them, "
                "so nothing here is left short."
            )
        return (
            f"{held}: the store's policy (cascade by product) re-routes the open ones; in-progress items keep "
            f"{still_short} reserved unit{'s' if still_short != 1 else ''} here and show as short until stock "
            "arrives or they are rejected."
        )
    return (
        f"{held}: this store will be short {after.shortfall}. Those items stay here and show as short on their orders "
        "until stock arrives or they are rejected (the store's policy does not re-route them)."
    )


def short_levels_of_items(items) -> dict[tuple[int, int], object]:
    """{(facility id, product id): level} of the *short* levels among the active items' levels (one query): levels
    holding more reserved units than sellable units on hand. The order page marks those items short."""
    from inventory.models import InventoryLevel

    keys = {(i.facility_id, i.product_id) for i in items if i.status in OrderItem.REJECTABLE and i.facility_id}
    if not keys:
        return {}
    condition = Q()
    for facility_id, product_id in keys:
        condition |= Q(facility_id=facility_id, product_id=product_id)
    short = InventoryLevel.objects.filter(condition).short()
    return {(lvl.facility_id, lvl.product_id): lvl for lvl in short}


@dataclass
class ItemsHistory:
    """What routing and rejecting need to know of some items' past, read in one query (items_history_read)."""

    rejected_on: dict[int, dict[int, date]]  # item id -> {facility id: day it rejected the item (or its line)}
    routed_at: dict[int, object]  # item id -> when the facility asked about last chose it (or its line); None: unknown


def items_history_read(items: Sequence[OrderItem], *, routed_to: int | None = None) -> ItemsHistory:
    """The items' rejections, including those of the line each was split from, and — with `routed_to` — when the
    latest routing decision that chose that facility was made (Rejection.routed_at). One query: the two reads are one
    UNION ALL."""
    origin = {item.pk: item.split_from_id for item in items}
    lookup_ids = set(origin) | {pk for pk in origin.values() if pk}
    rows = Rejection.objects.filter(order_item_id__in=lookup_ids).order_by().annotate(
        decision=Value(False)
    ).values_list("decision", "order_item_id", "facility_id", "created_at")
    if routed_to is not None:
        rows = rows.union(
            RoutingDecision.objects.filter(order_item_id__in=lookup_ids, chosen_facility_id=routed_to).order_by()
            .annotate(decision=Value(True)).values_list("decision", "order_item_id", "chosen_facility_id", "created_at"),
            all=True,
        ).order_by()
    rejected: dict[int, dict[int, date]] = defaultdict(dict)
    latest_choice: dict[int, object] = {}
    for decision, item_id, facility_id, created_at in sorted(rows, key=lambda row: row[3]):  # oldest first: the last wins
        if decision:
            latest_choice[item_id] = created_at
        else:
            rejected[item_id][facility_id] = created_at.date()  # the latest day the facility rejected it
    rejected_on, routed_at = {}, {}
    for item in items:
        merged = dict(rejected.get(item.split_from_id, {})) if item.split_from_id else {}
        merged.update(rejected.get(item.pk, {}))
        rejected_on[item.pk] = merged
        routed_at[item.pk] = latest_choice.get(item.pk) or latest_choice.get(item.split_from_id)
    return ItemsHistory(rejected_on=rejected_on, routed_at=routed_at)
