"""Every write to inventory. Each change of a level writes its ledger row (InventoryAdjustment)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import effects
from .bulk import Writes
from .locks import lock_levels, lock_levels_unless_busy
from .models import Facility, InventoryAdjustment, InventoryLevel, Product

Kind = InventoryAdjustment.Kind


class InventoryError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LevelRejection:
    """A rejected item's units at the facility that rejected them: their reservation is released there and the
    reason's inventory effect applied (InventoryBook.reject), on the locked level, in the placement's transaction."""

    facility_id: int
    product_id: int
    quantity: int
    effect: str
    reason_code: str
    reference: str

    @property
    def level_key(self) -> tuple[int, int]:
        return (self.facility_id, self.product_id)


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

    def record(
        self, level: InventoryLevel, *, kind: str, qoh_delta: int = 0, reserved_delta: int = 0, unsellable_delta: int = 0,
        reason: str = "", reference: str = "",
    ) -> None:
        """Change the stored quantities of a level; ATP follows its formula. One ledger row with all four deltas."""
        quantity_on_hand = level.quantity_on_hand + qoh_delta
        reserved = level.reserved + reserved_delta
        unsellable = level.unsellable + unsellable_delta
        if quantity_on_hand < 0 or reserved < 0 or not 0 <= unsellable <= quantity_on_hand:
            raise InventoryError(
                f"Inventory of product {level.product_id} at facility {level.facility_id} would become "
                f"on hand {quantity_on_hand}, reserved {reserved}, unsellable {unsellable}."
            )
        atp = effects.available_to_promise(quantity_on_hand=quantity_on_hand, reserved=reserved, unsellable=unsellable)
        atp_delta = atp - level.available_to_promise
        level.quantity_on_hand, level.reserved, level.unsellable, level.available_to_promise = (
            quantity_on_hand, reserved, unsellable, atp,
        )
        self._dirty[level.pk] = level
        self._ledger.append(
            InventoryAdjustment(
                level=level, atp_delta=atp_delta, qoh_delta=qoh_delta, reserved_delta=reserved_delta,
                unsellable_delta=unsellable_delta, kind=kind, reason=reason, reference=reference[:120],
                created_by=self.user if getattr(self.user, "pk", None) else None,
            )
        )

    def reserve(self, facility_id: int, product_id: int, quantity: int, *, held_back: int = 0, reference: str = "") -> bool:
        """Promise `quantity` units of ATP to an item (keeping `held_back` units of safety stock); False when there are
        not enough."""
        level = self.level(facility_id, product_id)
        if level is None or level.available_to_promise - held_back < quantity:
            return False
        self.record(level, reserved_delta=quantity, kind=Kind.RESERVE, reference=reference)
        return True

    def release(self, facility_id: int, product_id: int, quantity: int, *, reason: str = "", reference: str = "") -> None:
        """An item no longer holds its `quantity` reserved units here."""
        level = self.level(facility_id, product_id)
        if level is None or level.reserved < quantity:
            raise InventoryError(
                f"Product {product_id} at facility {facility_id} holds fewer reserved units than the {quantity} released."
            )
        self.record(level, reserved_delta=-quantity, kind=Kind.RELEASE, reason=reason, reference=reference)

    def reject(self, facility_id: int, product_id: int, quantity: int, *, effect: str, reason_code: str, reference: str = ""):
        """Release the item's reservation, then apply the rejection reason's effect: two ledger rows."""
        self.release(facility_id, product_id, quantity, reason=reason_code, reference=reference)
        level = self.level(facility_id, product_id)
        outcome = effects.rejection_outcome(
            quantity_on_hand=level.quantity_on_hand, reserved=level.reserved + quantity, unsellable=level.unsellable,
            quantity=quantity, effect=effect,
        )
        self.record(
            level, qoh_delta=outcome.effect_qoh_delta, unsellable_delta=outcome.effect_unsellable_delta,
            kind=Kind.REJECTION, reason=reason_code, reference=reference,
        )
        return outcome

    def fulfil(self, facility_id: int, product_id: int, quantity: int, *, reference: str = "") -> None:
        """Shipped: the item's units leave the shelf and its reservation (a FULFILL row: QOH and reserved - quantity).

        When fewer units were on hand than were shipped, the count was wrong: the missing units are first recorded as
        FOUND (QOH + difference, same reference), so QOH stops at 0, never a silent skip."""
        level = self.level(facility_id, product_id)
        if level is None or level.reserved < quantity:
            raise InventoryError(
                f"Product {product_id} at facility {facility_id} holds fewer reserved units than the {quantity} shipped."
            )
        found = quantity - level.quantity_on_hand
        if found > 0:
            self.record(level, qoh_delta=found, kind=Kind.FOUND, reference=reference)
        left = level.quantity_on_hand - quantity
        self.record(
            level, qoh_delta=-quantity, reserved_delta=-quantity, unsellable_delta=min(0, left - level.unsellable),
            kind=Kind.FULFILL, reference=reference,
        )

    def receive(self, level: InventoryLevel, quantity: int, *, reference: str = "") -> None:
        self.record(level, qoh_delta=quantity, kind=Kind.RECEIPT, reference=reference)

    def count(self, level: InventoryLevel, quantity_on_hand: int, *, reference: str = "") -> None:
        """A physical count sets QOH (unsellable units stay counted, up to what is on hand); `reserved` never changes."""
        qoh_delta = quantity_on_hand - level.quantity_on_hand
        unsellable_delta = min(0, quantity_on_hand - level.unsellable)
        if qoh_delta or unsellable_delta:
            self.record(level, qoh_delta=qoh_delta, unsellable_delta=unsellable_delta, kind=Kind.COUNT, reference=reference)

    def lock_more(self, level_ids: Iterable[int]) -> set[int]:
        """Lock more levels into the book, skipping those another transaction holds; returns the ids now held.

        Called after the book's first locks, so it never waits (see inventory/locks.py: why this cannot deadlock)."""
        wanted = set(level_ids) - {lvl.pk for lvl in self.levels.values()}
        for level in lock_levels_unless_busy(wanted):
            self.levels[(level.facility_id, level.product_id)] = level
        self._by_product = None
        return {lvl.pk for lvl in self.levels.values()}

    def flush(self, writes: Writes | None = None) -> None:
        """Write the changed levels and their ledger rows: into `writes` (sent with the caller's other writes), or now."""
        own = writes is None
        writes = Writes() if own else writes
        if self._dirty:
            now = timezone.now()
            levels = list(self._dirty.values())
            for level in levels:
                level.updated_at = now
            writes.update_rows(InventoryLevel, levels, LEVEL_QUANTITIES)
        writes.insert_rows(InventoryAdjustment, self._ledger)
        self._dirty = {}
        self._ledger = []
        if own:
            writes.send()


