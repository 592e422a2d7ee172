"""Batching shared by the bulk services (Reject All, routing parked items): batch size, chunks, per-facility counts."""

from collections import Counter
from collections.abc import Iterable, Sequence

from inventory.models import Facility

BATCH_SIZE = 500


def chunks(ids: Sequence[int], size: int | None = None) -> Iterable[Sequence[int]]:
    size = size or BATCH_SIZE  # read at call time, so tests can patch BATCH_SIZE
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def counts_by_facility_code(per_facility: Counter[int]) -> dict[str, int]:
    """{facility id: n} -> {facility code: n}, sorted by code (one query)."""
    if not per_facility:
        return {}
    codes = dict(Facility.objects.filter(pk__in=per_facility).values_list("pk", "code"))
    return dict(sorted((codes[f], n) for f, n in per_facility.items()))
