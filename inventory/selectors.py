"""Reads of inventory shared by pages and commands."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Upper

from . import effects
from .models import Facility, InventoryLevel, Product
from .stock import LevelRow, StockSnapshot

_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def code_key(value: str) -> str:
    """How facility codes and SKUs are matched everywhere (commands, imports): exactly, except that the letters a-z
    and A-Z are the same (``brooklyn`` is BROOKLYN, ``sf-1001`` is SF-1001); surrounding spaces are ignored."""
    return value.strip().translate(_ASCII_UPPER)


@dataclass
class CodeLookup:
    """Rows found for some codes, by ``code_key``; ``find`` resolves one code as typed."""

    noun: str
    rows_by_key: dict[str, list] = field(default_factory=dict)
    attribute: str = "code"

    def find(self, value: str):
        """(row, None), or (None, a problem to show: unknown, or several rows differing only in case)."""
        rows = self.rows_by_key.get(code_key(value), [])
        if len(rows) == 1:
            return rows[0], None
        exact = [row for row in rows if getattr(row, self.attribute) == value.strip()]
        if len(exact) == 1:
            return exact[0], None
        if rows:
            names = ", ".join(sorted(getattr(row, self.attribute) for row in rows))
            return None, f"{self.noun} {value!r} matches several ({names}) that differ only in case; write it exactly"
        return None, f"unknown {self.noun} {value!r}"


def _lookup(queryset: QuerySet, attribute: str, values: Iterable[str], noun: str) -> CodeLookup:
    values = [v.strip() for v in values if v and v.strip()]
    keys = {code_key(v) for v in values}
    lookup = CodeLookup(noun=noun, attribute=attribute)
    if not keys:
        return lookup
    # The database's UPPER() is ASCII-only on SQLite and Unicode on PostgreSQL: ask for both spellings, then keep
    # the rows whose code_key matches (the same rule on both databases).
    candidates = keys | {v.upper() for v in values}
    rows_by_key = defaultdict(list)
    for row in queryset.annotate(match_key=Upper(attribute)).filter(match_key__in=candidates):
        key = code_key(getattr(row, attribute))
        if key in keys:
            rows_by_key[key].append(row)
    lookup.rows_by_key = dict(rows_by_key)
    return lookup


def facilities_by_code(codes: Iterable[str]) -> CodeLookup:
    """The facilities these codes name (``code_key`` rule). One query."""
    return _lookup(Facility.objects.all(), "code", codes, "facility")


def products_by_sku(skus: Iterable[str]) -> CodeLookup:
    """The products these SKUs name (``code_key`` rule). One query."""
    return _lookup(Product.objects.all(), "sku", skus, "SKU")


@dataclass(frozen=True)
class EffectPreview:
    before: effects.Quantities
    after: effects.Quantities
    sentence: str

    @property
    def rows(self) -> list[tuple[str, int, int]]:
        """(label, before, after) for on hand, reserved, unsellable and available, in the order the page shows them."""
        b, a = self.before, self.after
        return [
            ("On hand (QOH)", b.quantity_on_hand, a.quantity_on_hand),
            ("Reserved", b.reserved, a.reserved),
            ("Unsellable", b.unsellable, a.unsellable),
            ("Available (ATP)", b.available_to_promise, a.available_to_promise),
        ]


def rejection_effect_preview(*, quantity_on_hand: int, reserved: int, unsellable: int, quantity: int, effect: str) -> EffectPreview:
    """What rejecting `quantity` units for a reason with `effect` will do at the store, before it happens."""
    outcome = effects.rejection_outcome(
        quantity_on_hand=quantity_on_hand, reserved=reserved, unsellable=unsellable, quantity=quantity, effect=effect
    )
    return EffectPreview(
        before=outcome.before, after=outcome.after,
        sentence=effects.describe_rejection_outcome(outcome, effect=effect, quantity=quantity),
    )


def level_rows_read(product_ids) -> list[LevelRow]:
    """Every level of these products as plain rows, read without locks (one query)."""
    rows = InventoryLevel.objects.filter(product_id__in=sorted(set(product_ids))).values_list(
        "pk", "facility_id", "product_id", "available_to_promise", "safety_stock"
    )
    return [LevelRow(*row) for row in rows]


def stock_snapshot_read(*, product_ids) -> StockSnapshot:
    """Every level of these products, read without locks: what routing decides on when it reads them all."""
    return StockSnapshot(level_rows_read(product_ids))


def level_get(*, facility_id: int, product_id: int) -> InventoryLevel | None:
    return InventoryLevel.objects.filter(facility_id=facility_id, product_id=product_id).first()


def levels_with_ledger_sums() -> QuerySet[InventoryLevel]:
    """Levels annotated with the sums of their ledger deltas (ledger_qoh, ledger_reserved, ledger_unsellable,
    ledger_atp) and with the ATP its formula gives (formula_atp). One grouped query over the ledger."""
    return InventoryLevel.objects.annotate(
        ledger_qoh=Coalesce(Sum("adjustments__qoh_delta"), Value(0)),
        ledger_reserved=Coalesce(Sum("adjustments__reserved_delta"), Value(0)),
        ledger_unsellable=Coalesce(Sum("adjustments__unsellable_delta"), Value(0)),
        ledger_atp=Coalesce(Sum("adjustments__atp_delta"), Value(0)),
        formula_atp=Greatest(Value(0), F("quantity_on_hand") - F("reserved") - F("unsellable")),
    )


LEDGER_MATCHES = Q(
    quantity_on_hand=F("ledger_qoh"), reserved=F("ledger_reserved"), unsellable=F("ledger_unsellable"),
    available_to_promise=F("ledger_atp"),
) & Q(available_to_promise=F("formula_atp"))


def levels_not_matching_ledger() -> QuerySet[InventoryLevel]:
    """Levels whose quantities differ from the sums of their ledger deltas, or whose ATP is not its formula
    (the inventory side of the invariant: always empty). The reservations' side is in fulfillment's selectors."""
    return levels_with_ledger_sums().exclude(LEDGER_MATCHES).order_by("pk")
