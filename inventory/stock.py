"""What routing decides on: the levels of some products as read without locks (read, decide, claim).

The engine reserves against a `StockSnapshot` in memory while it decides; nothing is written. The service then
*claims* what was decided on the locked levels of an `InventoryBook` (inventory/services.py), where the numbers are
fresh: a claim that no longer fits sends only its item back to be decided again.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass
class LevelRow:
    """One level as read for a decision (a plain row, not a model instance)."""

    pk: int
    facility_id: int
    product_id: int
    available_to_promise: int
    safety_stock: int | None  # the level's own safety stock; None = the facility's
    busy: bool = False  # another transaction held it when this one tried to claim it


class StockSnapshot:
    """Levels read without locks, keyed by (facility id, product id); `reserve` only lowers ATP in memory."""

    def __init__(self, rows: Iterable[LevelRow]):
        self.levels: dict[tuple[int, int], LevelRow] = {(r.facility_id, r.product_id): r for r in rows}
        self._by_product: dict[int, list[LevelRow]] = {}
        for row in self.levels.values():
            self._by_product.setdefault(row.product_id, []).append(row)

    def level(self, facility_id: int, product_id: int) -> LevelRow | None:
        return self.levels.get((facility_id, product_id))

    def levels_of_product(self, product_id: int) -> list[LevelRow]:
        return self._by_product.get(product_id, [])

    def reserve(self, facility_id: int, product_id: int, quantity: int, *, held_back: int = 0, reference: str = "") -> bool:
        """Take `quantity` units of this decision's view of ATP (keeping `held_back`); False when there are not enough."""
        row = self.level(facility_id, product_id)
        if row is None or row.available_to_promise - held_back < quantity:
            return False
        row.available_to_promise -= quantity
        return True

    def mark_busy(self, level_ids: Iterable[int]) -> None:
        """Levels another transaction held when this one tried to claim them: not to be chosen again this time."""
        ids = set(level_ids)
        for row in self.levels.values():
            if row.pk in ids:
                row.busy = True

    def overlay(self, levels: Iterable) -> None:
        """Take the numbers of levels known to be fresh (those locked in this transaction) over what was read."""
        for level in levels:
            row = self.level(level.facility_id, level.product_id)
            if row is not None:
                row.available_to_promise = level.available_to_promise
