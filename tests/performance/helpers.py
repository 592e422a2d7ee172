"""Benchmark helpers: timing statistics, the results table, and a snapshot/restore of the benchmark database.

Benchmarks run with real commits (as production does), then `restored()` puts the volume data back exactly as it
was: rows created after a watermark are deleted, changed order items get their snapshot values back, and the touched
inventory levels are recomputed from the ledger (the ledger invariant makes that exact). An interrupted run leaves
the snapshot tables behind; the next session restores from them first.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

from fulfillment.models import BulkRejection, Notification, OrderItem, PickupChoice, Rejection, RoutedUnitsDaily
from inventory.models import InventoryAdjustment, InventoryLevel
from routing.models import FacilityDailyLoad, RoutingDecision


# -- statistics and the table ------------------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def timed(fn: Callable[[], object], *, runs: int, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of `runs` calls (after `warmup` untimed ones)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


@dataclass
class Row:
    path: str
    median: str
    p95: str
    budget: str
    met: bool | None  # None: informational
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "MISS", None: "-"}[self.met]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def table(rows: list[Row]) -> str:
    headers = ("path", "median", "p95", "budget", "result", "note")
    cells = [headers] + [(r.path, r.median, r.p95, r.budget, r.verdict, r.note) for r in rows]
    widths = [max(len(str(c[i])) for c in cells) for i in range(len(headers))]
    line = lambda c: "| " + " | ".join(str(v).ljust(w) for v, w in zip(c, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(c) for c in cells[1:]]
    return "\n".join(out)


# -- snapshot and restore ------------------------------------------------------------------------------------------------
WATERMARKED = [
    Notification, PickupChoice, RoutingDecision, Rejection, InventoryAdjustment, OrderItem, BulkRejection, InventoryLevel,
    FacilityDailyLoad,
]
SNAPSHOT = "bench_item_snapshot"
WATERMARK = "bench_watermark"
ROLLUP_SNAPSHOT = "bench_routed_units_snapshot"  # the roll-up is upserted (rows change in place): copied whole


def _table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        return name in connection.introspection.table_names(cursor)


def snapshot(items_where: str, params=()) -> None:
    """Remember the order items matching `items_where` (SQL on the order item table) and every table's last id."""
    items = OrderItem._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
        cursor.execute(f"DROP TABLE IF EXISTS {WATERMARK}")
        cursor.execute(
            f"CREATE UNLOGGED TABLE {SNAPSHOT} AS SELECT id, facility_id, status, quantity, parked_reason, parked_kind, "
            f"parked_since, shipping_method, pickup_facility_id, status_changed_at FROM {items} WHERE {items_where}",
            params,
        )
        cursor.execute(f"DROP TABLE IF EXISTS {ROLLUP_SNAPSHOT}")
        cursor.execute(f"CREATE UNLOGGED TABLE {ROLLUP_SNAPSHOT} AS SELECT * FROM {RoutedUnitsDaily._meta.db_table}")
        cursor.execute(f"CREATE UNLOGGED TABLE {WATERMARK} (tbl text PRIMARY KEY, max_id bigint NOT NULL)")
        for model in WATERMARKED:
            table = model._meta.db_table
            cursor.execute(f"INSERT INTO {WATERMARK} SELECT %s, COALESCE(MAX(id), 0) FROM {table}", [table])


