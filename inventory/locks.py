"""The only place that takes row locks on inventory levels.

*Read, decide, claim*: routing reads candidate levels without locks (inventory/stock.py) and decides; only the levels
that change are locked — the rejecting facility's levels and the levels chosen for the items — all in one statement,
in primary-key order, after the order items (fulfillment/locks.py) and before the counter rows (the day's loads, the
roll-up), which their upserts take in key order in the transaction's last statement (inventory/bulk.py: Writes).

Why this cannot deadlock: every transaction locks items first (pk order), then takes its first level locks in one
pk-ordered statement, then load rows (pk order). A transaction that must lock more levels later (a claim that lost a
race is decided again and may choose a level it does not hold yet) uses SKIP LOCKED: it never waits for a level while
holding others out of order; a level it cannot have at once counts as taken, and the item is decided again.
"""

from collections.abc import Iterable

from .models import InventoryLevel


def lock_levels(level_ids: Iterable[int]) -> list[InventoryLevel]:
    """Lock these levels (FOR UPDATE, pk order, waiting for other transactions) and return them."""
    ids = sorted(set(level_ids))
    if not ids:
        return []
    return list(InventoryLevel.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def lock_levels_unless_busy(level_ids: Iterable[int]) -> list[InventoryLevel]:
    """Lock these levels if no other transaction holds them (SKIP LOCKED); those it holds are left out."""
    ids = sorted(set(level_ids))
    if not ids:
        return []
    return list(InventoryLevel.objects.select_for_update(skip_locked=True).filter(pk__in=ids).order_by("pk"))
