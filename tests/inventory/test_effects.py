"""The pure arithmetic of inventory changes (the design's reason table) and the sentence an associate reads."""

import pytest

from inventory import effects
from inventory.effects import (
    DECREASE_ATP,
    DECREASE_ATP_AND_QOH,
    NONE,
    ZERO_ATP_AND_QOH,
    Quantities,
    available_to_promise,
    describe_rejection_outcome,
    rejection_outcome,
)


@pytest.mark.parametrize(
    "qoh, reserved, unsellable, atp",
    [(10, 1, 0, 9), (10, 1, 2, 7), (3, 5, 0, 0), (3, 1, 3, 0), (0, 0, 0, 0), (0, 2, 0, 0)],
)
def test_atp_formula_never_negative(qoh, reserved, unsellable, atp):
    assert available_to_promise(quantity_on_hand=qoh, reserved=reserved, unsellable=unsellable) == atp


@pytest.mark.parametrize(
    "qoh, reserved, unsellable, shortfall",
    [(10, 1, 0, 0), (10, 10, 0, 0), (0, 1, 0, 1), (5, 4, 3, 2), (5, 2, 3, 0)],
)
def test_a_level_is_short_when_reserved_exceeds_the_sellable_units_on_hand(qoh, reserved, unsellable, shortfall):
    quantities = Quantities(qoh, reserved, unsellable)
    assert quantities.shortfall == shortfall
    assert quantities.is_short == (shortfall > 0)


@pytest.mark.parametrize(
    "effect, after",
    [
        (ZERO_ATP_AND_QOH, Quantities(0, 0, 0)),
        (DECREASE_ATP_AND_QOH, Quantities(9, 0, 0)),
        (DECREASE_ATP, Quantities(10, 0, 1)),
        (NONE, Quantities(10, 0, 0)),
    ],
)
def test_worked_example_of_the_design(effect, after):
    # QOH 10, one unit reserved by the item being rejected: ATP 9
    outcome = rejection_outcome(quantity_on_hand=10, reserved=1, unsellable=0, quantity=1, effect=effect)
    assert outcome.before == Quantities(10, 1, 0)
    assert outcome.released == Quantities(10, 0, 0)
    assert outcome.after == after
    assert outcome.release_delta == -1
    assert (outcome.atp_before, outcome.atp_after) == (9, {ZERO_ATP_AND_QOH: 0, NONE: 10}.get(effect, 9))


def test_other_reservations_stay_reserved_for_every_effect():
    # QOH 10: this item holds 2, other items hold 3
    for effect, after in [
        (ZERO_ATP_AND_QOH, Quantities(0, 3, 0)),  # short by 3: the other items' units are promised but not here
        (DECREASE_ATP_AND_QOH, Quantities(8, 3, 0)),
        (DECREASE_ATP, Quantities(10, 3, 2)),
        (NONE, Quantities(10, 3, 0)),
    ]:
        outcome = rejection_outcome(quantity_on_hand=10, reserved=5, unsellable=0, quantity=2, effect=effect)
        assert outcome.after == after, effect
    assert rejection_outcome(quantity_on_hand=10, reserved=5, unsellable=0, quantity=2, effect=ZERO_ATP_AND_QOH).after.shortfall == 3


def test_not_in_stock_clears_unsellable_and_mismatch_caps_it_at_what_is_left():
    zero = rejection_outcome(quantity_on_hand=5, reserved=1, unsellable=2, quantity=1, effect=ZERO_ATP_AND_QOH)
    assert zero.after == Quantities(0, 0, 0)
    assert (zero.effect_qoh_delta, zero.effect_unsellable_delta) == (-5, -2)
    mismatch = rejection_outcome(quantity_on_hand=3, reserved=2, unsellable=2, quantity=2, effect=DECREASE_ATP_AND_QOH)
    assert mismatch.after == Quantities(1, 0, 1)


