"""Reads of inventory shared by pages and commands."""

from dataclasses import dataclass

from django.db.models import F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from . import effects
from .models import InventoryLevel
from .stock import LevelRow, StockSnapshot


@dataclass(frozen=True)
class EffectPreview:
    qoh_before: int
    qoh_after: int
    atp_before: int
    atp_after: int
    sentence: str


def rejection_effect_preview(*, quantity_on_hand: int, available_to_promise: int, quantity: int, effect: str, reserved: bool = True) -> EffectPreview:
    """What rejecting `quantity` units for a reason with `effect` will do at the store, before it happens."""
    outcome = effects.rejection_outcome(
        quantity_on_hand=quantity_on_hand, available_to_promise=available_to_promise,
        quantity=quantity, effect=effect, reserved=reserved,
    )
    return EffectPreview(
        qoh_before=outcome.qoh_before, qoh_after=outcome.qoh_after,
        atp_before=outcome.atp_before, atp_after=outcome.atp_after,
        sentence=effects.describe_rejection_outcome(outcome, effect=effect, quantity=quantity),
    )


def stock_snapshot_read(*, product_ids) -> StockSnapshot:
    """Every level of these products as plain rows, read without locks (one query): what routing decides on."""
    rows = InventoryLevel.objects.filter(product_id__in=sorted(set(product_ids))).values_list(
        "pk", "facility_id", "product_id", "available_to_promise", "safety_stock"
    )
    return StockSnapshot(LevelRow(*row) for row in rows)


def level_get(*, facility_id: int, product_id: int) -> InventoryLevel | None:
    return InventoryLevel.objects.filter(facility_id=facility_id, product_id=product_id).first()


def levels_not_matching_ledger() -> QuerySet[InventoryLevel]:
    """Levels whose QOH/ATP differ from the sums of their ledger deltas (the ledger invariant: always empty)."""
    return (
        InventoryLevel.objects.annotate(
            ledger_qoh=Coalesce(Sum("adjustments__qoh_delta"), Value(0)),
            ledger_atp=Coalesce(Sum("adjustments__atp_delta"), Value(0)),
        )
        .exclude(quantity_on_hand=F("ledger_qoh"), available_to_promise=F("ledger_atp"))
    )
