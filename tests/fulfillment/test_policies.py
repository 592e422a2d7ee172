"""The rejection policy as pure functions: the plan that the preview shows and the service carries out."""

from dataclasses import dataclass

from fulfillment.policies import EffectivePolicy, ReasonCode, collateral_reasons, rejection_plan

KEEP_TOGETHER = EffectivePolicy(allow_partial_order_rejection=False, cascade_not_in_stock=False)
CASCADE = EffectivePolicy(allow_partial_order_rejection=True, cascade_not_in_stock=True)
BOTH = EffectivePolicy(allow_partial_order_rejection=False, cascade_not_in_stock=True)
NEITHER = EffectivePolicy()


@dataclass
class Item:
    pk: int
    order_id: int
    product_id: int
    quantity: int = 1
    status: str = "OPEN"
    facility_id: int | None = 1


SHIRT = Item(pk=10, order_id=1, product_id=100, quantity=3)
SAME_ORDER = Item(pk=11, order_id=1, product_id=200)
SAME_PRODUCT = Item(pk=12, order_id=2, product_id=100, quantity=2)
SAME_PRODUCT_PICKING = Item(pk=13, order_id=3, product_id=100, status="IN_PROGRESS")
ELSEWHERE = Item(pk=14, order_id=1, product_id=100, facility_id=2)
DONE = Item(pk=15, order_id=1, product_id=100, status="COMPLETED")
OTHERS = [SAME_ORDER, SAME_PRODUCT, SAME_PRODUCT_PICKING, ELSEWHERE, DONE]


def test_no_policy_rejects_only_what_was_asked_and_the_rest_of_the_line_stays():
    plan = rejection_plan(item=SHIRT, reason_code="DAMAGED", quantity=1, policy=NEITHER, others=OTHERS)
    assert [(r.item_id, r.quantity, r.reason_code) for r in plan.rejections] == [(10, 1, "DAMAGED")]
    assert plan.units_staying == 2 and plan.sentences() == []


def test_order_split_avoidance_takes_the_rest_of_the_line_and_the_orders_items_here_only():
    plan = rejection_plan(item=SHIRT, reason_code="DAMAGED", quantity=1, policy=KEEP_TOGETHER, others=OTHERS)
    assert [(r.item_id, r.quantity, r.reason_code) for r in plan.rejections] == [
        (10, 1, "DAMAGED"), (10, 2, ReasonCode.AVOID_ORDER_SPLIT), (11, 1, ReasonCode.AVOID_ORDER_SPLIT),
    ]
    assert plan.units_staying == 0
    assert plan.sentences() == [
        "The other 2 units of this line will be rejected too, so the order ships together.",
        "The order's 1 other item here will be rejected too, so the order ships together from elsewhere.",
    ]


def test_not_in_stock_cascade_takes_open_items_of_the_product_not_those_being_picked():
    assert collateral_reasons(item=SHIRT, reason_code="NOT_IN_STOCK", policy=CASCADE, others=OTHERS) == {
        12: ReasonCode.CASCADE_BY_PRODUCT
    }
    assert collateral_reasons(item=SHIRT, reason_code="DAMAGED", policy=CASCADE, others=OTHERS) == {}
    plan = rejection_plan(item=SHIRT, reason_code="NOT_IN_STOCK", quantity=3, policy=CASCADE, others=OTHERS)
    assert plan.sentences() == ["1 other open item of this product here will be rejected too."]
    assert [r.quantity for r in plan.collateral] == [2]


def test_an_item_both_rules_take_is_rejected_for_the_orders_sake():
    same_order_and_product = Item(pk=16, order_id=1, product_id=100)
    reasons = collateral_reasons(
        item=SHIRT, reason_code="NOT_IN_STOCK", policy=BOTH, others=[*OTHERS, same_order_and_product]
    )
    assert reasons == {11: ReasonCode.AVOID_ORDER_SPLIT, 12: ReasonCode.CASCADE_BY_PRODUCT, 16: ReasonCode.AVOID_ORDER_SPLIT}


def test_quantity_is_kept_within_the_line():
    plan = rejection_plan(item=SHIRT, reason_code="DAMAGED", quantity=99, policy=KEEP_TOGETHER, others=[])
    assert plan.requested.quantity == 3 and plan.rest_of_line is None and plan.units_staying == 0
