"""Reads of inventory shared by pages and commands."""

from dataclasses import dataclass

from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from . import effects
from .models import InventoryAdjustment, InventoryLevel


@dataclass(frozen=True)
class EffectPreview:
    before: effects.Quantities
    after: effects.Quantities
    sentence: str

    @property
    def rows(self) -> list[tuple[str, int, int]]:
        """(label, before, after) for on hand, reserved, unsellable and available, in the order the page shows them."""
        b, a = self.before, self.after
        return [
            ("On hand (QOH)", b.quantity_on_hand, a.quantity_on_hand),
            ("Reserved", b.reserved, a.reserved),
            ("Unsellable", b.unsellable, a.unsellable),
            ("Available (ATP)", b.available_to_promise, a.available_to_promise),
        ]


def rejection_effect_preview(*, quantity_on_hand: int, reserved: int, unsellable: int, quantity: int, effect: str) -> EffectPreview:
    """What rejecting `quantity` units for a reason with `effect` will do at the store, before it happens."""
    outcome = effects.rejection_outcome(
        quantity_on_hand=quantity_on_hand, reserved=reserved, unsellable=unsellable, quantity=quantity, effect=effect
    )
    return EffectPreview(
        before=outcome.before, after=outcome.after,
        sentence=effects.describe_rejection_outcome(outcome, effect=effect, quantity=quantity),
    )


def level_get(*, facility_id: int, product_id: int) -> InventoryLevel | None:
    return InventoryLevel.objects.filter(facility_id=facility_id, product_id=product_id).first()


def _ledger_sum(field: str) -> Coalesce:
    sums = (
        InventoryAdjustment.objects.filter(level=OuterRef("pk")).order_by().values("level")
        .annotate(total=Sum(field)).values("total")
    )
    return Coalesce(Subquery(sums, output_field=IntegerField()), Value(0))


def levels_with_ledger_sums() -> QuerySet[InventoryLevel]:
    """Levels annotated with the sums of their ledger deltas (ledger_qoh, ledger_reserved, ledger_unsellable,
    ledger_atp) and with the ATP its formula gives (formula_atp)."""
    return InventoryLevel.objects.annotate(
        ledger_qoh=_ledger_sum("qoh_delta"),
        ledger_reserved=_ledger_sum("reserved_delta"),
        ledger_unsellable=_ledger_sum("unsellable_delta"),
        ledger_atp=_ledger_sum("atp_delta"),
        formula_atp=Greatest(Value(0), F("quantity_on_hand") - F("reserved") - F("unsellable")),
    )


LEDGER_MATCHES = Q(
    quantity_on_hand=F("ledger_qoh"), reserved=F("ledger_reserved"), unsellable=F("ledger_unsellable"),
    available_to_promise=F("ledger_atp"),
) & Q(available_to_promise=F("formula_atp"))


def levels_not_matching_ledger() -> QuerySet[InventoryLevel]:
    """Levels whose quantities differ from the sums of their ledger deltas, or whose ATP is not its formula
    (the inventory side of the invariant: always empty). The reservations' side is in fulfillment's selectors."""
    return levels_with_ledger_sums().exclude(LEDGER_MATCHES)


def short_levels() -> QuerySet[InventoryLevel]:
    """Levels holding more reserved units than sellable units on hand."""
    return InventoryLevel.objects.filter(reserved__gt=F("quantity_on_hand") - F("unsellable"))
