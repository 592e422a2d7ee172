"""Assertions shared by every test that writes inventory."""

from fulfillment.selectors import active_items_without_level, levels_breaking_inventory_invariant


def assert_inventory_invariant() -> None:
    """The whole inventory invariant: for every level, `reserved` is the sum of its active (OPEN, IN_PROGRESS) items'
    quantities, QOH / reserved / unsellable / ATP equal the sums of its ledger deltas, and ATP equals its formula
    (the database constraints keep every quantity >= 0, unsellable <= QOH and ATP <= QOH); no active item is at a
    facility without a level of its product."""
    broken = [
        f"{lvl}: items hold {lvl.active_reserved}; ledger QOH {lvl.ledger_qoh}, reserved {lvl.ledger_reserved}, "
        f"unsellable {lvl.ledger_unsellable}, ATP {lvl.ledger_atp}"
        for lvl in levels_breaking_inventory_invariant()
    ]
    assert not broken, "levels breaking the inventory invariant:\n" + "\n".join(broken)
    orphans = list(active_items_without_level())
    assert not orphans, f"active items at a facility without a level of their product: {orphans}"
