"""The rejection rows as CSV, streamed: the report's "Download CSV" and the admin's "Export CSV" both use it.

Constant memory whatever the size (a server-side cursor in chunks, one row written at a time), UTF-8 with a header
row, times in ISO 8601 in the store's local time (with its UTC offset), and text cells that a spreadsheet would run
as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return at the start) prefixed with ``'``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from fulfillment.models import Rejection, ShippingMethod

from .periods import zone_of

HEADER = [
    "rejected_at", "store_code", "store_name", "order", "order_item_id", "sku", "product", "upc", "quantity",
    "reason_code", "reason", "shipping_method", "rejected_by", "outcome", "routed_to", "comment",
    "reject_all_id", "caused_by_rejection_id", "rejection_id",
]
FIELDS = [
    "created_at", "facility__code", "facility__name", "order_item__order__name", "order_item_id",
    "order_item__product__sku", "order_item__product__name", "order_item__product__upc", "quantity",
    "reason__code", "reason__label", "order_item__order__shipping_method", "rejected_by__username",
    "routed_to__code", "routed_to__code", "comment", "bulk_rejection_id", "caused_by_id", "pk",
    "facility__timezone",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 5000
METHODS = dict(ShippingMethod.choices)


def neutralise(value):
    """A text cell a spreadsheet would evaluate, made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(rejections: QuerySet[Rejection]) -> Iterator[list]:
    """The header, then one list per rejection (newest first), cells already neutralised."""
    yield HEADER
    rows = rejections.order_by("-created_at", "-id").values_list(*FIELDS).iterator(chunk_size=CHUNK)
    for (created_at, store_code, store_name, order, item_id, sku, product, upc, quantity, reason_code, reason,
         method, user, routed_code, _, comment, bulk_id, caused_by, pk, tz) in rows:
        yield [
            neutralise(v) for v in (
                created_at.astimezone(zone_of(tz)).isoformat(), store_code, store_name, order, item_id, sku, product,
                upc, quantity, reason_code, reason, METHODS.get(method, method), user or "",
                "re-routed" if routed_code else "parked", routed_code or "", comment, bulk_id or "", caused_by or "", pk,
            )
        ]


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


def csv_response(rejections: QuerySet[Rejection], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in csv_lines(csv_rows(rejections))), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
