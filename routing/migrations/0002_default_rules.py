from django.db import migrations

DEFAULT_RULES = [
    dict(
        name="Same day: nearest facility within 50 km with the whole line",
        sequence=10, shipping_methods=["SAME_DAY"], max_distance_km=50, sort="PROXIMITY", is_active=True,
    ),
    dict(
        name="Nearest facility with the whole line",
        sequence=20, shipping_methods=["STANDARD", "EXPRESS", "STORE_PICKUP"], sort="PROXIMITY", is_active=True,
    ),
    dict(
        name="Split the line across the nearest facilities",
        sequence=30, shipping_methods=["STANDARD", "EXPRESS"], sort="PROXIMITY", allow_split=True, is_active=False,
    ),
]


def seed(apps, schema_editor):
    RoutingRule = apps.get_model("routing", "RoutingRule")
    if RoutingRule.objects.exists():
        return
    for rule in DEFAULT_RULES:
        RoutingRule.objects.create(**rule)


def unseed(apps, schema_editor):
    apps.get_model("routing", "RoutingRule").objects.filter(name__in=[r["name"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
