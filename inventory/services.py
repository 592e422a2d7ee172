"""Every write to inventory. Each change of a level writes its ledger row (InventoryAdjustment)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import effects
from .bulk import bulk_update_rows
from .locks import lock_levels, lock_levels_for_products, lock_levels_unless_busy
from .models import Facility, InventoryAdjustment, InventoryLevel, Product

Kind = InventoryAdjustment.Kind


class InventoryError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class InventoryBook:
    """The locked levels of some products for one transaction.

    Changes are made in memory (each one recorded as a ledger row) and written set-based by `flush()`:
    one UPDATE batch for the levels and one INSERT batch for the ledger, however many changes were made.
    """

    levels: dict[tuple[int, int], InventoryLevel]
    user: object | None = None
    _ledger: list[InventoryAdjustment] = field(default_factory=list)
    _dirty: dict[int, InventoryLevel] = field(default_factory=dict)
    _by_product: dict[int, list[InventoryLevel]] | None = None

    def level(self, facility_id: int, product_id: int) -> InventoryLevel | None:
        return self.levels.get((facility_id, product_id))

    def levels_of_product(self, product_id: int) -> list[InventoryLevel]:
        if self._by_product is None:
            self._by_product = {}
            for (_, pid), lvl in self.levels.items():
                self._by_product.setdefault(pid, []).append(lvl)
        return self._by_product.get(product_id, [])

    def record(self, level: InventoryLevel, *, atp_delta: int, qoh_delta: int, kind: str, reason: str = "", reference: str = ""):
        level.available_to_promise += atp_delta
        level.quantity_on_hand += qoh_delta
        if not 0 <= level.available_to_promise <= level.quantity_on_hand:
            raise InventoryError(
                f"Inventory of product {level.product_id} at facility {level.facility_id} would become "
                f"QOH {level.quantity_on_hand}, ATP {level.available_to_promise}."
            )
        self._dirty[level.pk] = level
        self._ledger.append(
            InventoryAdjustment(
                level=level, atp_delta=atp_delta, qoh_delta=qoh_delta, kind=kind, reason=reason,
                reference=reference[:120], created_by=self.user if getattr(self.user, "pk", None) else None,
            )
        )

    def reserve(self, facility_id: int, product_id: int, quantity: int, *, held_back: int = 0, reference: str = "") -> bool:
        """Take `quantity` units of ATP (keeping `held_back` units of safety stock); False when there are not enough."""
        level = self.level(facility_id, product_id)
        if level is None or level.available_to_promise - held_back < quantity:
            return False
        self.record(level, atp_delta=-quantity, qoh_delta=0, kind=Kind.RESERVE, reference=reference)
        return True

    def release(self, facility_id: int, product_id: int, quantity: int, *, reference: str = "") -> int:
        """Give reserved units back to ATP, capped at QOH. Returns the delta actually applied."""
        level = self.level(facility_id, product_id)
        if level is None:
            return 0
        after = effects.release(
            quantity_on_hand=level.quantity_on_hand, available_to_promise=level.available_to_promise, quantity=quantity
        )
        delta = after - level.available_to_promise
        if delta:
            self.record(level, atp_delta=delta, qoh_delta=0, kind=Kind.RELEASE, reference=reference)
        return delta

    def reject(self, facility_id: int, product_id: int, quantity: int, *, effect: str, reason_code: str, reserved: bool, reference: str = ""):
        """Release the item's reservation (if it holds one) and apply the rejection reason's effect: two ledger rows."""
        level = self.level(facility_id, product_id)
        if level is None:
            return None
        outcome = effects.rejection_outcome(
            quantity_on_hand=level.quantity_on_hand, available_to_promise=level.available_to_promise,
            quantity=quantity, effect=effect, reserved=reserved,
        )
        if outcome.release_delta:
            self.record(level, atp_delta=outcome.release_delta, qoh_delta=0, kind=Kind.RELEASE, reason=reason_code, reference=reference)
        self.record(
            level, atp_delta=outcome.effect_atp_delta, qoh_delta=outcome.effect_qoh_delta,
            kind=Kind.REJECTION, reason=reason_code, reference=reference,
        )
        return outcome

    def fulfil(self, facility_id: int, product_id: int, quantity: int, *, reference: str = ""):
        """Shipped: the reserved units leave the shelf (QOH -= quantity; ATP already excluded them)."""
        level = self.level(facility_id, product_id)
        if level is None:
            return
        qoh_delta = -min(quantity, level.quantity_on_hand - level.available_to_promise)
        if qoh_delta:
            self.record(level, atp_delta=0, qoh_delta=qoh_delta, kind=Kind.FULFILL, reference=reference)

    def lock_more(self, level_ids: Iterable[int]) -> set[int]:
        """Lock more levels into the book, skipping those another transaction holds; returns the ids now held.

        Called after the book's first locks, so it never waits (see inventory/locks.py: why this cannot deadlock)."""
        wanted = set(level_ids) - {lvl.pk for lvl in self.levels.values()}
        for level in lock_levels_unless_busy(wanted):
            self.levels[(level.facility_id, level.product_id)] = level
        self._by_product = None
        return {lvl.pk for lvl in self.levels.values()}

    def flush(self) -> None:
        if self._dirty:
            _bulk_update_levels(list(self._dirty.values()))
        if self._ledger:
            InventoryAdjustment.objects.bulk_create(self._ledger, batch_size=2000)
        self._dirty = {}
        self._ledger = []


