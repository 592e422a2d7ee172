"""Rejection policy as pure functions (no queries): what one rejection takes along with it.

The effect preview, the Reject All confirmation and the rejection service all call `rejection_plan` with the same
inputs, so what the associate is told before saving is exactly what the service then does. The service calls it
inside its transaction, after the items are locked, with candidates read then (an item that arrived meanwhile is
not missed); the pages call it with candidates read for the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .models import OrderItem

OPEN = OrderItem.Status.OPEN


class ReasonCode(StrEnum):
    """Rejection reason codes the code itself relies on (the others are data, edited in the admin)."""

    NOT_IN_STOCK = "NOT_IN_STOCK"  # the associate's reason that the cascade policy follows
    AVOID_ORDER_SPLIT = "REJ_AVOID_ORD_SPLIT"  # system: the order's other items here go with it
    CASCADE_BY_PRODUCT = "REJ_CASCADE_BY_PROD"  # system: the product's other open items here go with it


SYSTEM_REASON_CODES = (ReasonCode.AVOID_ORDER_SPLIT, ReasonCode.CASCADE_BY_PRODUCT)


@dataclass(frozen=True)
class EffectivePolicy:
    """The rejection policy in force at a facility (its own, else the global one, else these defaults)."""

    allow_partial_order_rejection: bool = True
    cascade_not_in_stock: bool = False


class ItemFacts(Protocol):
    """What the policy needs to know of an item (an OrderItem has all of it)."""

    pk: int
    order_id: int
    product_id: int
    facility_id: int | None
    quantity: int
    status: str


@dataclass(frozen=True)
class PlannedRejection:
    item_id: int
    quantity: int
    reason_code: str


@dataclass(frozen=True)
class RejectionPlan:
    """The rejection asked for, the rest of its line when a policy moves it too, and the other items taken along."""

    requested: PlannedRejection
    rest_of_line: PlannedRejection | None
    collateral: tuple[PlannedRejection, ...]
    line_quantity: int

    @property
    def rejections(self) -> list[PlannedRejection]:
        """Every rejection of the plan, the requested one first."""
        return [self.requested, *([self.rest_of_line] if self.rest_of_line else []), *self.collateral]

    @property
    def units_staying(self) -> int:
        """Units of the line that stay at the facility (a partial rejection no policy moves on)."""
        if self.rest_of_line is not None:
            return 0
        return self.line_quantity - self.requested.quantity

    @property
    def system_reason_codes(self) -> set[str]:
        return {r.reason_code for r in self.rejections[1:]}

    def sentences(self) -> list[str]:
        """What the policy also rejects, in plain sentences for the confirmation (empty when nothing)."""
        lines = []
        if self.rest_of_line is not None:
            units = _units(self.rest_of_line.quantity)
            if self.rest_of_line.reason_code == ReasonCode.AVOID_ORDER_SPLIT:
                lines.append(f"The other {units} of this line will be rejected too, so the order ships together.")
            else:
                lines.append(f"The other {units} of this line will be rejected too (this product is not in stock here).")
        same_order = sum(1 for r in self.collateral if r.reason_code == ReasonCode.AVOID_ORDER_SPLIT)
        if same_order:
            noun = "item" if same_order == 1 else "items"
            lines.append(
                f"The order's {same_order} other {noun} here will be rejected too, so the order ships together from elsewhere."
            )
        same_product = sum(1 for r in self.collateral if r.reason_code == ReasonCode.CASCADE_BY_PRODUCT)
        if same_product:
            noun = "item" if same_product == 1 else "items"
            lines.append(f"{same_product} other open {noun} of this product here will be rejected too.")
        return lines


def _units(n: int) -> str:
    return f"{n} unit{'s' if n != 1 else ''}"


def takes_items_along(policy: EffectivePolicy) -> bool:
    """Whether the policy can reject other items (or the rest of a line) with the one asked for."""
    return not policy.allow_partial_order_rejection or policy.cascade_not_in_stock


def cascades(*, reason_code: str, policy: EffectivePolicy) -> bool:
    """A Not in stock rejection under the cascade policy moves the product's other open items here too."""
    return policy.cascade_not_in_stock and reason_code == ReasonCode.NOT_IN_STOCK


def rest_of_line_reason(*, item: ItemFacts, reason_code: str, policy: EffectivePolicy) -> str | None:
    """When only part of a line is rejected: the system reason that rejects the rest of it too, or None (it stays).

    The policies that move the order's (or the product's) other items away move the rest of the line with them.
    """
    if not policy.allow_partial_order_rejection:
        return ReasonCode.AVOID_ORDER_SPLIT
    if cascades(reason_code=reason_code, policy=policy) and item.status == OPEN:
        return ReasonCode.CASCADE_BY_PRODUCT
    return None


def collateral_reasons(
    *, item: ItemFacts, reason_code: str, policy: EffectivePolicy, others: Iterable[ItemFacts]
) -> dict[int, str]:
    """Other items at the item's facility that the policies reject along with it: {item id: system reason code}.

    `others`: candidate items (any superset is fine: those not at the facility or not workable are ignored).
    Order split avoidance comes first: an item that both rules would take is rejected for the order's sake.
    """
    here = [
        o for o in others
        if o.pk != item.pk and o.facility_id == item.facility_id and o.status in OrderItem.REJECTABLE
    ]
    collateral: dict[int, str] = {}
    if not policy.allow_partial_order_rejection:
        for other in here:
            if other.order_id == item.order_id:
                collateral[other.pk] = ReasonCode.AVOID_ORDER_SPLIT
    if cascades(reason_code=reason_code, policy=policy):
        for other in here:
            if other.product_id == item.product_id and other.status == OPEN:
                collateral.setdefault(other.pk, ReasonCode.CASCADE_BY_PRODUCT)
    return dict(sorted(collateral.items()))


def rejection_plan(
    *, item: ItemFacts, reason_code: str, quantity: int, policy: EffectivePolicy, others: Iterable[ItemFacts] = ()
) -> RejectionPlan:
    """Everything one rejection of `quantity` units of `item` for `reason_code` does under `policy`."""
    others = list(others)
    quantity = max(1, min(quantity, item.quantity))
    rest = item.quantity - quantity
    rest_code = rest_of_line_reason(item=item, reason_code=reason_code, policy=policy) if rest else None
    by_pk = {o.pk: o for o in others}
    collateral = tuple(
        PlannedRejection(pk, by_pk[pk].quantity, code)
        for pk, code in collateral_reasons(item=item, reason_code=reason_code, policy=policy, others=others).items()
    )
    return RejectionPlan(
        requested=PlannedRejection(item.pk, quantity, reason_code),
        rest_of_line=PlannedRejection(item.pk, rest, rest_code) if rest_code else None,
        collateral=collateral,
        line_quantity=item.quantity,
    )
