"""The report's figures and breakdowns, and the Today panel: reads only, a fixed number of queries each.

Definitions (also in the README's "Reports" section):
- items rejected = Rejection rows; units rejected = the sum of their quantities;
- units routed = units the routing engine allocated to the stores on the period's local days (``RoutedUnitsDaily``,
  every allocation of every routing decision: new orders, re-routes after rejections, parked items routed again);
- item rejection rate = units rejected / units routed;
- fill rate = units completed / (units completed + units rejected), completed = items completed at the stores in the
  period (by the time they were completed);
- re-routed / parked = share of the rejected items that went to another facility / were parked;
- median time from routing to rejection: per rejection, ``created_at - routed_at`` (the latest routing decision that
  chose the rejecting store for the item, or the line it was split from, recorded with the rejection).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median

from django.conf import settings
from django.db.models import (
    Aggregate, Case, Count, DateField, DurationField, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet,
    Subquery, Sum, When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from fulfillment.models import OrderItem, Rejection, RoutedUnitsDaily
from inventory.models import Facility, Product
from routing.models import FacilityDailyLoad, RoutingDecision

from .filters import Selection, product_q
from .periods import facilities_by_zone, local_midnight, period_q, zone_of

TOP_PRODUCTS = 20
WEEKLY_AFTER_DAYS = 56  # longer ranges are charted by week (Monday to Sunday)


def _share(part, whole) -> float | None:
    return part / whole if whole else None


# --- the rows ---------------------------------------------------------------------------------------------------


def routed_units(selection: Selection) -> QuerySet[RoutedUnitsDaily]:
    rows = RoutedUnitsDaily.objects.filter(
        facility_id__in=[f.pk for f in selection.facilities], day__gte=selection.date_from, day__lte=selection.date_to
    )
    if selection.product:
        rows = rows.filter(product_q(selection.product, "product__"))
    if selection.shipping_method:
        rows = rows.filter(shipping_method=selection.shipping_method)
    return rows


def completed_items(selection: Selection) -> QuerySet[OrderItem]:
    items = OrderItem.objects.filter(status=OrderItem.Status.COMPLETED).filter(
        period_q(selection.facilities, selection.date_from, selection.date_to, facility_field="facility_id", time_field="status_changed_at")
    )
    if selection.product:
        items = items.filter(product_q(selection.product, "product__"))
    if selection.shipping_method:
        items = items.filter(order__shipping_method=selection.shipping_method)
    return items


def drill_down_rows(rejections: QuerySet[Rejection]) -> QuerySet[Rejection]:
    """The rejection rows behind the figures, newest first, with what a row shows (one query per page)."""
    return rejections.select_related(
        "order_item__order", "order_item__product", "facility", "reason", "routed_to", "rejected_by"
    ).order_by("-created_at", "-id")


# --- one pass over the rejections, one over the roll-up ------------------------------------------------------------


def rejection_groups(rejections: QuerySet[Rejection]) -> list[dict]:
    """The rejections grouped by (reason, store, associate): a few hundred rows from which the headline and the
    reason, store and associate breakdowns are all summed (one scan of the rejection rows instead of four)."""
    return list(
        rejections.order_by().values(
            "reason_id", "reason__code", "reason__label", "facility_id", "rejected_by_id", "rejected_by__username"
        ).annotate(items=Count("pk"), units=Sum("quantity"), rerouted=Count("pk", filter=Q(routed_to__isnull=False)))
    )


def routed_groups(selection: Selection) -> list[tuple[int, date, int]]:
    """Units routed per (store, local day) in the selection: [(facility id, day, units)] (one query)."""
    return list(routed_units(selection).order_by().values("facility_id", "day").annotate(n=Sum("units")).values_list(
        "facility_id", "day", "n"
    ))


# --- headline ---------------------------------------------------------------------------------------------------


class PercentileSeconds(Aggregate):
    """PostgreSQL: the median of a duration in seconds (percentile_cont)."""

    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    output_field = FloatField()


def latest_decision_here(**item) -> Subquery:
    """When the latest routing decision that chose the rejection's facility for the item was made (for the migration
    that fills ``Rejection.routed_at``)."""
    decisions = RoutingDecision.objects.filter(
        **item, chosen_facility_id=OuterRef("facility_id"), created_at__lte=OuterRef("created_at")
    ).order_by("-created_at", "-id")
    return Subquery(decisions.values("created_at")[:1])


def median_seconds_to_rejection(rejections: QuerySet[Rejection]) -> float | None:
    """Median of (rejected at - routed at) over the rejections whose routing is known (one query)."""
    waits = rejections.order_by().filter(routed_at__isnull=False).annotate(
        wait=ExpressionWrapper(F("created_at") - F("routed_at"), output_field=DurationField())
    )
    if settings.IS_POSTGRES:
        return waits.aggregate(m=PercentileSeconds("wait"))["m"]
    values = [w.total_seconds() for w in waits.values_list("wait", flat=True)]
    return median(values) if values else None


@dataclass
class Headline:
    items: int
    units: int
    units_routed: int
    units_completed: int
    rerouted_items: int
    parked_items: int
    median_seconds: float | None

    @property
    def rejection_rate(self) -> float | None:
        return _share(self.units, self.units_routed)

    @property
    def fill_rate(self) -> float | None:
        return _share(self.units_completed, self.units_completed + self.units)

    @property
    def rerouted_share(self) -> float | None:
        return _share(self.rerouted_items, self.items)

    @property
    def parked_share(self) -> float | None:
        return _share(self.parked_items, self.items)


def headline(selection: Selection, rejections: QuerySet[Rejection], groups: list[dict], routed: list[tuple]) -> Headline:
    """From the groups and the roll-up, plus two queries: units completed and the median."""
    items = sum(g["items"] for g in groups)
    rerouted = sum(g["rerouted"] for g in groups)
    return Headline(
        items=items,
        units=sum(g["units"] for g in groups),
        units_routed=sum(n for _, _, n in routed),
        units_completed=completed_items(selection).aggregate(n=Sum("quantity"))["n"] or 0,
        rerouted_items=rerouted,
        parked_items=items - rerouted,
        median_seconds=median_seconds_to_rejection(rejections),
    )


# --- breakdowns -------------------------------------------------------------------------------------------------


def _sum_by(groups: list[dict], keys: tuple[str, ...], total_units: int) -> list[dict]:
    rows: dict[tuple, dict] = {}
    for g in groups:
        key = tuple(g[k] for k in keys)
        row = rows.setdefault(key, {**{k: g[k] for k in keys}, "items": 0, "units": 0})
        row["items"] += g["items"]
        row["units"] += g["units"]
    result = list(rows.values())
    for row in result:
        row["share"] = _share(row["units"], total_units)
    return result


def by_reason(groups: list[dict], total_units: int) -> list[dict]:
    rows = _sum_by(groups, ("reason_id", "reason__code", "reason__label"), total_units)
    return sorted(rows, key=lambda r: (-r["units"], r["reason__code"]))


def by_associate(groups: list[dict], total_units: int) -> list[dict]:
    rows = _sum_by(groups, ("rejected_by_id", "rejected_by__username"), total_units)
    return sorted(rows, key=lambda r: (-r["units"], r["rejected_by__username"] or ""))


def by_store(selection: Selection, groups: list[dict], routed: list[tuple], chain_rate: float | None) -> list[dict]:
    """Every selected store with units routed or rejected, highest rejection rate first; ``above_chain`` flags the
    stores whose rate is above the selection's overall rate."""
    rejected = {r["facility_id"]: r for r in _sum_by(groups, ("facility_id",), 0)}
    routed_here: dict[int, int] = defaultdict(int)
    for facility_id, _day, n in routed:
        routed_here[facility_id] += n
    rows = []
    for facility in selection.facilities:
        r = rejected.get(facility.pk, {})
        units, units_routed = r.get("units", 0), routed_here.get(facility.pk, 0)
        if not units and not units_routed:
            continue
        rate = _share(units, units_routed)
        rows.append({
            "facility": facility, "items": r.get("items", 0), "units": units, "units_routed": units_routed, "rate": rate,
            "above_chain": rate is not None and chain_rate is not None and rate > chain_rate,
        })
    rows.sort(key=lambda row: (-(row["rate"] if row["rate"] is not None else float("inf")), row["facility"].code))
    return rows


