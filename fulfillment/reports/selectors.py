"""The report's figures and breakdowns, and the Today panel: reads only, a fixed number of queries each.

Definitions (also in the README's "Reports" section):
- items rejected = Rejection rows; units rejected = the sum of their quantities;
- units routed = units the routing engine allocated to the stores on the period's local days (``RoutedUnitsDaily``,
  every allocation of every routing decision: new orders, re-routes after rejections, parked items routed again);
- item rejection rate = units rejected / units routed;
- fill rate = units completed / (units completed + units rejected), completed = items completed at the stores in the
  period (by the time they were completed);
- re-routed / parked = share of the rejected items that went to another facility / were parked;
- median time from routing to rejection: per rejection, since the latest routing decision that chose the rejecting
  store for the item (or the line it was split from).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median

from django.conf import settings
from django.db.models import (
    Aggregate, Case, Count, Min, DateField, DurationField, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet,
    Subquery, Sum, When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from fulfillment.models import OrderItem, Rejection, RoutedUnitsDaily
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


# --- headline ---------------------------------------------------------------------------------------------------


class PercentileSeconds(Aggregate):
    """PostgreSQL: the median of a duration in seconds (percentile_cont)."""

    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"
    output_field = FloatField()


def _routed_at() -> Subquery:
    decisions = RoutingDecision.objects.filter(
        Q(order_item_id=OuterRef("order_item_id")) | Q(order_item_id=OuterRef("order_item__split_from_id")),
        chosen_facility_id=OuterRef("facility_id"),
        created_at__lte=OuterRef("created_at"),
    ).order_by("-created_at", "-id")
    return Subquery(decisions.values("created_at")[:1])


def median_seconds_to_rejection(rejections: QuerySet[Rejection]) -> float | None:
    """Median time from the routing that placed the item at the store to its rejection there (one query)."""
    waits = rejections.annotate(routed_at=_routed_at()).filter(routed_at__isnull=False).annotate(
        wait=ExpressionWrapper(F("created_at") - F("routed_at"), output_field=DurationField())
    )
    if settings.IS_POSTGRES:
        return waits.order_by().aggregate(m=PercentileSeconds("wait"))["m"]
    values = [w.total_seconds() for w in waits.order_by().values_list("wait", flat=True)]
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


def headline(selection: Selection, rejections: QuerySet[Rejection]) -> Headline:
    """Four queries: the rejections, units routed, units completed, the median."""
    agg = rejections.order_by().aggregate(
        items=Count("pk"), units=Sum("quantity"), rerouted=Count("pk", filter=Q(routed_to__isnull=False))
    )
    return Headline(
        items=agg["items"],
        units=agg["units"] or 0,
        units_routed=routed_units(selection).aggregate(n=Sum("units"))["n"] or 0,
        units_completed=completed_items(selection).aggregate(n=Sum("quantity"))["n"] or 0,
        rerouted_items=agg["rerouted"],
        parked_items=agg["items"] - agg["rerouted"],
        median_seconds=median_seconds_to_rejection(rejections),
    )


# --- breakdowns -------------------------------------------------------------------------------------------------


def by_reason(rejections: QuerySet[Rejection], total_units: int) -> list[dict]:
    rows = list(
        rejections.order_by().values("reason_id", "reason__code", "reason__label")
        .annotate(items=Count("pk"), units=Sum("quantity")).order_by("-units", "reason__code")
    )
    for row in rows:
        row["share"] = _share(row["units"], total_units)
    return rows


def by_store(selection: Selection, rejections: QuerySet[Rejection], chain_rate: float | None) -> list[dict]:
    """Every selected store with units routed or rejected, highest rejection rate first; ``above_chain`` flags the
    stores whose rate is above the selection's overall rate."""
    rejected = {
        row["facility_id"]: row
        for row in rejections.order_by().values("facility_id").annotate(items=Count("pk"), units=Sum("quantity"))
    }
    routed = dict(
        routed_units(selection).order_by().values("facility_id").annotate(n=Sum("units")).values_list("facility_id", "n")
    )
    rows = []
    for facility in selection.facilities:
        r = rejected.get(facility.pk, {})
        units, units_routed = r.get("units", 0), routed.get(facility.pk, 0)
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
    rows = list(
        rejections.order_by().values("order_item__product_id", "order_item__product__sku", "order_item__product__name")
        .annotate(items=Count("pk"), units=Sum("quantity")).order_by("-units", "order_item__product__sku")[:TOP_PRODUCTS]
    )
    for row in rows:
        row["share"] = _share(row["units"], total_units)
    return rows


def by_associate(rejections: QuerySet[Rejection], total_units: int) -> list[dict]:
    rows = list(
        rejections.order_by().values("rejected_by_id", "rejected_by__username")
        .annotate(items=Count("pk"), units=Sum("quantity")).order_by("-units", "rejected_by__username")
    )
    for row in rows:
        row["share"] = _share(row["units"], total_units)
    return rows


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


def trend(selection: Selection, rejections: QuerySet[Rejection]) -> tuple[str, list[TrendPoint]]:
    """("day" | "week", one point per day or week of the period, empty ones included). Two queries."""
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
    for day, units in routed_units(selection).order_by().values("day").annotate(n=Sum("units")).values_list("day", "n"):
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


def today_panel(*, facility, counts: dict[str, int]) -> Today:
    """The facility's day so far (its local day). ``counts``: the tab counts the page already has. Two queries (three
    when the facility has a daily routing limit)."""
    now = timezone.now()
    zone = zone_of(facility.timezone)
    local_today = now.astimezone(zone).date()
    midnight = local_midnight(local_today, zone)
    Status = OrderItem.Status
    items = OrderItem.objects.filter(facility=facility).filter(Q(status=Status.OPEN) | Q(status_changed_at__gte=midnight))
    moved = items.aggregate(
        oldest=Min("order__placed_at", filter=Q(status=Status.OPEN)),
        picked=Count("pk", filter=Q(status=Status.IN_PROGRESS, status_changed_at__gte=midnight)),
        completed=Count("pk", filter=Q(status=Status.COMPLETED, status_changed_at__gte=midnight)),
    )
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
