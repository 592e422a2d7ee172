"""The pure arithmetic of inventory changes (the design's reason table) and the sentence an associate reads."""

import pytest

from inventory import effects
from inventory.effects import (
    DECREASE_ATP,
    DECREASE_ATP_AND_QOH,
    NONE,
    ZERO_ATP_AND_QOH,
    describe_rejection_outcome,
    rejection_outcome,
)


@pytest.mark.parametrize(
    "qoh, atp, quantity, expected",
    [
        (10, 9, 1, 10),  # the item's unit comes back
        (10, 10, 3, 10),  # capped at QOH
        (3, 0, 5, 3),  # more reserved than on the shelf (a count took units away)
        (0, 0, 2, 0),  # nothing left: stays 0
        (5, 1, 0, 1),
    ],
)
def test_release_is_capped_at_qoh_and_never_negative(qoh, atp, quantity, expected):
    assert effects.release(quantity_on_hand=qoh, available_to_promise=atp, quantity=quantity) == expected


@pytest.mark.parametrize(
    "effect, qoh_after, atp_after",
    [
        (ZERO_ATP_AND_QOH, 0, 0),
        (DECREASE_ATP_AND_QOH, 9, 9),
        (DECREASE_ATP, 10, 9),
        (NONE, 10, 10),
    ],
)
def test_worked_example_of_the_design(effect, qoh_after, atp_after):
    # QOH 10, ATP 9: one unit is reserved by the item being rejected
    outcome = rejection_outcome(quantity_on_hand=10, available_to_promise=9, quantity=1, effect=effect)
    assert (outcome.qoh_before, outcome.atp_before, outcome.atp_released) == (10, 9, 10)
    assert (outcome.qoh_after, outcome.atp_after) == (qoh_after, atp_after)
    assert outcome.release_delta == 1
    assert outcome.release_delta + outcome.effect_atp_delta == atp_after - 9
    assert outcome.effect_qoh_delta == qoh_after - 10


def test_other_reservations_stay_reserved():
    # QOH 10, ATP 5: this item holds 2, other items hold 3
    mismatch = rejection_outcome(quantity_on_hand=10, available_to_promise=5, quantity=2, effect=DECREASE_ATP_AND_QOH)
    assert (mismatch.qoh_after, mismatch.atp_after) == (8, 5)  # 8 on the shelf, 3 still promised
    damaged = rejection_outcome(quantity_on_hand=10, available_to_promise=5, quantity=2, effect=DECREASE_ATP)
    assert (damaged.qoh_after, damaged.atp_after) == (10, 5)


def test_not_in_stock_zeroes_even_with_other_reservations():
    outcome = rejection_outcome(quantity_on_hand=5, available_to_promise=1, quantity=2, effect=ZERO_ATP_AND_QOH)
    assert (outcome.qoh_after, outcome.atp_after) == (0, 0)
    assert (outcome.release_delta, outcome.effect_atp_delta, outcome.effect_qoh_delta) == (2, -3, -5)


def test_mismatch_with_qoh_below_the_quantity_stops_at_zero():
    outcome = rejection_outcome(quantity_on_hand=1, available_to_promise=0, quantity=3, effect=DECREASE_ATP_AND_QOH)
    assert (outcome.atp_released, outcome.qoh_after, outcome.atp_after) == (1, 0, 0)
    assert (outcome.release_delta, outcome.effect_atp_delta, outcome.effect_qoh_delta) == (1, -1, -1)


def test_damaged_when_atp_is_already_zero():
    outcome = rejection_outcome(quantity_on_hand=1, available_to_promise=0, quantity=1, effect=DECREASE_ATP)
    assert (outcome.atp_released, outcome.qoh_after, outcome.atp_after) == (1, 1, 0)


def test_damaged_more_than_is_left_never_goes_negative():
    outcome = rejection_outcome(quantity_on_hand=0, available_to_promise=0, quantity=4, effect=DECREASE_ATP)
    assert (outcome.qoh_after, outcome.atp_after, outcome.release_delta, outcome.effect_atp_delta) == (0, 0, 0, 0)


def test_without_a_reservation_nothing_is_released():
    outcome = rejection_outcome(quantity_on_hand=10, available_to_promise=10, quantity=1, effect=DECREASE_ATP, reserved=False)
    assert (outcome.atp_released, outcome.atp_after, outcome.release_delta) == (10, 9, 0)


def test_inconsistent_input_is_read_within_bounds():
    outcome = rejection_outcome(quantity_on_hand=3, available_to_promise=7, quantity=1, effect=NONE)
    assert (outcome.atp_before, outcome.atp_after) == (3, 3)
    negative = rejection_outcome(quantity_on_hand=-2, available_to_promise=-2, quantity=1, effect=DECREASE_ATP_AND_QOH)
    assert (negative.qoh_before, negative.qoh_after, negative.atp_after) == (0, 0, 0)


def test_unknown_effect_is_refused():
    with pytest.raises(ValueError, match="unknown inventory effect 'EXPLODE'"):
        rejection_outcome(quantity_on_hand=1, available_to_promise=1, quantity=1, effect="EXPLODE")


@pytest.mark.parametrize(
    "qoh, atp, quantity, effect, sentence",
    [
        (10, 9, 1, DECREASE_ATP, "QOH stays 10; ATP 9 -> 9: 1 unit counted as unsellable"),
        (10, 7, 3, DECREASE_ATP, "QOH stays 10; ATP 7 -> 7: 3 units counted as unsellable"),
        (10, 9, 1, DECREASE_ATP_AND_QOH, "QOH 10 -> 9; ATP 9 -> 9: 1 unit removed from stock"),
        (10, 8, 2, DECREASE_ATP_AND_QOH, "QOH 10 -> 8; ATP 8 -> 8: 2 units removed from stock"),
        (10, 9, 1, ZERO_ATP_AND_QOH, "QOH 10 -> 0; ATP 9 -> 0: this store's stock of the product is set to zero"),
        (10, 9, 1, NONE, "QOH stays 10; ATP 9 -> 10: the reservation is released, nothing else changes"),
        (0, 0, 2, DECREASE_ATP, "QOH stays 0; ATP 0 -> 0: no sellable units left here to count as unsellable"),
        (0, 0, 2, DECREASE_ATP_AND_QOH, "QOH stays 0; ATP 0 -> 0: no units left here to remove from stock"),
        (1, 0, 3, DECREASE_ATP_AND_QOH, "QOH 1 -> 0; ATP 0 -> 0: 1 unit removed from stock"),
    ],
)
def test_sentences(qoh, atp, quantity, effect, sentence):
    outcome = rejection_outcome(quantity_on_hand=qoh, available_to_promise=atp, quantity=quantity, effect=effect)
    assert describe_rejection_outcome(outcome, effect=effect, quantity=quantity) == sentence
