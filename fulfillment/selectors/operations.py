"""Reads of the operations team: the parked queue, when a parked item is cancelled, and the operations digest."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce

from routing.models import ParkedKind, RoutingDecision

from ..models import OrderItem, Rejection


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

    from ..models import Rejection

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

    from ..models import ParkedItemPolicy

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
    from ..models import Rejection

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

    from ..models import PickupChoice, Rejection

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
