"""PostgreSQL: compress routing decisions' candidate lists with lz4 instead of pglz.

Every routing decision stores every candidate facility with its explanation (~10 KB of JSON with 50 facilities), so a
Reject All or a route_orders run writes megabytes of JSON per batch, and PostgreSQL compresses each value when it is
stored. lz4 (PostgreSQL 14+) compresses several times faster than the default pglz (a micro-benchmark of 500 such
decisions: ~215 ms -> ~75 ms of database time; noisy on a shared machine). Only new values use it. SQLite, and
PostgreSQL without lz4 support: nothing to do. No model state changes.
"""

from django.db import migrations

TABLE = "routing_routingdecision"
COLUMNS = ("candidates",)


def _lz4_available(connection) -> bool:
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")
        return cursor.fetchone() is not None


def to_lz4(apps, schema_editor):
    if _lz4_available(schema_editor.connection):
        for column in COLUMNS:
            schema_editor.execute(f'ALTER TABLE {TABLE} ALTER COLUMN "{column}" SET COMPRESSION lz4')


def to_default(apps, schema_editor):
    if _lz4_available(schema_editor.connection):
        for column in COLUMNS:
            schema_editor.execute(f'ALTER TABLE {TABLE} ALTER COLUMN "{column}" SET COMPRESSION default')


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_default_rules")]

    operations = [migrations.RunPython(to_lz4, to_default, elidable=False)]