def _bulk_update_levels(levels: list[InventoryLevel]) -> None:
    now = timezone.now()
    for level in levels:
        level.updated_at = now
    bulk_update_rows(InventoryLevel, levels, ["quantity_on_hand", "available_to_promise", "updated_at"])


def inventory_book_open(*, product_ids: Iterable[int], user=None, ensure: Iterable[tuple[int, int]] = ()) -> InventoryBook:
    """Lock all levels of these products (creating the (facility, product) levels in `ensure` first) and return a book."""
    ensure = set(ensure)
    product_ids = set(product_ids) | {pid for _, pid in ensure}
    levels = lock_levels_for_products(product_ids)
    # The levels to ensure usually exist (a rejected item held a reservation there): look in what was just locked,
    # and only create (then lock again, pk order) the missing ones — one query less per rejection or batch.
    missing = ensure - {(lvl.facility_id, lvl.product_id) for lvl in levels}
    if missing:
        InventoryLevel.objects.bulk_create(
            [InventoryLevel(facility_id=f, product_id=p) for f, p in sorted(missing)], ignore_conflicts=True
        )
        levels = lock_levels_for_products(product_ids)
    return InventoryBook(levels={(lvl.facility_id, lvl.product_id): lvl for lvl in levels}, user=user)


def levels_ensure(*, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """{(facility id, product id): level id} for these keys, creating the levels that do not exist yet (no locks)."""
    keys = set(keys)
    if not keys:
        return {}
    facility_ids, product_ids = {f for f, _ in keys}, {p for _, p in keys}
    found = {
        (f, p): pk
        for pk, f, p in InventoryLevel.objects.filter(facility_id__in=facility_ids, product_id__in=product_ids)
        .values_list("pk", "facility_id", "product_id")
        if (f, p) in keys
    }
    missing = keys - set(found)
    if missing:
        InventoryLevel.objects.bulk_create(
            [InventoryLevel(facility_id=f, product_id=p) for f, p in sorted(missing)], ignore_conflicts=True
        )
        return levels_ensure(keys=keys)
    return found


def inventory_book_lock(*, level_ids: Iterable[int], user=None) -> InventoryBook:
    """Lock exactly these levels (pk order) and return a book over them: the levels a transaction changes."""
    levels = lock_levels(level_ids)
    return InventoryBook(levels={(lvl.facility_id, lvl.product_id): lvl for lvl in levels}, user=user)


@transaction.atomic
def inventory_receive(*, facility: Facility, product: Product, quantity: int, user=None, reference: str = "") -> InventoryLevel:
    """Units arrived: QOH and ATP both go up by `quantity`."""
    if quantity <= 0:
        raise InventoryError("A receipt needs a quantity of at least 1.")
    book = inventory_book_open(product_ids=[product.pk], user=user, ensure=[(facility.pk, product.pk)])
    level = book.level(facility.pk, product.pk)
    book.record(level, atp_delta=quantity, qoh_delta=quantity, kind=Kind.RECEIPT, reference=reference or "receipt")
    book.flush()
    return level


@transaction.atomic
def inventory_count_set(*, facility: Facility, product: Product, quantity_on_hand: int, user=None, reference: str = "") -> InventoryLevel:
    """A physical count: QOH becomes the counted quantity; ATP moves by the same difference (never below 0 or above QOH)."""
    if quantity_on_hand < 0:
        raise InventoryError("A counted quantity cannot be negative.")
    book = inventory_book_open(product_ids=[product.pk], user=user, ensure=[(facility.pk, product.pk)])
    level = book.level(facility.pk, product.pk)
    qoh_delta = quantity_on_hand - level.quantity_on_hand
    new_atp = max(0, min(quantity_on_hand, level.available_to_promise + qoh_delta))
    atp_delta = new_atp - level.available_to_promise
    if qoh_delta or atp_delta:
        book.record(level, atp_delta=atp_delta, qoh_delta=qoh_delta, kind=Kind.COUNT, reference=reference or "count")
        book.flush()
    return level
