"""Pure arithmetic of inventory changes, shared by the services (that apply it) and the selectors (that preview it).

A level holds four numbers: on hand (QOH), reserved (promised to the active items there), unsellable (on hand but
damaged or a worn display) and available to promise, which is always derived: ``max(0, QOH - reserved - unsellable)``.
"""

from dataclasses import dataclass, replace

from django.db.models import TextChoices


class InventoryEffect(TextChoices):
    """What a rejection reason does to the rejecting facility's level, after the item's reservation is released
    (RejectionReason.inventory_effect takes its values from here)."""

    ZERO_ATP_AND_QOH = "ZERO_ATP_AND_QOH", "Set ATP and QOH to 0"
    DECREASE_ATP_AND_QOH = "DECREASE_ATP_AND_QOH", "Decrease ATP and QOH by the quantity"
    DECREASE_ATP = "DECREASE_ATP", "Decrease ATP by the quantity"
    NONE = "NONE", "No change beyond releasing the reservation"


ZERO_ATP_AND_QOH = InventoryEffect.ZERO_ATP_AND_QOH
DECREASE_ATP_AND_QOH = InventoryEffect.DECREASE_ATP_AND_QOH
DECREASE_ATP = InventoryEffect.DECREASE_ATP
NONE = InventoryEffect.NONE


def held_back(*, level_safety_stock: int | None, facility_safety_stock: int) -> int:
    """Units of a level's ATP kept back from routing: the level's own safety stock, else its facility's."""
    return level_safety_stock if level_safety_stock is not None else facility_safety_stock


def routable(*, available_to_promise: int, held_back: int) -> int:
    """What routing may promise from a level: its ATP above the safety stock."""
    return max(0, available_to_promise - held_back)


def available_to_promise(*, quantity_on_hand: int, reserved: int, unsellable: int) -> int:
    """The one ATP formula (the database checks the same one): what is on hand, minus promised and unsellable units."""
    return max(0, quantity_on_hand - reserved - unsellable)


@dataclass(frozen=True)
class Quantities:
    """The stored quantities of a level (ATP derived from them)."""

    quantity_on_hand: int
    reserved: int
    unsellable: int

    @property
    def available_to_promise(self) -> int:
        return available_to_promise(quantity_on_hand=self.quantity_on_hand, reserved=self.reserved, unsellable=self.unsellable)

    @property
    def shortfall(self) -> int:
        """Reserved units that are not on the shelf as sellable units (> 0: the level is *short*)."""
        return max(0, self.reserved - (self.quantity_on_hand - self.unsellable))

    @property
    def is_short(self) -> bool:
        return self.shortfall > 0


def shortfall(*, quantity_on_hand: int, reserved: int, unsellable: int) -> int:
    return Quantities(quantity_on_hand, reserved, unsellable).shortfall


@dataclass(frozen=True)
class RejectionOutcome:
    """A level before the rejection, after releasing the item's reservation, and after the reason's effect."""

    before: Quantities
    released: Quantities
    after: Quantities

    @property
    def qoh_before(self) -> int:
        return self.before.quantity_on_hand

    @property
    def qoh_after(self) -> int:
        return self.after.quantity_on_hand

    @property
    def atp_before(self) -> int:
        return self.before.available_to_promise

    @property
    def atp_after(self) -> int:
        return self.after.available_to_promise

    @property
    def release_delta(self) -> int:
        """The change of `reserved` by the release (minus the item's units)."""
        return self.released.reserved - self.before.reserved

    @property
    def effect_qoh_delta(self) -> int:
        return self.after.quantity_on_hand - self.released.quantity_on_hand

    @property
    def effect_unsellable_delta(self) -> int:
        return self.after.unsellable - self.released.unsellable


def rejection_outcome(*, quantity_on_hand: int, reserved: int, unsellable: int, quantity: int, effect: str) -> RejectionOutcome:
    """What rejecting `quantity` units (which the item holds reserved) with a reason of `effect` does to a level.

    The design's reason table: release the item's reservation, then NOT_IN_STOCK: QOH 0 and unsellable 0; MISMATCH:
    QOH - quantity (not below 0); DAMAGED / WORN_DISPLAY: unsellable + quantity (not above QOH); INACTIVE_STORE: nothing
    more. Other items' reservations always stay (a level left with more reserved than sellable on hand is *short*).
    """
    qoh = max(0, quantity_on_hand)
    before = Quantities(qoh, max(0, reserved), max(0, min(unsellable, qoh)))
    released = replace(before, reserved=max(0, before.reserved - quantity))
    if effect == ZERO_ATP_AND_QOH:
        after = replace(released, quantity_on_hand=0, unsellable=0)
    elif effect == DECREASE_ATP_AND_QOH:
        qoh_after = max(0, qoh - quantity)
        after = replace(released, quantity_on_hand=qoh_after, unsellable=min(released.unsellable, qoh_after))
    elif effect == DECREASE_ATP:
        after = replace(released, unsellable=min(qoh, released.unsellable + quantity))
    elif effect == NONE:
        after = released
    else:
        raise ValueError(f"unknown inventory effect {effect!r}")
    return RejectionOutcome(before, released, after)


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _change(label: str, before: int, after: int) -> str:
    return f"{label} stays {before}" if before == after else f"{label} {before} -> {after}"


def describe_rejection_outcome(outcome: RejectionOutcome, *, effect: str, quantity: int) -> str:
    """A plain sentence for the associate, e.g.
    'on hand stays 10; reserved 1 -> 0; unsellable 0 -> 1; available 9 -> 9: 1 unit counted as unsellable'."""
    before, after = outcome.before, outcome.after
    numbers = "; ".join(
        [
            _change("on hand", before.quantity_on_hand, after.quantity_on_hand),
            _change("reserved", before.reserved, after.reserved),
            _change("unsellable", before.unsellable, after.unsellable),
            _change("available", before.available_to_promise, after.available_to_promise),
        ]
    )
    if effect == ZERO_ATP_AND_QOH:
        tail = "this store's stock of the product is set to zero"
    elif effect == DECREASE_ATP_AND_QOH:
        removed = before.quantity_on_hand - after.quantity_on_hand
        tail = f"{_units(removed)} removed from stock" if removed else "no units left here to remove from stock"
    elif effect == DECREASE_ATP:
        counted = outcome.effect_unsellable_delta
        tail = f"{_units(counted)} counted as unsellable" if counted else "no units left here to count as unsellable"
    else:
        tail = "the reservation is released, nothing else changes"
    return f"{numbers}: {tail}"
