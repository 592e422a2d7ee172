"""Reads of the store pages (Open, In Progress, Completed, an order, Report an Issue, Reject All): every dashboard
function takes the current facility and scopes to it; the rejection reasons and policies a rejection reads."""

from django.db.models import BigIntegerField, Count, Q, QuerySet, Value
from django.db.models.functions import Cast

from routing.models import RoutingDecision

from .. import policies
from ..models import OrderItem, Rejection, RejectionPolicy, RejectionReason
from ..policies import EffectivePolicy


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