def restore() -> bool:
    """Undo everything since `snapshot()`. Returns False when there was nothing to restore."""
    if not _table_exists(WATERMARK):
        return False
    t = {m: m._meta.db_table for m in WATERMARKED}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT tbl, max_id FROM {WATERMARK}")
        wm = dict(cursor.fetchall())
        adj, lvl, items = t[InventoryAdjustment], t[InventoryLevel], t[OrderItem]
        cursor.execute(f"CREATE TEMP TABLE bench_touched_levels ON COMMIT DROP AS "
                       f"SELECT DISTINCT level_id FROM {adj} WHERE id > %s", [wm[adj]])
        for model in (Notification, PickupChoice, RoutingDecision, Rejection, InventoryAdjustment, BulkRejection, FacilityDailyLoad):
            if t[model] in wm:  # a watermark left by an older run may not know a newer table
                cursor.execute(f"DELETE FROM {t[model]} WHERE id > %s", [wm[t[model]]])
        cursor.execute(f"UPDATE {items} SET split_from_id = NULL WHERE split_from_id IS NOT NULL AND id > %s", [wm[items]])
        cursor.execute(f"DELETE FROM {items} WHERE id > %s", [wm[items]])
        cursor.execute(f"DELETE FROM {lvl} WHERE id > %s", [wm[lvl]])
        if _table_exists(SNAPSHOT):
            cursor.execute(
                f"UPDATE {items} AS i SET facility_id = s.facility_id, status = s.status, quantity = s.quantity, "
                f"parked_reason = s.parked_reason, parked_kind = s.parked_kind, parked_since = s.parked_since, "
                f"shipping_method = s.shipping_method, pickup_facility_id = s.pickup_facility_id, "
                f"status_changed_at = s.status_changed_at "
                f"FROM {SNAPSHOT} AS s WHERE i.id = s.id"
            )
        cursor.execute(
            f"UPDATE {lvl} AS l SET quantity_on_hand = s.qoh, reserved = s.reserved, unsellable = s.unsellable, "
            f"available_to_promise = s.atp "
            f"FROM (SELECT a.level_id, SUM(a.qoh_delta) AS qoh, SUM(a.reserved_delta) AS reserved, "
            f"      SUM(a.unsellable_delta) AS unsellable, SUM(a.atp_delta) AS atp FROM {adj} a "
            f"      WHERE a.level_id IN (SELECT level_id FROM bench_touched_levels) GROUP BY a.level_id) AS s "
            f"WHERE l.id = s.level_id"
        )
        if _table_exists(ROLLUP_SNAPSHOT):
            rollup = RoutedUnitsDaily._meta.db_table
            cursor.execute(f"DELETE FROM {rollup}")
            cursor.execute(f"INSERT INTO {rollup} SELECT * FROM {ROLLUP_SNAPSHOT}")
            cursor.execute(f"DROP TABLE {ROLLUP_SNAPSHOT}")
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
        cursor.execute(f"DROP TABLE {WATERMARK}")
    vacuum()
    return True


def vacuum() -> None:
    """VACUUM ANALYZE the tables the benchmarks churn: what autovacuum does in production, done now so that the next
    benchmark does not pay for the previous one's dead rows and stale statistics."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in WATERMARKED:
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


@contextmanager
def restored(items_where: str, params=()):
    """Run a benchmark that commits for real, then put the volume data back as it was."""
    snapshot(items_where, params)
    try:
        yield
    finally:
        restore()


# -- what routing reads ----------------------------------------------------------------------------------------------
@contextmanager
def routing_reads_counted():
    """Count what routing reads while the block runs: the candidate query's rows and queries, and the levels read
    whole (a product decided on every level: small products, and items the candidates could not decide)."""
    from inventory.stock import StockSnapshot
    from routing.candidates import BatchCandidates

    counts = {"candidate_rows": 0, "candidate_queries": 0, "whole_product_rows": 0}
    real_read, real_add = BatchCandidates._read, StockSnapshot.add

    def read(self, rule, demands):
        before = self.rows_read
        sets = real_read(self, rule, demands)
        counts["candidate_rows"] += self.rows_read - before
        counts["candidate_queries"] += 1
        return sets

    def add(self, rows, *, complete_products=()):
        rows = list(rows)
        if complete_products and rows:
            counts["whole_product_rows"] += len(rows)
        return real_add(self, rows, complete_products=complete_products)

    BatchCandidates._read, StockSnapshot.add = read, add
    try:
        yield counts
    finally:
        BatchCandidates._read, StockSnapshot.add = real_read, real_add