def test_mismatch_with_qoh_below_the_quantity_stops_at_zero():
    outcome = rejection_outcome(quantity_on_hand=1, reserved=3, unsellable=0, quantity=3, effect=DECREASE_ATP_AND_QOH)
    assert outcome.after == Quantities(0, 0, 0)
    assert outcome.effect_qoh_delta == -1


def test_damaged_is_capped_by_what_is_on_hand():
    outcome = rejection_outcome(quantity_on_hand=1, reserved=1, unsellable=0, quantity=1, effect=DECREASE_ATP)
    assert outcome.after == Quantities(1, 0, 1)
    nothing = rejection_outcome(quantity_on_hand=0, reserved=4, unsellable=0, quantity=4, effect=DECREASE_ATP)
    assert nothing.after == Quantities(0, 0, 0)
    assert nothing.effect_unsellable_delta == 0


def test_inconsistent_input_is_read_within_bounds():
    outcome = rejection_outcome(quantity_on_hand=-2, reserved=-1, unsellable=5, quantity=1, effect=DECREASE_ATP_AND_QOH)
    assert outcome.before == Quantities(0, 0, 0)
    assert outcome.after == Quantities(0, 0, 0)


def test_unknown_effect_is_refused():
    with pytest.raises(ValueError, match="unknown inventory effect 'EXPLODE'"):
        rejection_outcome(quantity_on_hand=1, reserved=1, unsellable=0, quantity=1, effect="EXPLODE")


@pytest.mark.parametrize(
    "qoh, reserved, unsellable, quantity, effect, sentence",
    [
        (10, 1, 0, 1, DECREASE_ATP,
         "on hand stays 10; reserved 1 -> 0; unsellable 0 -> 1; available stays 9: 1 unit counted as unsellable"),
        (10, 3, 0, 3, DECREASE_ATP,
         "on hand stays 10; reserved 3 -> 0; unsellable 0 -> 3; available stays 7: 3 units counted as unsellable"),
        (10, 1, 0, 1, DECREASE_ATP_AND_QOH,
         "on hand 10 -> 9; reserved 1 -> 0; unsellable stays 0; available stays 9: 1 unit removed from stock"),
        (10, 2, 1, 1, DECREASE_ATP_AND_QOH,
         "on hand 10 -> 9; reserved 2 -> 1; unsellable stays 1; available stays 7: 1 unit removed from stock"),
        (10, 2, 0, 1, ZERO_ATP_AND_QOH,
         "on hand 10 -> 0; reserved 2 -> 1; unsellable stays 0; available 8 -> 0: this store's stock of the product is set to zero"),
        (10, 1, 0, 1, NONE,
         "on hand stays 10; reserved 1 -> 0; unsellable stays 0; available 9 -> 10: the reservation is released, nothing else changes"),
        (0, 2, 0, 2, DECREASE_ATP,
         "on hand stays 0; reserved 2 -> 0; unsellable stays 0; available stays 0: no units left here to count as unsellable"),
        (0, 2, 0, 2, DECREASE_ATP_AND_QOH,
         "on hand stays 0; reserved 2 -> 0; unsellable stays 0; available stays 0: no units left here to remove from stock"),
        (1, 3, 0, 3, DECREASE_ATP_AND_QOH,
         "on hand 1 -> 0; reserved 3 -> 0; unsellable stays 0; available stays 0: 1 unit removed from stock"),
    ],
)
def test_sentences(qoh, reserved, unsellable, quantity, effect, sentence):
    outcome = rejection_outcome(quantity_on_hand=qoh, reserved=reserved, unsellable=unsellable, quantity=quantity, effect=effect)
    assert describe_rejection_outcome(outcome, effect=effect, quantity=quantity) == sentence


def test_safety_stock_of_the_level_overrides_the_facilitys_and_routing_promises_only_what_is_above_it():
    assert effects.held_back(level_safety_stock=None, facility_safety_stock=2) == 2
    assert effects.held_back(level_safety_stock=0, facility_safety_stock=2) == 0  # an explicit 0 wins
    assert effects.routable(available_to_promise=5, held_back=2) == 3
    assert effects.routable(available_to_promise=1, held_back=2) == 0
