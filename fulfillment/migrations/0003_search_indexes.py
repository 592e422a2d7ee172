"""PostgreSQL trigram (GIN) indexes for the "Search orders" box: order name, customer name and email.

The search uses ``__icontains``, which PostgreSQL runs as ``UPPER(col::text) LIKE UPPER('%q%')``: the indexes are on
that expression so the planner can use them. SQLite has no trigram indexes: there the migration does nothing (and it
changes no model state, so ``makemigrations --check`` stays clean on both databases).
"""

from django.db import migrations

TABLE = "fulfillment_order"
INDEXES = [
    ("order_name_trgm_idx", "name"),
    ("order_customer_name_trgm_idx", "customer_name"),
    ("order_customer_email_trgm_idx", "customer_email"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {TABLE} USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0002_seed_reasons_and_policy")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
