"""Batching shared by the bulk services (Reject All, routing parked items, cancelling stale parked items): batch size,
keyset batches of a queryset's pks, chunks, per-facility counts."""

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

from django.db.models import QuerySet

from inventory.models import Facility

BATCH_SIZE = 500


def keyset(queryset: QuerySet, size: int | None = None, *, among: Sequence[int] | None = None) -> Iterator[list[int]]:
    """The pks of `queryset`, in pk order, one batch at a time: each batch is one query (`pk > the last pk seen
    ORDER BY pk LIMIT size`), so memory does not grow with the number of rows, and the ids are never all loaded.

    The queryset is evaluated afresh for each batch, after the caller has handled the previous one: rows that left it
    meanwhile are not returned, and since it only moves forward no row is returned twice (an item parked again by the
    batch that routed it is behind the cursor).

    `among`: ids the caller holds already (e.g. the items a user selected): each batch is the rows of `queryset` among
    the next `size` of them, in pk order (a short IN list per query, not the whole list in every query).
    """
    if among is not None:
        ids = sorted(set(among))
        limit = size or BATCH_SIZE
        for start in range(0, len(ids), limit):
            found = list(queryset.filter(pk__in=ids[start : start + limit]).order_by("pk").values_list("pk", flat=True))
            if found:
                yield found
        return
    last = None
    while True:
        limit = size or BATCH_SIZE  # read at call time, so tests can patch BATCH_SIZE
        page = queryset if last is None else queryset.filter(pk__gt=last)
        ids = list(page.order_by("pk").values_list("pk", flat=True)[:limit])
        if not ids:
            return
        yield ids
        if len(ids) < limit:  # the last batch: no query to find out there is nothing after it
            return
        last = ids[-1]


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
