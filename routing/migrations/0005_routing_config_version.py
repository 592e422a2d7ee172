"""The routing configuration's version stamp, changed by database triggers on every change to facilities, facility
groups (and their members) and routing rules, whatever writes them (admin, commands, services, raw SQL).

The version is a random value, not a counter: a transaction that changed the configuration and rolled back restores the
old value, and a later change can never produce a value a process already holds a different configuration for.
"""

from django.db import migrations, models

TABLES = ["inventory_facility", "inventory_facilitygroup", "inventory_facilitygroup_facilities", "routing_routingrule"]

POSTGRES = [
    "INSERT INTO routing_routingconfigversion (id, version) VALUES (1, md5(random()::text))",
    """CREATE FUNCTION routing_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE routing_routingconfigversion SET version = md5(random()::text || clock_timestamp()::text) WHERE id = 1;
            RETURN NULL;
        END $$""",
    *[
        f"""CREATE TRIGGER routing_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION routing_config_changed()"""
        for table in TABLES
    ],
]
POSTGRES_DROP = [*[f"DROP TRIGGER IF EXISTS routing_config_changed ON {table}" for table in TABLES],
                 "DROP FUNCTION IF EXISTS routing_config_changed()"]

SQLITE = [
    "INSERT INTO routing_routingconfigversion (id, version) VALUES (1, lower(hex(randomblob(16))))",
    *[
        f"""CREATE TRIGGER routing_config_changed_{table}_{event.lower()} AFTER {event} ON {table} FOR EACH ROW
            BEGIN UPDATE routing_routingconfigversion SET version = lower(hex(randomblob(16))) WHERE id = 1; END"""
        for table in TABLES for event in ("INSERT", "UPDATE", "DELETE")
    ],
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS routing_config_changed_{table}_{event.lower()}"
    for table in TABLES for event in ("INSERT", "UPDATE", "DELETE")
]


def create(apps, schema_editor):
    for sql in {"postgresql": POSTGRES, "sqlite": SQLITE}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    for sql in {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0004_decision_customer_choice_and_cancelled"),  # (the inventory tables exist since routing/0001)
    ]

    operations = [
        migrations.CreateModel(
            name="RoutingConfigVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.CharField(max_length=32)),
            ],
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
