"""``OrderItem.order_placed_at``: a copy of its order's ``placed_at``, kept right by database triggers, so that a store's
tab lists its orders oldest first straight from one index, ``(facility_id, status, order_placed_at, order_id)``.

Without it the page had to fetch every order of the tab to sort them (2,000 primary-key lookups on the flagship's In
Progress tab for a page of 25). Triggers keep the copy right whatever writes the rows, as for ``search_text``
(migration 0011): an item inserted, or updated with a new order or a new copy, takes its order's ``placed_at``
(PostgreSQL: a BEFORE row trigger; SQLite: an AFTER trigger that updates the row); an order whose ``placed_at``
changes updates its items.
"""

from django.db import migrations, models

POSTGRES = [
    """UPDATE fulfillment_orderitem AS i SET order_placed_at = o.placed_at
        FROM fulfillment_order AS o WHERE o.id = i.order_id""",
    """CREATE FUNCTION fulfillment_orderitem_order_placed_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT o.placed_at INTO NEW.order_placed_at FROM fulfillment_order AS o WHERE o.id = NEW.order_id;
            RETURN NEW;
        END $$""",
    """CREATE TRIGGER fulfillment_orderitem_order_placed_at
        BEFORE INSERT OR UPDATE OF order_id, order_placed_at ON fulfillment_orderitem
        FOR EACH ROW EXECUTE FUNCTION fulfillment_orderitem_order_placed_at()""",
    """CREATE FUNCTION fulfillment_order_placed_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE fulfillment_orderitem SET order_placed_at = NEW.placed_at WHERE order_id = NEW.id;
            RETURN NULL;
        END $$""",
    """CREATE TRIGGER fulfillment_order_placed_at
        AFTER UPDATE OF placed_at ON fulfillment_order FOR EACH ROW
        WHEN (OLD.placed_at IS DISTINCT FROM NEW.placed_at)
        EXECUTE FUNCTION fulfillment_order_placed_at()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS fulfillment_order_placed_at ON fulfillment_order",
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_order_placed_at ON fulfillment_orderitem",
    "DROP FUNCTION IF EXISTS fulfillment_order_placed_at()",
    "DROP FUNCTION IF EXISTS fulfillment_orderitem_order_placed_at()",
]

PLACED_SQLITE = "(SELECT o.placed_at FROM fulfillment_order AS o WHERE o.id = fulfillment_orderitem.order_id)"
SQLITE = [
    f"UPDATE fulfillment_orderitem SET order_placed_at = {PLACED_SQLITE}",
    f"""CREATE TRIGGER fulfillment_orderitem_order_placed_at_insert AFTER INSERT ON fulfillment_orderitem
        BEGIN UPDATE fulfillment_orderitem SET order_placed_at = {PLACED_SQLITE} WHERE id = NEW.id; END""",
    # the WHEN stops the trigger's own update from firing it again (should recursive triggers be switched on)
    f"""CREATE TRIGGER fulfillment_orderitem_order_placed_at_update
        AFTER UPDATE OF order_id, order_placed_at ON fulfillment_orderitem
        WHEN NEW.order_placed_at IS NOT (SELECT o.placed_at FROM fulfillment_order AS o WHERE o.id = NEW.order_id)
        BEGIN UPDATE fulfillment_orderitem SET order_placed_at = {PLACED_SQLITE} WHERE id = NEW.id; END""",
    """CREATE TRIGGER fulfillment_order_placed_at AFTER UPDATE OF placed_at ON fulfillment_order
        WHEN OLD.placed_at IS NOT NEW.placed_at
        BEGIN UPDATE fulfillment_orderitem SET order_placed_at = NEW.placed_at WHERE order_id = NEW.id; END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS fulfillment_order_placed_at",
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_order_placed_at_update",
    "DROP TRIGGER IF EXISTS fulfillment_orderitem_order_placed_at_insert",
]


def create(apps, schema_editor):
    for sql in {"postgresql": POSTGRES, "sqlite": SQLITE}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for sql in {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0011_order_item_search_text")]

    operations = [
        migrations.AddField(
            model_name="orderitem",
            name="order_placed_at",
            field=models.DateTimeField(
                null=True, editable=False,
                help_text="A copy of the order's placed_at (the store pages sort by it). Written only by database "
                "triggers (migration 0012), never by the app.",
            ),
        ),
        migrations.RunPython(create, drop, elidable=False),
        migrations.AddIndex(
            model_name="orderitem",
            index=models.Index(fields=["facility", "status", "order_placed_at", "order"], name="order_item_fac_placed_idx"),
        ),
    ]