def by_product(rejections: QuerySet[Rejection], total_units: int) -> list[dict]:
    """The 20 products with the most units rejected (grouped by product id, then named: two small queries)."""
    top = list(
        rejections.order_by().values("order_item__product_id").annotate(items=Count("pk"), units=Sum("quantity"))
        .order_by("-units", "order_item__product_id")[:TOP_PRODUCTS]
    )
    names = {p.pk: p for p in Product.objects.filter(pk__in=[r["order_item__product_id"] for r in top])}
    for row in top:
        product = names[row["order_item__product_id"]]
        row["order_item__product__sku"], row["order_item__product__name"] = product.sku, product.name
        row["share"] = _share(row["units"], total_units)
    return top


# --- trend ------------------------------------------------------------------------------------------------------


def _local_day(selection: Selection):
    """The rejection's local date at its store: one CASE over the stores' time zones (one query for any mix)."""
    zones = facilities_by_zone(selection.facilities)
    whens = [
        When(facility_id__in=ids, then=TruncDate("created_at", tzinfo=zone_of(name))) for name, ids in zones.items()
    ]
    return Case(*whens, output_field=DateField()) if whens else TruncDate("created_at")


@dataclass
class TrendPoint:
    start: date
    end: date
    units: int = 0
    units_routed: int = 0
    by_reason: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return _share(self.units, self.units_routed)


