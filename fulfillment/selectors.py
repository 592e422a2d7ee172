"""Reads shared by the pages, admin and commands."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from .models import OrderItem, RejectionPolicy, RejectionReason


@dataclass(frozen=True)
class EffectivePolicy:
    allow_partial_order_rejection: bool
    cascade_not_in_stock: bool


def active_reasons() -> QuerySet[RejectionReason]:
    """The reasons an associate may pick, in their configured order."""
    return RejectionReason.objects.filter(is_active=True, is_system=False).order_by("sequence", "code")


def rejection_policy_for(facility) -> EffectivePolicy:
    """The facility's own policy when it has one, else the global one (defaults when neither exists)."""
    policies = {p.facility_id: p for p in RejectionPolicy.objects.filter(Q(facility=facility) | Q(facility__isnull=True))}
    policy = policies.get(facility.pk) or policies.get(None)
    if policy is None:
        return EffectivePolicy(allow_partial_order_rejection=True, cascade_not_in_stock=False)
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


def collateral_item_ids(*, item: OrderItem, reason_code: str, policy: EffectivePolicy) -> dict[int, str]:
    """Other items at the item's facility that the policies reject along with it: {item id: system reason code}."""
    collateral: dict[int, str] = {}
    if not policy.allow_partial_order_rejection:
        for pk in OrderItem.objects.filter(
            order_id=item.order_id, facility_id=item.facility_id, status__in=OrderItem.REJECTABLE
        ).exclude(pk=item.pk).values_list("pk", flat=True):
            collateral[pk] = "REJ_AVOID_ORD_SPLIT"
    if policy.cascade_not_in_stock and reason_code == "NOT_IN_STOCK":
        for pk in OrderItem.objects.filter(
            product_id=item.product_id, facility_id=item.facility_id, status=OrderItem.Status.OPEN
        ).exclude(pk=item.pk).values_list("pk", flat=True):
            collateral.setdefault(pk, "REJ_CASCADE_BY_PROD")
    return collateral


def rest_of_line_reason(*, item: OrderItem, reason_code: str, policy: EffectivePolicy) -> str | None:
    """When only part of a line is rejected: the system reason that rejects the rest of it too, or None (it stays).

    The policies that move the order's (or the product's) other items away move the rest of the line with them.
    """
    if not policy.allow_partial_order_rejection:
        return "REJ_AVOID_ORD_SPLIT"
    if policy.cascade_not_in_stock and reason_code == "NOT_IN_STOCK" and item.status == OrderItem.Status.OPEN:
        return "REJ_CASCADE_BY_PROD"
    return None


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


def dashboard_orders(*, facility, status: str, query: str = ""):
    """Orders with items at ``facility`` in ``status``, oldest first, each with ``items_here`` (only those items).

    ``query`` matches the order name, customer name or email, and the SKU, UPC or product name of those items.
    Constant queries: the page query plus one prefetch, whatever the number of orders.
    """
    from django.db.models import Exists, OuterRef, Prefetch, Q

    from fulfillment.models import Order, OrderItem

    items_here = OrderItem.objects.filter(facility=facility, status=status)
    # Drive the page from this store's items (index facility, status, order), then sort those orders. The slice is a
    # no-op LIMIT that PostgreSQL cannot flatten: without it the planner walks every order of the chain by placed_at
    # looking for this store's (recent) ones — 0.6 s instead of 7 ms for 2,000 in-progress orders among 200,000.
    orders = Order.objects.filter(pk__in=items_here.order_by().values("order_id")[:1_000_000_000])
    query = (query or "").strip()
    if query:
        product_match = items_here.filter(order=OuterRef("pk")).filter(
            Q(product__sku__icontains=query) | Q(product__upc__icontains=query) | Q(product__name__icontains=query)
        )
        orders = orders.filter(
            Q(name__icontains=query)
            | Q(customer_name__icontains=query)
            | Q(customer_email__icontains=query)
            | Exists(product_match)
        )
    return (
        orders.select_related("pickup_facility")
        .prefetch_related(
            Prefetch("items", queryset=items_here.select_related("product").order_by("id"), to_attr="items_here")
        )
        .order_by("placed_at", "id")
    )


