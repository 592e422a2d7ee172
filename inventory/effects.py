"""Pure arithmetic of inventory changes, shared by the services (that apply it) and the selectors (that preview it)."""

from dataclasses import dataclass

ZERO_ATP_AND_QOH = "ZERO_ATP_AND_QOH"
DECREASE_ATP_AND_QOH = "DECREASE_ATP_AND_QOH"
DECREASE_ATP = "DECREASE_ATP"
NONE = "NONE"


@dataclass(frozen=True)
class RejectionOutcome:
    """QOH/ATP before, after releasing the item's reservation, and after the reason's effect."""

    qoh_before: int
    atp_before: int
    atp_released: int  # ATP after the release (capped at QOH)
    qoh_after: int
    atp_after: int

    @property
    def release_delta(self) -> int:
        return self.atp_released - self.atp_before

    @property
    def effect_atp_delta(self) -> int:
        return self.atp_after - self.atp_released

    @property
    def effect_qoh_delta(self) -> int:
        return self.qoh_after - self.qoh_before


def release(*, quantity_on_hand: int, available_to_promise: int, quantity: int) -> int:
    """ATP after giving back `quantity` reserved units: never above QOH."""
    return max(0, min(quantity_on_hand, available_to_promise + quantity))


def rejection_outcome(
    *, quantity_on_hand: int, available_to_promise: int, quantity: int, effect: str, reserved: bool = True
) -> RejectionOutcome:
    """What rejecting `quantity` units with a reason of `effect` does to a level (the design's reason table)."""
    qoh = max(0, quantity_on_hand)
    atp = max(0, min(available_to_promise, qoh))
    atp_released = release(quantity_on_hand=qoh, available_to_promise=atp, quantity=quantity) if reserved else atp
    if effect == ZERO_ATP_AND_QOH:
        qoh_after, atp_after = 0, 0
    elif effect == DECREASE_ATP_AND_QOH:
        qoh_after = max(0, qoh - quantity)
        atp_after = max(0, min(atp_released - quantity, qoh_after))
    elif effect == DECREASE_ATP:
        qoh_after = qoh
        atp_after = max(0, atp_released - quantity)
    elif effect == NONE:
        qoh_after, atp_after = qoh, atp_released
    else:
        raise ValueError(f"unknown inventory effect {effect!r}")
    return RejectionOutcome(qoh, atp, atp_released, qoh_after, atp_after)


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def describe_rejection_outcome(outcome: RejectionOutcome, *, effect: str, quantity: int) -> str:
    """A plain sentence for the associate, e.g. 'QOH stays 10; ATP 9 -> 9: 1 unit counted as unsellable'."""
    if outcome.qoh_after == outcome.qoh_before:
        qoh_part = f"QOH stays {outcome.qoh_before}"
    else:
        qoh_part = f"QOH {outcome.qoh_before} -> {outcome.qoh_after}"
    atp_part = f"ATP {outcome.atp_before} -> {outcome.atp_after}"
    if effect == ZERO_ATP_AND_QOH:
        tail = "this store's stock of the product is set to zero"
    elif effect == DECREASE_ATP_AND_QOH:
        removed = outcome.qoh_before - outcome.qoh_after
        tail = f"{_units(removed)} removed from stock" if removed else "no units left here to remove from stock"
    elif effect == DECREASE_ATP:
        unsellable = outcome.atp_released - outcome.atp_after
        tail = f"{_units(unsellable)} counted as unsellable" if unsellable else "no sellable units left here to count as unsellable"
    else:
        tail = "the reservation is released, nothing else changes"
    return f"{qoh_part}; {atp_part}: {tail}"