def trend(selection: Selection, rejections: QuerySet[Rejection], routed: list[tuple]) -> tuple[str, list[TrendPoint]]:
    """("day" | "week", one point per day or week of the period, empty ones included). One query."""
    weekly = selection.days > WEEKLY_AFTER_DAYS

    def bucket(day: date) -> date:
        return day - timedelta(days=day.weekday()) if weekly else day

    points: dict[date, TrendPoint] = {}
    day = selection.date_from
    while day <= selection.date_to:
        start = bucket(day)
        if start not in points:
            end = min(start + timedelta(days=6), selection.date_to) if weekly else day
            points[start] = TrendPoint(start=max(start, selection.date_from), end=end)
        day += timedelta(days=1)
    rows = rejections.order_by().annotate(local_day=_local_day(selection)).values("local_day", "reason_id").annotate(
        units=Sum("quantity")
    )
    for row in rows:
        point = points.get(bucket(row["local_day"]))
        if point is not None:
            point.units += row["units"]
            point.by_reason[row["reason_id"]] = point.by_reason.get(row["reason_id"], 0) + row["units"]
    for _facility_id, day, units in routed:
        point = points.get(bucket(day))
        if point is not None:
            point.units_routed += units
    return ("week" if weekly else "day"), list(points.values())


# --- Today panel ------------------------------------------------------------------------------------------------


@dataclass
class Today:
    open_orders: int
    in_progress_orders: int
    oldest_waiting_minutes: int | None
    waiting_level: str  # "ok" | "amber" | "red"
    rejected_by_reason: list[dict]
    picked_items: int
    completed_items: int
    routed_lines: int | None
    daily_limit: int | None

    @property
    def rejected_items(self) -> int:
        return sum(row["items"] for row in self.rejected_by_reason)

    @property
    def limit_share(self) -> float | None:
        return _share(self.routed_lines, self.daily_limit) if self.daily_limit else None


def _count(items) -> Subquery:
    """COUNT(*) of these items as a scalar subquery (0 when none)."""
    return Coalesce(Subquery(items.values("facility_id").annotate(n=Count("pk")).values("n")[:1]), 0)


def today_panel(*, facility, counts: dict[str, int]) -> Today:
    """The facility's day so far (its local day). ``counts``: the tab counts the page already has. Two queries (three
    when the facility has a daily routing limit)."""
    now = timezone.now()
    local_today = facility.local_date(now)
    midnight = local_midnight(local_today, facility.zone)
    Status = OrderItem.Status
    here = OrderItem.objects.filter(facility=facility)
    changed_today = here.filter(status_changed_at__gte=midnight).order_by()
    # One query, three index probes: the earliest open item by (facility, status, order_placed_at), and today's moves by
    # (facility, status_changed_at).
    moved = Facility.objects.filter(pk=facility.pk).values(
        oldest=Subquery(
            here.filter(status=Status.OPEN, order_placed_at__isnull=False)  # NULLs sort first on SQLite, last on PostgreSQL
            .order_by("order_placed_at").values("order_placed_at")[:1]
        ),
        picked=_count(changed_today.filter(status=Status.IN_PROGRESS)),
        completed=_count(changed_today.filter(status=Status.COMPLETED)),
    ).get()
    oldest = moved["oldest"]
    minutes = max(0, int((now - oldest).total_seconds() // 60)) if oldest else None
    level = "ok"
    if minutes is not None and minutes >= facility.waiting_red_minutes:
        level = "red"
    elif minutes is not None and minutes >= facility.waiting_amber_minutes:
        level = "amber"
    rejected = list(
        Rejection.objects.filter(facility=facility, created_at__gte=midnight).order_by()
        .values("reason__code", "reason__label").annotate(items=Count("pk")).order_by("-items", "reason__code")
    )
    routed_lines = None
    if facility.daily_order_limit is not None:
        routed_lines = (
            FacilityDailyLoad.objects.filter(facility=facility, day=local_today).values_list("routed_lines", flat=True).first()
            or 0
        )
    return Today(
        open_orders=counts.get("OPEN", 0),
        in_progress_orders=counts.get("IN_PROGRESS", 0),
        oldest_waiting_minutes=minutes,
        waiting_level=level,
        rejected_by_reason=rejected,
        picked_items=moved["picked"],
        completed_items=moved["completed"],
        routed_lines=routed_lines,
        daily_limit=facility.daily_order_limit,
    )
