"""Reads of inventory shared by pages and commands."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Upper

from . import effects
from .models import Facility, InventoryLevel, Product

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
    qoh_before: int
    qoh_after: int
    atp_before: int
    atp_after: int
    sentence: str


def rejection_effect_preview(*, quantity_on_hand: int, available_to_promise: int, quantity: int, effect: str, reserved: bool = True) -> EffectPreview:
    """What rejecting `quantity` units for a reason with `effect` will do at the store, before it happens."""
    outcome = effects.rejection_outcome(
        quantity_on_hand=quantity_on_hand, available_to_promise=available_to_promise,
        quantity=quantity, effect=effect, reserved=reserved,
    )
    return EffectPreview(
        qoh_before=outcome.qoh_before, qoh_after=outcome.qoh_after,
        atp_before=outcome.atp_before, atp_after=outcome.atp_after,
        sentence=effects.describe_rejection_outcome(outcome, effect=effect, quantity=quantity),
    )


def level_get(*, facility_id: int, product_id: int) -> InventoryLevel | None:
    return InventoryLevel.objects.filter(facility_id=facility_id, product_id=product_id).first()


def levels_not_matching_ledger() -> QuerySet[InventoryLevel]:
    """Levels whose QOH/ATP differ from the sums of their ledger deltas (the ledger invariant: always empty)."""
    return (
        InventoryLevel.objects.annotate(
            ledger_qoh=Coalesce(Sum("adjustments__qoh_delta"), Value(0)),
            ledger_atp=Coalesce(Sum("adjustments__atp_delta"), Value(0)),
        )
        .exclude(quantity_on_hand=F("ledger_qoh"), available_to_promise=F("ledger_atp"))
    )