LEVEL_QUANTITIES = ["quantity_on_hand", "reserved", "unsellable", "available_to_promise", "updated_at"]


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


def _one_level_book(facility: Facility, product: Product, user) -> InventoryBook:
    """A book over the one level a receipt or a count changes (created when missing), locked."""
    return inventory_book_lock(level_ids=levels_ensure(keys={(facility.pk, product.pk)}).values(), user=user)


@transaction.atomic
def inventory_receive(*, facility: Facility, product: Product, quantity: int, user=None, reference: str = "") -> InventoryLevel:
    """Units arrived: QOH (and with it ATP) goes up by `quantity`."""
    if quantity <= 0:
        raise InventoryError("A receipt needs a quantity of at least 1.")
    book = _one_level_book(facility, product, user)
    level = book.level(facility.pk, product.pk)
    book.receive(level, quantity, reference=reference or "receipt")
    book.flush()
    return level


@transaction.atomic
def inventory_count_set(*, facility: Facility, product: Product, quantity_on_hand: int, user=None, reference: str = "") -> InventoryLevel:
    """A physical count: QOH becomes the counted quantity, reservations stay, ATP follows its formula."""
    if quantity_on_hand < 0:
        raise InventoryError("A counted quantity cannot be negative.")
    book = _one_level_book(facility, product, user)
    level = book.level(facility.pk, product.pk)
    book.count(level, quantity_on_hand, reference=reference or "count")
    book.flush()
    return level
