"""Row locks on order items: taken first in every transaction (before inventory levels), always in pk order; and the
leases of running Reject All jobs."""

from collections.abc import Iterable

from django.db import DatabaseError, connection

from .models import OrderItem


def lock_items(item_ids: Iterable[int]) -> list[OrderItem]:
    """Lock these items (FOR UPDATE, pk order, waiting for other transactions) with their order and product."""
    ids = sorted(set(item_ids))
    if not ids:
        return []
    return list(
        OrderItem.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("order", "product").order_by("pk")
    )


def lock_items_unless_busy(item_ids: Iterable[int]) -> list[OrderItem]:
    """Lock these items too, after others are held (out of pk order), skipping any that another transaction holds.

    Used for items found only once the first locks were taken (a rejection's collateral that arrived meanwhile).
    Waiting for them could deadlock with a transaction that holds them and waits for ours; one that holds them is
    moving them anyway, so leaving them out is what the user would expect.
    """
    ids = sorted(set(item_ids))
    if not ids:
        return []
    return list(
        OrderItem.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(pk__in=ids)
        .select_related("order", "product")
        .order_by("pk")
    )


# -- Reject All job leases (PostgreSQL session-level advisory locks) ------------------------------------------------
# The worker running a job holds its lease on its database connection; the database releases it the moment that
# connection goes away (kill -9, out of memory, a lost host), so a sweep sees at once that nobody runs the job. On
# SQLite there are no leases: the per-batch heartbeat is the only sign of life.
JOB_LEASE_NAMESPACE = 0x52414A  # "RAJ": the first key of every job lease (pg_locks.classid)


def _lease_key(job_id: int) -> int:
    return job_id % 2**31  # the second key is an int4 (pg_locks.objid)


def _has_leases() -> bool:
    return connection.vendor == "postgresql"


def job_lease_take(job_id: int) -> bool:
    """Take the job's lease on this connection without waiting: False when a live worker holds it."""
    if not _has_leases():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_LEASE_NAMESPACE, _lease_key(job_id)])
        return bool(cursor.fetchone()[0])


def job_lease_release(job_id: int) -> None:
    if not _has_leases():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_LEASE_NAMESPACE, _lease_key(job_id)])
    except DatabaseError:  # the connection is gone (a database restart), and the lease went with it
        pass


def job_leases_held(job_ids: Iterable[int]) -> set[int] | None:
    """The jobs among these whose lease a live connection holds (any session of this database); None on SQLite."""
    if not _has_leases():
        return None
    ids = list(job_ids)
    if not ids:
        return set()
    keys = {_lease_key(pk): pk for pk in ids}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s "
            "AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND objid::bigint = ANY(%s::bigint[])",
            [JOB_LEASE_NAMESPACE, list(keys)],
        )
        return {keys[int(objid)] for (objid,) in cursor.fetchall()}
