"""OrderItem.placed_at: the order's placed_at, copied onto each item by database triggers.

The Today panel's "oldest waiting" is the earliest placed_at among the store's open items. Read through the order it
is a join over every open item of the store (38 ms for the flagship's 10,000); on the item it is one probe of the
index (facility, status, placed_at). The copy is the database's job, so no way of writing an item (ORM, bulk insert,
COPY, admin) can forget it: an item takes its order's placed_at when it is inserted or moved to another order, and
changing an order's placed_at changes its items'.
"""

from django.db import migrations, models

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION fulfillment_orderitem_placed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.placed_at := (SELECT o.placed_at FROM fulfillment_order o WHERE o.id = NEW.order_id);
    RETURN NEW;
END $$;
CREATE TRIGGER fulfillment_orderitem_placed_at BEFORE INSERT OR UPDATE OF order_id, placed_at ON fulfillment_orderitem
    FOR EACH ROW EXECUTE FUNCTION fulfillment_orderitem_placed_at();
CREATE OR REPLACE FUNCTION fulfillment_order_placed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE fulfillment_orderitem SET placed_at = NEW.placed_at WHERE order_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER fulfillment_order_placed_at AFTER UPDATE OF placed_at ON fulfillment_order
    FOR EACH ROW WHEN (OLD.placed_at IS DISTINCT FROM NEW.placed_at) EXECUTE FUNCTION fulfillment_order_placed_at();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS fulfillment_order_placed_at ON fulfillment_order;
DROP FUNCTION IF EXISTS fulfillment_order_placed_at();
DROP TRIGGER IF EXISTS fulfillment_orderitem_placed_at ON fulfillment_orderitem;
DROP FUNCTION IF EXISTS fulfillment_orderitem_placed_at();
"""
# SQLite has no BEFORE-trigger assignment: the row is corrected right after (recursive triggers are off, so the
# correcting UPDATE does not fire the UPDATE trigger again).
SQLITE_UP = [
    """CREATE TRIGGER fulfillment_orderitem_placed_at_insert AFTER INSERT ON fulfillment_orderitem BEGIN
        UPDATE fulfillment_orderitem SET placed_at = (SELECT o.placed_at FROM fulfillment_order o WHERE o.id = NEW.order_id)
        WHERE id = NEW.id; END""",
    """CREATE TRIGGER fulfillment_orderitem_placed_at_update AFTER UPDATE OF order_id, placed_at ON fulfillment_orderitem BEGIN
        UPDATE fulfillment_orderitem SET placed_at = (SELECT o.placed_at FROM fulfillment_order o WHERE o.id = NEW.order_id)
        WHERE id = NEW.id; END""",
    """CREATE TRIGGER fulfillment_order_placed_at AFTER UPDATE OF placed_at ON fulfillment_order BEGIN
        UPDATE fulfillment_orderitem SET placed_at = NEW.placed_at WHERE order_id = NEW.id; END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_placed_at_insert",
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_placed_at_update",
    "DROP TRIGGER IF EXISTS fulfillment_order_placed_at",
]
BACKFILL = """
UPDATE fulfillment_orderitem SET placed_at = (
    SELECT o.placed_at FROM fulfillment_order o WHERE o.id = fulfillment_orderitem.order_id
)
"""


def triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    else:
        for statement in SQLITE_UP:
            schema_editor.execute(statement)
    schema_editor.execute(BACKFILL)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    else:
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0010_policy_help_texts")]

    operations = [
        migrations.AddField(
            model_name="orderitem",
            name="placed_at",
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.RunPython(triggers_create, triggers_drop, elidable=False),
        migrations.AddIndex(
            model_name="orderitem",
            index=models.Index(fields=["facility", "status", "placed_at"], name="order_item_fac_placed_idx"),
        ),
    ]
