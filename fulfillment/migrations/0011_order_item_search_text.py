"""The dashboard search's own text and index: ``OrderItem.search_text``, kept right by database triggers.

Each item carries its order's name, customer name and email and its product's SKU, UPC and name, joined by the unit
separator (chr 31, ``models.SEARCH_SEPARATOR``, so that no match spans two fields). Triggers keep it right whatever
writes the rows (the ORM, ``bulk_create``, ``COPY``, admin, raw SQL):
- an item inserted, or updated with a new order, product or search text, gets its text recomputed from its order and
  product (PostgreSQL: a BEFORE row trigger; SQLite: an AFTER trigger that updates the row);
- an order whose name, customer name or email changes, or a product whose SKU, UPC or name changes, recomputes the text
  of its items.

PostgreSQL: one GIN index ``(facility_id, status, UPPER(search_text) gin_trgm_ops)`` (``btree_gin`` for the two
scalar columns), so a search on a store's tab reads only that store's matching items of that status: Django's
``search_text__icontains`` is ``UPPER(search_text::text) LIKE UPPER('%q%')``, the indexed expression. SQLite has no
such index and scans, as it did before.
"""

from django.db import migrations, models

SEPARATOR = {"postgresql": "chr(31)", "sqlite": "char(31)"}


def text_sql(vendor: str, order: str = "o", product: str = "p") -> str:
    sep = f" || {SEPARATOR[vendor]} || "
    return sep.join([
        f"{order}.name", f"{order}.customer_name", f"{order}.customer_email", f"{product}.sku", f"{product}.upc",
        f"{product}.name",
    ])


POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    # the backfill runs before the triggers exist (one set-based statement instead of a trigger call per row)
    f"""UPDATE fulfillment_orderitem AS i SET search_text = {text_sql("postgresql")}
        FROM fulfillment_order AS o, inventory_product AS p WHERE o.id = i.order_id AND p.id = i.product_id""",
    f"""CREATE FUNCTION fulfillment_orderitem_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT {text_sql("postgresql")} INTO NEW.search_text
              FROM fulfillment_order AS o, inventory_product AS p WHERE o.id = NEW.order_id AND p.id = NEW.product_id;
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER fulfillment_orderitem_search_text
        BEFORE INSERT OR UPDATE OF order_id, product_id, search_text ON fulfillment_orderitem
        FOR EACH ROW EXECUTE FUNCTION fulfillment_orderitem_search_text()""",
    # setting search_text fires the item trigger above, which recomputes it: the text is defined in one place
    """CREATE FUNCTION fulfillment_order_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE fulfillment_orderitem SET search_text = '' WHERE order_id = NEW.id;
            RETURN NULL;
        END $$""",
    """CREATE TRIGGER fulfillment_order_search_text
        AFTER UPDATE OF name, customer_name, customer_email ON fulfillment_order FOR EACH ROW
        WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.customer_name IS DISTINCT FROM NEW.customer_name
              OR OLD.customer_email IS DISTINCT FROM NEW.customer_email)
        EXECUTE FUNCTION fulfillment_order_search_text()""",
    """CREATE FUNCTION fulfillment_product_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE fulfillment_orderitem SET search_text = '' WHERE product_id = NEW.id;
            RETURN NULL;
        END $$""",
    """CREATE TRIGGER fulfillment_product_search_text
        AFTER UPDATE OF sku, upc, name ON inventory_product FOR EACH ROW
        WHEN (OLD.sku IS DISTINCT FROM NEW.sku OR OLD.upc IS DISTINCT FROM NEW.upc OR OLD.name IS DISTINCT FROM NEW.name)
        EXECUTE FUNCTION fulfillment_product_search_text()""",
    """CREATE INDEX order_item_search_idx ON fulfillment_orderitem
        USING gin (facility_id, status, (UPPER(search_text)) gin_trgm_ops)""",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS order_item_search_idx",
    "DROP TRIGGER IF EXISTS fulfillment_product_search_text ON inventory_product",
    "DROP TRIGGER IF EXISTS fulfillment_order_search_text ON fulfillment_order",
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_search_text ON fulfillment_orderitem",
    "DROP FUNCTION IF EXISTS fulfillment_product_search_text()",
    "DROP FUNCTION IF EXISTS fulfillment_order_search_text()",
    "DROP FUNCTION IF EXISTS fulfillment_orderitem_search_text()",
]

ITEM_TEXT_SQLITE = (
    f"(SELECT {text_sql('sqlite')} FROM fulfillment_order AS o, inventory_product AS p "
    "WHERE o.id = fulfillment_orderitem.order_id AND p.id = fulfillment_orderitem.product_id)"
)
NEW_ITEM_TEXT_SQLITE = (
    f"(SELECT {text_sql('sqlite')} FROM fulfillment_order AS o, inventory_product AS p "
    "WHERE o.id = NEW.order_id AND p.id = NEW.product_id)"
)
SQLITE = [
    f"UPDATE fulfillment_orderitem SET search_text = {ITEM_TEXT_SQLITE}",
    f"""CREATE TRIGGER fulfillment_orderitem_search_text_insert AFTER INSERT ON fulfillment_orderitem
        BEGIN UPDATE fulfillment_orderitem SET search_text = {ITEM_TEXT_SQLITE} WHERE id = NEW.id; END""",
    # the WHEN stops the trigger's own update from firing it again (should recursive triggers be switched on)
    f"""CREATE TRIGGER fulfillment_orderitem_search_text_update
        AFTER UPDATE OF order_id, product_id, search_text ON fulfillment_orderitem
        WHEN NEW.search_text IS NOT {NEW_ITEM_TEXT_SQLITE}
        BEGIN UPDATE fulfillment_orderitem SET search_text = {ITEM_TEXT_SQLITE} WHERE id = NEW.id; END""",
    f"""CREATE TRIGGER fulfillment_order_search_text
        AFTER UPDATE OF name, customer_name, customer_email ON fulfillment_order
        WHEN OLD.name IS NOT NEW.name OR OLD.customer_name IS NOT NEW.customer_name
             OR OLD.customer_email IS NOT NEW.customer_email
        BEGIN UPDATE fulfillment_orderitem SET search_text = {ITEM_TEXT_SQLITE} WHERE order_id = NEW.id; END""",
    f"""CREATE TRIGGER fulfillment_product_search_text
        AFTER UPDATE OF sku, upc, name ON inventory_product
        WHEN OLD.sku IS NOT NEW.sku OR OLD.upc IS NOT NEW.upc OR OLD.name IS NOT NEW.name
        BEGIN UPDATE fulfillment_orderitem SET search_text = {ITEM_TEXT_SQLITE} WHERE product_id = NEW.id; END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS fulfillment_product_search_text",
    "DROP TRIGGER IF EXISTS fulfillment_order_search_text",
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_search_text_update",
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_search_text_insert",
]


def create(apps, schema_editor):
    statements = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    statements = {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("fulfillment", "0010_policy_help_texts"),
        ("inventory", "0006_facility_waiting_thresholds"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderitem",
            name="search_text",
            field=models.TextField(
                default="", editable=False,
                help_text="What the dashboard search matches: the order's name, customer name and email and the "
                "product's SKU, UPC and name, joined by SEARCH_SEPARATOR. Written only by database triggers "
                "(migration 0011), never by the app.",
            ),
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
