"""What routing decides on: the levels of some products as read without locks (read, decide, claim).

The engine reserves against a `StockSnapshot` in memory while it decides; nothing is written. The service then
*claims* what was decided on the locked levels of an `InventoryBook` (inventory/services.py), where the numbers are
fresh: a claim that no longer fits sends only its item back to be decided again.
"""

from collections.abc import Callable, Iterable
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
    """Levels read without locks, keyed by (facility id, product id); `reserve` only lowers ATP in memory.

    Made from every level of some products, or (`loader` given) filled as routing goes: the candidate query adds the
    rows it returned, and `levels_of_product` reads every level of a product the first time one is asked for (rows
    already held keep their numbers, lowered by what the batch's earlier items took)."""

    def __init__(self, rows: Iterable[LevelRow] = (), *, loader: Callable[[list[int]], Iterable[LevelRow]] | None = None):
        self.levels: dict[tuple[int, int], LevelRow] = {}
        self._by_product: dict[int, list[LevelRow]] = {}
        self._loader = loader
        self._complete: set[int] = set()
        self.add(rows)

    def add(self, rows: Iterable[LevelRow], *, complete_products: Iterable[int] = ()) -> None:
        """Hold these rows too (a row already held is kept as it is); `complete_products`: every level of these
        products is now held."""
        for row in rows:
            key = (row.facility_id, row.product_id)
            if key not in self.levels:
                self.levels[key] = row
                self._by_product.setdefault(row.product_id, []).append(row)
        self._complete.update(complete_products)

    @property
    def holds_every_product(self) -> bool:
        """Made from every level of its products (no loader): nothing more to read."""
        return self._loader is None

    def holds_product(self, product_id: int) -> bool:
        """Whether every level of the product is held (always, for a snapshot made from every level)."""
        return self._loader is None or product_id in self._complete

    def load(self, product_ids: Iterable[int]) -> None:
        """Read every level of these products it does not hold whole yet (one query)."""
        missing = sorted(set(product_ids) - self._complete)
        if missing and self._loader is not None:
            self.add(self._loader(missing), complete_products=missing)

    def level(self, facility_id: int, product_id: int) -> LevelRow | None:
        return self.levels.get((facility_id, product_id))

    def levels_of_product(self, product_id: int) -> list[LevelRow]:
        if not self.holds_product(product_id):
            self.add(self._loader([product_id]), complete_products=[product_id])
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