def dashboard_order_detail(*, facility, order_id: int):
    """The order if it concerns ``facility`` (an item is there now, or was rejected there), with every item, where
    it is, its rejections and its routing decisions; None otherwise (the view answers 404)."""
    from django.db.models import Exists, OuterRef, Prefetch

    from fulfillment.models import Order, OrderItem, Rejection
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
                queryset=OrderItem.objects.select_related("product", "facility").order_by("id"),
            ),
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


def dashboard_policy_consequences(*, item, reason_code: str, policy, quantity: int | None = None) -> list[str]:
    """What the rejection policy will also reject along with ``item``, in plain sentences (shown before Save).
    ``quantity``: the units being rejected; when fewer than the line, the policies move the rest of the line too."""
    codes = list(collateral_item_ids(item=item, reason_code=reason_code, policy=policy).values())
    lines = []
    rest = item.quantity - quantity if quantity is not None and 0 < quantity < item.quantity else 0
    rest_code = rest_of_line_reason(item=item, reason_code=reason_code, policy=policy) if rest else None
    units = f"{rest} unit{'s' if rest != 1 else ''}"
    if rest_code == "REJ_AVOID_ORD_SPLIT":
        lines.append(f"The other {units} of this line will be rejected too, so the order ships together.")
    elif rest_code == "REJ_CASCADE_BY_PROD":
        lines.append(f"The other {units} of this line will be rejected too (this product is not in stock here).")
    same_order = codes.count("REJ_AVOID_ORD_SPLIT")
    if same_order:
        noun = "item" if same_order == 1 else "items"
        lines.append(
            f"The order's {same_order} other {noun} here will be rejected too, so the order ships together from elsewhere."
        )
    same_product = codes.count("REJ_CASCADE_BY_PROD")
    if same_product:
        noun = "item" if same_product == 1 else "items"
        lines.append(f"{same_product} other open {noun} of this product here will be rejected too.")
    return lines


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
    orders still have any item there in ``status``. Two queries."""
    from fulfillment.models import OrderItem

    items = list(
        OrderItem.objects.filter(pk__in=list(item_ids), facility=facility, status=status).select_related("product")
    )
    orders = set(
        OrderItem.objects.filter(order_id__in=list(order_ids), facility=facility, status=status)
        .order_by()
        .values_list("order_id", flat=True)
        .distinct()
    )
    return items, orders


# --- Operations: the parked queue (issue #4). Staff only; not scoped to a facility. ------------------------------

PARKED_KINDS = {
    # key: (label, how parked_reason begins; None = anything the others do not match)
    "pickup": ("Pickup queue: the pickup store rejected it", "PARKED_PICKUP_REJECTED"),
    "no_facility": ("No facility can take it (stock, distance, limits)", "PARKED_NO_FACILITY"),
    "no_rule": ("No routing rule for its shipping method", "PARKED_NO_RULE"),
    "other": ("Other", None),
}


def _parked_kind_conditions() -> dict[str, Q]:
    from routing import engine

    prefixes = {key: getattr(engine, const) for key, (_, const) in PARKED_KINDS.items() if const}
    conditions = {key: Q(parked_reason__startswith=prefix) for key, prefix in prefixes.items()}
    known = Q()
    for condition in conditions.values():
        known |= condition
    conditions["other"] = ~known
    return conditions


def parked_kind_of(reason: str) -> str:
    """The parked-queue kind of one parked_reason (for labels on the page)."""
    from routing import engine

    for key, (_, const) in PARKED_KINDS.items():
        if const and reason.startswith(getattr(engine, const)):
            return key
    return "other"


def parked_items(*, kind: str = "", product_query: str = "") -> QuerySet[OrderItem]:
    """UNROUTED items, oldest order first, with order, product, pickup store and their rejections (newest first,
    in ``rejections_newest``). ``kind``: a key of PARKED_KINDS; ``product_query``: part of a SKU or product name.
    Constant queries for a page of any size: the page query plus one prefetch."""
    from django.db.models import Prefetch

    from .models import Rejection

    items = OrderItem.objects.filter(status=OrderItem.Status.UNROUTED)
    if kind in PARKED_KINDS:
        items = items.filter(_parked_kind_conditions()[kind])
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
    conditions = _parked_kind_conditions()
    counts = OrderItem.objects.filter(status=OrderItem.Status.UNROUTED).aggregate(
        **{key: Count("pk", filter=condition) for key, condition in conditions.items()}
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
