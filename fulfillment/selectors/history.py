"""The past of some items that routing and rejecting need (their rejections, the routing that chose a store)."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import Value

from routing.models import RoutingDecision

from ..models import OrderItem, Rejection


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
