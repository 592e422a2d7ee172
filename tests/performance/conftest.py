"""Benchmarks (`make bench`): PostgreSQL only, on a dedicated, persistent database with the volume data.

The benchmark database is not pytest's throw-away test database: it is `sf_bench` (or `$BENCH_DATABASE`) on the
server of `DATABASE_URL`, created, migrated and seeded with `seed_volume` on the first run (about a minute) and reused
afterwards. Every benchmark restores the data it changed (see helpers.restored), so runs are comparable.
One table with every row of the issue's budget table is printed at the end of the session.
"""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings

from tests.performance import helpers

# The chain's size: 100 facilities by default; `BENCH_FACILITIES=1000 make bench` measures the routing rows at 1,000
# (with fewer products and orders, so that it seeds in a few minutes), in a database of its own.
BENCH_FACILITIES = int(os.environ.get("BENCH_FACILITIES", "100"))
VOLUME = {"facilities": 100, "products": 10000, "orders": 200000, "flagship_in_progress": 2000, "flagship_open": 10000,
          "rejections": 100000}
if BENCH_FACILITIES != 100:
    VOLUME = {"facilities": BENCH_FACILITIES, "products": 2000, "orders": 40000, "flagship_in_progress": 2000,
              "flagship_open": 10000, "rejections": 20000}
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "sf_bench" if BENCH_FACILITIES == 100 else f"sf_bench_f{BENCH_FACILITIES}")
RESULTS: list[helpers.Row] = []
SETUP_NOTES: list[str] = []


def pytest_collection_modifyitems(config, items):
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(
        reason="benchmarks need PostgreSQL: run `DATABASE_URL=postgres://USER@HOST:5432/DB make bench` "
        f"(they use a separate, persistent database `{BENCH_DATABASE}` on that server)"
    )
    for item in items:
        if "performance" in str(item.fspath):
            item.add_marker(skip)


def bench_database_url() -> str:
    """DATABASE_URL with the benchmark database's name (for gunicorn and subprocesses)."""
    url = os.environ["DATABASE_URL"]
    base, _, _name = url.rpartition("/")
    query = ""
    if "?" in _name:
        query = "?" + _name.split("?", 1)[1]
    return f"{base}/{BENCH_DATABASE}{query}"


def _ensure_database() -> None:
    import psycopg

    cfg = settings.DATABASES["default"]
    params = {"host": cfg.get("HOST") or "127.0.0.1", "port": cfg.get("PORT") or 5432, "user": cfg.get("USER") or "",
              "password": cfg.get("PASSWORD") or "", "dbname": "postgres"}
    with psycopg.connect(**{k: v for k, v in params.items() if v != ""}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
            SETUP_NOTES.append(f"created database {BENCH_DATABASE}")


def _volume_ok() -> bool:
    from fulfillment.management.commands.seed_volume import volume_facilities, volume_orders, volume_products
    from fulfillment.models import OrderItem, Rejection

    flagship = OrderItem.objects.filter(facility__code="V001")
    return (
        volume_facilities().count() == VOLUME["facilities"]
        and volume_products().count() == VOLUME["products"]
        and volume_orders().count() == VOLUME["orders"]
        and flagship.filter(status="OPEN").count() == VOLUME["flagship_open"]
        and flagship.filter(status="IN_PROGRESS").values("order_id").distinct().count() == VOLUME["flagship_in_progress"]
        and Rejection.objects.filter(comment="seed_volume").count() == VOLUME["rejections"]
    )


@pytest.fixture(scope="session")
def bench_db(django_db_blocker):
    """The persistent benchmark database, migrated and seeded; DB access stays open for the whole session."""
    from django.core.management import call_command
    from django.db import connections

    if not settings.IS_POSTGRES:
        pytest.skip("benchmarks need PostgreSQL")
    # As in production: background work (customer emails, Reject All jobs) is enqueued in the database for the worker,
    # not run inline inside the measured request or batch (the immediate backend of development would).
    from django.test.utils import override_settings

    override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}).enable()  # resets the backends
    with django_db_blocker.unblock():
        _ensure_database()
        connections["default"].close()
        for d in (settings.DATABASES["default"], connections["default"].settings_dict):
            d["NAME"] = BENCH_DATABASE
        call_command("migrate", verbosity=0, interactive=False)
        if helpers.restore():
            SETUP_NOTES.append("restored data left behind by an interrupted run")
        if not _volume_ok():
            from tests.performance import parked_million

            parked_million.delete()  # the peak-memory row's items refer to a volume facility: seeded again after
            started = time.monotonic()
            call_command(
                "seed_volume", reset=True, facilities=VOLUME["facilities"], products=VOLUME["products"],
                orders=VOLUME["orders"], flagship_in_progress=VOLUME["flagship_in_progress"],
                flagship_open=VOLUME["flagship_open"], rejections=VOLUME["rejections"], verbosity=0, stdout=open(os.devnull, "w"),
            )
            SETUP_NOTES.append(f"seeded the volume data with seed_volume in {time.monotonic() - started:.0f} s")
        helpers.vacuum()
        with connections["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS bench_hit (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
            cursor.execute("TRUNCATE bench_hit")
        yield BENCH_DATABASE
        connections["default"].close()


@pytest.fixture(scope="session")
def results():
    return RESULTS


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    import platform

    tr = terminalreporter
    tr.write_sep("=", "benchmarks (PostgreSQL, volume data)")
    for note in SETUP_NOTES:
        tr.write_line(f"setup: {note}")
    cores = os.cpu_count()
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = float("nan")
    tr.write_line(f"machine: {cores} cores, {mem_gib:.0f} GiB RAM, {platform.platform()}, Python {platform.python_version()}")
    tr.write_line("")
    tr.write_line(helpers.table(RESULTS))
    output = os.environ.get("BENCH_OUTPUT")
    if output:
        with open(output, "w") as fh:
            fh.write(helpers.table(RESULTS) + "\n")
