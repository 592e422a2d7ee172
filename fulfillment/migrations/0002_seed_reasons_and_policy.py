from django.db import migrations

REASONS = [
    # code, label, inventory_effect, is_system, sequence
    ("NOT_IN_STOCK", "Not in stock", "ZERO_ATP_AND_QOH", False, 10),
    ("MISMATCH", "Mismatch", "DECREASE_ATP_AND_QOH", False, 20),
    ("DAMAGED", "Damaged", "DECREASE_ATP", False, 30),
    ("WORN_DISPLAY", "Worn display", "DECREASE_ATP", False, 40),
    ("INACTIVE_STORE", "Store cannot fulfil", "NONE", False, 50),
    ("REJ_AVOID_ORD_SPLIT", "Rejected with the rest of the order (no split)", "NONE", True, 900),
    ("REJ_CASCADE_BY_PROD", "Rejected with other items of a product not in stock", "NONE", True, 910),
]


def seed(apps, schema_editor):
    RejectionReason = apps.get_model("fulfillment", "RejectionReason")
    RejectionPolicy = apps.get_model("fulfillment", "RejectionPolicy")
    for code, label, effect, is_system, sequence in REASONS:
        RejectionReason.objects.update_or_create(
            code=code,
            defaults={"label": label, "inventory_effect": effect, "is_system": is_system, "sequence": sequence},
        )
    if not RejectionPolicy.objects.filter(facility__isnull=True).exists():
        RejectionPolicy.objects.create(facility=None, allow_partial_order_rejection=True, cascade_not_in_stock=False)


def unseed(apps, schema_editor):
    apps.get_model("fulfillment", "RejectionReason").objects.filter(code__in=[r[0] for r in REASONS]).delete()
    apps.get_model("fulfillment", "RejectionPolicy").objects.filter(facility__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
