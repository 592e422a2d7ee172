"""PostgreSQL trigram (GIN) indexes for the "Search orders" box: product SKU, name and UPC (a scanned barcode).

The search uses ``__icontains`` (``UPPER(col::text) LIKE UPPER('%q%')`` on PostgreSQL): the indexes are on that
expression. SQLite has no trigram indexes: there the migration does nothing and no model state changes.
"""

from django.db import migrations

TABLE = "inventory_product"
INDEXES = [
    ("product_sku_trgm_idx", "sku"),
    ("product_name_trgm_idx", "name"),
    ("product_upc_trgm_idx", "upc"),
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
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
