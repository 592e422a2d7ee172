"""Assertions shared by every test that writes inventory."""

from inventory.selectors import levels_not_matching_ledger


def assert_inventory_invariant() -> None:
    """Every level equals the sums of its ledger rows (and the database constraints keep 0 <= ATP <= QOH)."""
    broken = list(levels_not_matching_ledger())
    assert not broken, f"levels that do not match their ledger: {broken}"
